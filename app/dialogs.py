"""Dialogs: errors, starting a recording, choosing a camera, image-folder units.

Every failure the operator can act on is shown with ``show_error`` (a QMessageBox, never a
traceback); tests replace ``QMessageBox.critical`` to record instead of blocking.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from capture.subject import subject_id_ok


# --benchmark runs unattended: messages go to stderr instead of waiting for a click
NON_INTERACTIVE = False


def show_error(parent: QWidget | None, title: str, text: str) -> None:
    if NON_INTERACTIVE:
        import sys

        print(f"error: {title}: {text}", file=sys.stderr)
        return
    QMessageBox.critical(parent, title, text)


def show_info(parent: QWidget | None, title: str, text: str) -> None:
    if NON_INTERACTIVE:
        import sys

        print(f"{title}: {text}", file=sys.stderr)
        return
    QMessageBox.information(parent, title, text)


def confirm(parent: QWidget | None, title: str, text: str, yes: str = "Continue") -> bool:
    """Ask before something that cannot be undone; No is the default. Unattended
    (NON_INTERACTIVE) the answer is yes, said on stderr."""
    if NON_INTERACTIVE:
        import sys

        print(f"{title}: {text} (unattended: yes)", file=sys.stderr)
        return True
    box = QMessageBox(QMessageBox.Warning, title, text, QMessageBox.NoButton, parent)
    go = box.addButton(yes, QMessageBox.AcceptRole)
    box.setDefaultButton(box.addButton(QMessageBox.Cancel))
    box.exec()
    return box.clickedButton() is go


def error_text(exc: BaseException) -> str:
    """The message of an error the user can act on; type and message for anything else."""
    from capture.errors import CaptureError
    from core.errors import SpaderError

    if isinstance(exc, (CaptureError, SpaderError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def default_session_folder(root: str | Path, subject_id: str) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{subject_id or 'subject'}_{stamp}"


class RecordDialog(QDialog):
    """Subject id (a pseudonym), operator and the session folder of a new recording."""

    def __init__(self, parent: QWidget | None, root: str, operator: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Record a session")
        self.root = root
        lay = QVBoxLayout(self)
        note = QLabel(
            "Use a pseudonymous subject id (for example a study code such as P-0042). "
            "Never enter a name or a date of birth: the id is stored in the session file."
        )
        note.setWordWrap(True)
        note.setObjectName("dim")
        lay.addWidget(note)
        form = QFormLayout()
        self.subject = QLineEdit()
        self.subject.setPlaceholderText("P-0042")
        self.operator = QLineEdit(operator)
        self.operator.setPlaceholderText("optional")
        self.folder = QLineEdit()
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        form.addRow("Subject id", self.subject)
        form.addRow("Operator", self.operator)
        form.addRow("Session folder", row)
        lay.addLayout(form)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.button(QDialogButtonBox.Ok).setText("Start recording")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.subject.textChanged.connect(self._update)
        self._update()

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Folder for recordings", self.root)
        if d:
            self.root = d
            self._update()

    def _update(self) -> None:
        sid = self.subject.text().strip()
        ok = subject_id_ok(sid)
        self.folder.setText(str(default_session_folder(self.root, sid if ok else "subject")))
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(ok)

    def values(self) -> tuple[str, str, Path]:
        return self.subject.text().strip(), self.operator.text().strip(), Path(self.folder.text())


class KinectDialog(QDialog):
    """Which Azure Kinect (from capture.sources.kinect.list_devices) and which depth mode."""

    def __init__(self, parent: QWidget | None, devices: list, depth_mode: str = "NFOV_UNBINNED") -> None:
        from capture.sources.k4a_common import DEPTH_MODES

        super().__init__(parent)
        self.setWindowTitle("Azure Kinect")
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.device = QComboBox()
        for d in devices:
            serial = d.serial or "in use by another program"
            self.device.addItem(f"camera {d.index}  (serial {serial})", d.index)
        self.mode = QComboBox()
        for name, (w, h, fps) in DEPTH_MODES.items():
            self.mode.addItem(f"{name}  ({w}×{h}, up to {fps} fps)", name)
        i = self.mode.findData(depth_mode)
        self.mode.setCurrentIndex(max(0, i))
        form.addRow("Camera", self.device)
        form.addRow("Depth mode", self.mode)
        lay.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def values(self) -> tuple[int, str]:
        return int(self.device.currentData()), str(self.mode.currentData())


# depth sensors whose 16-bit PNGs the app reads, and millimetres per raw unit
KNOWN_SENSORS: tuple[tuple[str, float], ...] = (
    ("Azure Kinect / Orbbec Femto (1 mm)", 1.0),
    ("Kinect v1 / v2 (1 mm)", 1.0),
    ("RealSense D400 series, default (1 mm)", 1.0),
    ("RealSense SR305 / SR300 (0.125 mm)", 0.125),
    ("RealSense L515 (0.25 mm)", 0.25),
)


class ImageFolderDialog(QDialog):
    """An image folder has no header: ask for the depth unit (by sensor, or a number) and
    the frame rate; the window remembers both for the folder."""

    def __init__(self, parent: QWidget | None, folder: str, unit_mm: float = 1.0, fps: float = 30.0) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open an image folder")
        lay = QVBoxLayout(self)
        info = QLabel(f"{folder}\n16-bit depth PNGs: which sensor made them (how many millimetres is one raw unit)?")
        info.setWordWrap(True)
        lay.addWidget(info)
        form = QFormLayout()
        self.sensor = QComboBox()
        for name, unit in KNOWN_SENSORS:
            self.sensor.addItem(name, unit)
        self.sensor.addItem("Other: the unit below", None)
        self.unit = QDoubleSpinBox()
        self.unit.setDecimals(4)
        self.unit.setRange(0.0001, 100.0)
        self.unit.setValue(float(unit_mm))
        self.unit.setToolTip("Millimetres per raw unit of the PNGs")
        match = next((i for i, (_, u) in enumerate(KNOWN_SENSORS) if abs(u - unit_mm) < 1e-9), len(KNOWN_SENSORS))
        self.sensor.setCurrentIndex(match)
        self.sensor.currentIndexChanged.connect(self._sensor_chosen)
        self.unit.valueChanged.connect(self._unit_typed)
        self.fps = QDoubleSpinBox()
        self.fps.setRange(1.0, 120.0)
        self.fps.setValue(float(fps))
        form.addRow("Sensor", self.sensor)
        form.addRow("Depth unit (mm)", self.unit)
        form.addRow("Frame rate (fps)", self.fps)
        lay.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def _sensor_chosen(self, index: int) -> None:
        unit = self.sensor.itemData(index)
        if unit is not None:
            self.unit.blockSignals(True)
            self.unit.setValue(float(unit))
            self.unit.blockSignals(False)

    def _unit_typed(self, value: float) -> None:
        if self.sensor.currentData() is not None and abs(float(self.sensor.currentData()) - value) > 1e-9:
            self.sensor.blockSignals(True)
            self.sensor.setCurrentIndex(self.sensor.count() - 1)
            self.sensor.blockSignals(False)

    def values(self) -> tuple[float, float]:
        return float(self.unit.value()), float(self.fps.value())


class StartScreeningDialog(QDialog):
    """Subject pseudonym, operator, site and an optional note of a new screening."""

    def __init__(self, parent: QWidget | None, operator: str = "", site: str = "", data_dir: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Start a screening")
        lay = QVBoxLayout(self)
        note = QLabel(
            "Use a pseudonymous subject id (for example a study code such as P-0042). Never enter a "
            "name or a date of birth. The screening is saved in the data folder below, in a folder "
            "that does not carry the id. The result is a screening aid, not a diagnosis."
        )
        note.setWordWrap(True)
        note.setObjectName("dim")
        lay.addWidget(note)
        form = QFormLayout()
        self.subject = QLineEdit()
        self.subject.setPlaceholderText("P-0042")
        self.operator = QLineEdit(operator)
        self.operator.setPlaceholderText("your pseudonym (optional)")
        self.site = QLineEdit(site)
        self.site.setPlaceholderText("optional")
        self.note = QLineEdit()
        self.note.setPlaceholderText("optional")
        self.data_dir = QLabel(data_dir)
        self.data_dir.setObjectName("dim")
        self.data_dir.setWordWrap(True)
        form.addRow("Subject id", self.subject)
        form.addRow("Operator", self.operator)
        form.addRow("Site", self.site)
        form.addRow("Note", self.note)
        form.addRow("Data folder", self.data_dir)
        lay.addLayout(form)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.button(QDialogButtonBox.Ok).setText("Start screening")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.subject.textChanged.connect(self._update)
        self._update()

    def _update(self) -> None:
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(subject_id_ok(self.subject.text()))

    def values(self) -> dict[str, str]:
        return {"subject_id": self.subject.text().strip(), "operator": self.operator.text().strip(),
                "site": self.site.text().strip(), "note": self.note.text().strip()}


class ScreeningsDialog(QDialog):
    """Every screening in the data folder: subject, date, tasks, result, complete or
    interrupted; filter by subject; open one for replay or export its report."""

    def __init__(self, parent: QWidget | None, data_dir: Path) -> None:
        from PySide6.QtWidgets import QAbstractItemView, QTableWidget

        super().__init__(parent)
        self.setWindowTitle("Screenings")
        self.resize(760, 420)
        self.data_dir = Path(data_dir)
        self.chosen: Path | None = None
        self.action = ""
        lay = QVBoxLayout(self)
        where = QLabel(f"Data folder: {self.data_dir}")
        where.setObjectName("dim")
        where.setWordWrap(True)
        lay.addWidget(where)
        row = QHBoxLayout()
        row.addWidget(QLabel("Subject"))
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("all subjects")
        row.addWidget(self.filter, 1)
        lay.addLayout(row)
        self.table = QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels(["screening", "subject", "created (UTC)", "tasks", "result", "status"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        lay.addWidget(self.table, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.open_button = self.buttons.addButton("Open for replay", QDialogButtonBox.AcceptRole)
        self.report_button = self.buttons.addButton("Export report…", QDialogButtonBox.ActionRole)
        self.open_button.clicked.connect(lambda: self._choose("open"))
        self.report_button.clicked.connect(lambda: self._choose("report"))
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.filter.textChanged.connect(self.refresh)
        self.table.itemSelectionChanged.connect(self._update)
        self.refresh()

    def refresh(self) -> None:
        from PySide6.QtWidgets import QTableWidgetItem

        from core.screening.store import list_screenings

        subject = self.filter.text().strip() or None
        self.rows = list_screenings(self.data_dir, subject)
        self.table.setRowCount(len(self.rows))
        for i, s in enumerate(self.rows):
            for j, v in enumerate((s.id, s.subject_id, s.created, ", ".join(s.tasks), s.overall, s.status)):
                self.table.setItem(i, j, QTableWidgetItem(str(v)))
        self.table.resizeColumnsToContents()
        self._update()

    def _update(self) -> None:
        ok = bool(self.table.selectionModel().selectedRows())
        self.open_button.setEnabled(ok)
        self.report_button.setEnabled(ok)

    def _choose(self, action: str) -> None:
        sel = self.table.selectionModel().selectedRows()
        if not sel:
            return
        self.chosen, self.action = self.rows[sel[0].row()].path, action
        self.accept()
