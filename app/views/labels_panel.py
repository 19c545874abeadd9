"""Labelling a replayed session for threshold tuning: the strip of labelled ranges under
the seek bar, and the side panel's class picker with in / out marks.

The widgets hold no rules: ranges and judgements are core.tuning.labels' and the window
saves them beside the session (labels.json) after every change.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QWidget,
)

from app import theme

LABEL_COLORS = {"normal": theme.VERDICT_COLORS["NORMAL"], "ignore": "#5b6470"}
OTHER_COLORS = ("#e0a040", "#d06070", "#a070d0", "#50a0d0", "#c0c050", "#e07030")


def label_color(label: str) -> str:
    if label in LABEL_COLORS:
        return LABEL_COLORS[label]
    return OTHER_COLORS[sum(map(ord, label)) % len(OTHER_COLORS)]


class LabelStrip(QWidget):
    """Labelled ranges drawn along the recording (frame 0 at the left), the pending "in"
    mark and the frame on show. Each range carries its label's first letters, so the strip
    is read by text as well as colour."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setFixedHeight(18)
        self.ranges: list[tuple[int, int, str]] = []
        self.frame_count = 0
        self.mark_in: int | None = None
        self.cursor: int | None = None
        self.setToolTip("Labelled frames (Shift+I: in, Shift+O: out with the chosen class, Shift+Del: remove)")

    def set_state(self, ranges: list[tuple[int, int, str]], frame_count: int, mark_in: int | None,
                  cursor: int | None) -> None:
        state = (list(ranges), int(frame_count or 0), mark_in, cursor)
        if state != (self.ranges, self.frame_count, self.mark_in, self.cursor):
            self.ranges, self.frame_count, self.mark_in, self.cursor = state
            self.update()

    def x_of(self, index: float) -> float:
        return 0.0 if self.frame_count <= 0 else self.width() * float(index) / self.frame_count

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt's name)
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(theme.PANEL_2))
        h = self.height()
        for start, end, label in self.ranges:
            x0, x1 = self.x_of(start), self.x_of(end + 1)
            rect = QRectF(x0, 2, max(2.0, x1 - x0), h - 4)
            p.fillRect(rect, QColor(label_color(label)))
            if rect.width() > 24:
                p.setPen(QColor("#101418"))
                p.drawText(rect.adjusted(3, 0, 0, 0), Qt.AlignVCenter | Qt.AlignLeft, label[:12])
        if self.mark_in is not None:
            p.setPen(QPen(QColor(theme.ACCENT), 2))
            x = self.x_of(self.mark_in)
            p.drawLine(int(x), 0, int(x), h)
        if self.cursor is not None:
            p.setPen(QPen(QColor(theme.TEXT), 1))
            x = self.x_of(self.cursor + 0.5)
            p.drawLine(int(x), 0, int(x), h)
        p.end()


class LabelsBox(QGroupBox):
    """The class picker and the in / out buttons (shown while a session is replayed)."""

    mark_in = Signal()
    mark_out = Signal()
    remove_here = Signal()
    judge_attempts = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__("Labels (for tuning)", parent)
        g = QGridLayout(self)
        g.setContentsMargins(8, 6, 8, 6)
        self.class_combo = QComboBox()
        self.class_combo.setEditable(True)
        self.class_combo.setToolTip("The label of the next range: normal, an anomaly class (type a new one) or ignore")
        self.in_button = QPushButton("In")
        self.in_button.setToolTip("Mark the first frame of a range (Shift+I)")
        self.out_button = QPushButton("Out")
        self.out_button.setToolTip("Mark the last frame: the range gets the chosen label (Shift+O)")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove the range under the frame on show (Shift+Del)")
        self.judge_button = QPushButton("Judge attempts…")
        self.judge_button.setToolTip("A screening's attempts as the clinician judged them: imitated or not")
        for b in (self.in_button, self.out_button, self.remove_button, self.judge_button):
            b.setFocusPolicy(Qt.NoFocus)
        self.in_button.clicked.connect(self.mark_in)
        self.out_button.clicked.connect(self.mark_out)
        self.remove_button.clicked.connect(self.remove_here)
        self.judge_button.clicked.connect(self.judge_attempts)
        self.status = QLabel("")
        self.status.setObjectName("dim")
        self.status.setWordWrap(True)
        g.addWidget(QLabel("Class"), 0, 0)
        g.addWidget(self.class_combo, 0, 1, 1, 2)
        g.addWidget(self.in_button, 1, 0)
        g.addWidget(self.out_button, 1, 1)
        g.addWidget(self.remove_button, 1, 2)
        g.addWidget(self.judge_button, 2, 0, 1, 3)
        g.addWidget(self.status, 3, 0, 1, 3)

    def set_classes(self, classes: list[str]) -> None:
        current = self.class_combo.currentText()
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        for c in classes:
            self.class_combo.addItem(c)
        self.class_combo.setCurrentText(current if current else (classes[0] if classes else "normal"))
        self.class_combo.blockSignals(False)

    @property
    def chosen(self) -> str:
        return self.class_combo.currentText().strip()


class JudgeAttemptsDialog(QDialog):
    """Each attempt of a screening with the clinician's judgement (or none)."""

    CHOICES = (("", "not judged"), ("imitated", "imitated"), ("not_imitated", "not imitated"))

    def __init__(self, parent, attempts: list[tuple[str, int, str]], judged: dict[str, str]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Judge the attempts")
        form = QFormLayout(self)
        form.addRow(QLabel("As the clinician judged each attempt (the app's own outcome beside it):"))
        self.combos: dict[str, QComboBox] = {}
        for task_id, number, outcome in attempts:
            key = f"{task_id}:{number}"
            combo = QComboBox()
            for value, text in self.CHOICES:
                combo.addItem(text, value)
            combo.setCurrentIndex(max(0, combo.findData(judged.get(key, ""))))
            self.combos[key] = combo
            form.addRow(f"{task_id}, attempt {number} (app: {outcome.replace('_', ' ')})", combo)
        box = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        form.addRow(box)

    def judgements(self) -> dict[str, str | None]:
        return {k: (c.currentData() or None) for k, c in self.combos.items()}
