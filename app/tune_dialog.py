"""The operator's threshold tuning dialog: labelled data in, an operating point out.

It computes nothing itself: scoring and tuning are core.tuning's (the same functions as
`spader tune`), run on a worker thread so the window stays responsive, with a progress bar
and Cancel. It shows the ROC (frames, and attempts when there are labelled ones) with the
operating point, the score histograms per class with the threshold line (drag it to set
the threshold by hand), and the table of rates with their 95 % intervals. Apply writes a
calibration file; the window then uses it.
"""

from __future__ import annotations

import datetime as _dt
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app import theme

RULES = (("youden", "Youden's J (best sensitivity + specificity)"), ("sensitivity", "Target sensitivity (anomalies caught)"),
         ("specificity", "Target specificity (normals kept)"), ("cost", "Cost ratio (a missed anomaly costs R false alarms)"))
CLASS_PENS = ("#e0a040", "#d06070", "#a070d0", "#50a0d0", "#c0c050", "#e07030", "#70b0a0", "#b08060")


class TuneDialog(QDialog):
    def __init__(self, parent: QWidget | None, model: Any, *, operator: str = "", sessions: list[str] | None = None,
                 data_dir: str = "", out_dir: str | Path = "", device: str = "cpu", backend: str = "auto") -> None:
        super().__init__(parent)
        self.device, self.backend = device, backend
        self.setWindowTitle("Tune the threshold from labelled data")
        self.model = model
        self.out_dir = Path(out_dir) if out_dir else Path.home()
        self.data = None  # core.tuning.data.LabelledScores once scored
        self.result = None  # core.tuning.tune.TuneResult
        self.calibration_path: Path | None = None
        self._job: threading.Thread | None = None
        self._job_state: dict[str, Any] = {}
        self._pending: tuple[str, float | None] | None = None  # a tuning asked for while one runs
        self._cancel = threading.Event()
        self.resize(980, 720)

        lay = QVBoxLayout(self)
        form = QFormLayout()
        row = QHBoxLayout()
        self.data_edit = QLineEdit(data_dir)
        self.data_edit.setPlaceholderText("a class-folder data set (DIR/<class>/*.png), optional")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_data)
        row.addWidget(self.data_edit, 1)
        row.addWidget(browse)
        form.addRow("Data set", row)
        self.split_combo = QComboBox()
        for key, label in (("all", "every subject"), ("val", "the model's validation subjects"),
                           ("test", "the model's held-out test subjects")):
            self.split_combo.addItem(label, key)
        form.addRow("Subjects", self.split_combo)
        srow = QHBoxLayout()
        self.sessions_list = QListWidget()
        self.sessions_list.setMaximumHeight(60)
        for s in sessions or []:
            self.sessions_list.addItem(str(s))
        add = QPushButton("Add…")
        add.clicked.connect(self._add_session)
        rem = QPushButton("Remove")
        rem.clicked.connect(lambda: [self.sessions_list.takeItem(self.sessions_list.row(i))
                                     for i in self.sessions_list.selectedItems()])
        srow.addWidget(self.sessions_list, 1)
        col = QVBoxLayout()
        col.addWidget(add)
        col.addWidget(rem)
        srow.addLayout(col)
        form.addRow("Labelled sessions", srow)
        self.normal_edit = QLineEdit(str((getattr(model, "meta", {}) or {}).get("normal_class") or "normal"))
        self.normal_edit.setToolTip("The class (folder name or label) that is the normal pose; every other is an anomaly")
        form.addRow("Normal class", self.normal_edit)
        rrow = QHBoxLayout()
        self.rule_combo = QComboBox()
        for key, label in RULES:
            self.rule_combo.addItem(label, key)
        self.rule_value = QDoubleSpinBox()
        self.rule_value.setDecimals(3)
        self.rule_value.setRange(0.001, 1000.0)
        self.rule_value.setValue(0.95)
        self.rule_combo.currentIndexChanged.connect(self._rule_kind_changed)
        self.rule_value.valueChanged.connect(lambda _v: self._retune_soon.start())
        rrow.addWidget(self.rule_combo, 1)
        rrow.addWidget(self.rule_value)
        form.addRow("Operating point", rrow)
        lay.addLayout(form)

        run_row = QHBoxLayout()
        self.run_button = QPushButton("Score and tune")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel scoring")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self._cancel.set)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m frames")
        self.status = QLabel("")
        self.status.setObjectName("dim")
        run_row.addWidget(self.run_button)
        run_row.addWidget(self.cancel_button)
        run_row.addWidget(self.progress, 1)
        lay.addLayout(run_row)
        lay.addWidget(self.status)

        plots = QGridLayout()
        self.roc_plot = pg.PlotWidget(background=theme.PLOT_BG)
        self.roc_plot.setLabel("bottom", "false alarms (1 − specificity)")
        self.roc_plot.setLabel("left", "anomalies caught")
        self.roc_plot.setXRange(0, 1, padding=0.02)
        self.roc_plot.setYRange(0, 1, padding=0.02)
        self.roc_plot.setMouseEnabled(False, False)
        self.roc_plot.addLegend(offset=(-10, -10))
        self.roc_curve = self.roc_plot.plot([], [], pen=pg.mkPen(theme.ACCENT, width=2), name="frames")
        self.roc_attempts = self.roc_plot.plot([], [], pen=pg.mkPen(theme.SCREENED_PEN, width=2, style=Qt.DashLine),
                                               name="attempts (dashed)")
        self.roc_point = pg.ScatterPlotItem(size=12, pen=pg.mkPen("w", width=2), brush=None)
        self.roc_plot.addItem(self.roc_point)
        self.hist_plot = pg.PlotWidget(background=theme.PLOT_BG)
        self.hist_plot.setLabel("bottom", "score (smoothed for sessions)")
        self.hist_plot.setLabel("left", "share of the class's frames")
        self.hist_plot.setMouseEnabled(False, False)
        self.hist_plot.addLegend(offset=(10, 10))
        self.hist_line = pg.InfiniteLine(0.0, angle=90, movable=True, pen=pg.mkPen(theme.THRESHOLD_PEN, width=2,
                                                                                   style=Qt.DashLine),
                                         label="threshold {value:.3f} (drag)", labelOpts={"position": 0.92})
        self.hist_line.sigPositionChangeFinished.connect(lambda line: self.set_manual(float(line.value())))
        self.hist_plot.addItem(self.hist_line)
        for plot in (self.roc_plot, self.hist_plot):  # rates and scores are small numbers: never "x0.001"
            for side in ("left", "bottom"):
                plot.getPlotItem().getAxis(side).enableAutoSIPrefix(False)
        plots.addWidget(self.roc_plot, 0, 0)
        plots.addWidget(self.hist_plot, 0, 1)
        lay.addLayout(plots, 1)
        self.table = QPlainTextEdit()
        self.table.setReadOnly(True)
        f = QFont("monospace")
        f.setStyleHint(QFont.Monospace)
        self.table.setFont(f)
        self.table.setMinimumHeight(150)
        lay.addWidget(self.table)
        who_row = QHBoxLayout()
        self.who_edit = QLineEdit(operator)
        self.who_edit.setPlaceholderText("operator pseudonym")
        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText("why (kept in the calibration and the audit trail)")
        who_row.addWidget(QLabel("Who"))
        who_row.addWidget(self.who_edit)
        who_row.addWidget(QLabel("Note"))
        who_row.addWidget(self.note_edit, 1)
        lay.addLayout(who_row)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.apply_button = self.buttons.addButton("Apply: write the calibration and use it", QDialogButtonBox.AcceptRole)
        self.apply_button.setEnabled(False)
        self.apply_button.clicked.connect(self.apply)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.timer = QTimer(self)
        self.timer.setInterval(100)
        self.timer.timeout.connect(self._poll)
        # a rule's number typed or stepped: tune once it rests (the bootstrap takes a moment)
        self._retune_soon = QTimer(self)
        self._retune_soon.setSingleShot(True)
        self._retune_soon.setInterval(300)
        self._retune_soon.timeout.connect(self._retune)
        self._rule_kind_changed()

    # -- inputs -------------------------------------------------------------------------------------
    def _browse_data(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "A class-folder data set", self.data_edit.text() or str(Path.home()))
        if d:
            self.data_edit.setText(d)

    def _add_session(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "A labelled session or screening folder", str(Path.home()))
        if d:
            self.sessions_list.addItem(d)

    def _rule_kind_changed(self) -> None:
        kind = self.rule_combo.currentData()
        self.rule_value.setEnabled(kind != "youden")
        self.rule_value.blockSignals(True)
        if kind in ("sensitivity", "specificity"):
            self.rule_value.setRange(0.01, 1.0)
            self.rule_value.setSingleStep(0.01)
            self.rule_value.setValue(0.95 if kind == "sensitivity" else 0.90)
        elif kind == "cost":
            self.rule_value.setRange(0.01, 1000.0)
            self.rule_value.setSingleStep(0.5)
            self.rule_value.setValue(5.0)
        self.rule_value.blockSignals(False)
        self._retune()

    def rule_text(self) -> str:
        kind = self.rule_combo.currentData()
        return kind if kind == "youden" else f"{kind}={self.rule_value.value():g}"

    def set_rule(self, text: str) -> None:
        from core.tuning.operating import parse_rule

        r = parse_rule(text)
        if r.kind == "manual":
            self.set_manual(float(r.value))
            return
        self.rule_combo.blockSignals(True)
        self.rule_combo.setCurrentIndex(self.rule_combo.findData(r.kind))
        self.rule_combo.blockSignals(False)
        self._rule_kind_changed()
        if r.value is not None:
            self.rule_value.blockSignals(True)
            self.rule_value.setValue(float(r.value))
            self.rule_value.blockSignals(False)
        self._retune()

    def sessions(self) -> list[str]:
        return [self.sessions_list.item(i).text() for i in range(self.sessions_list.count())]

    # -- running --------------------------------------------------------------------------------------
    def start(self) -> None:
        """Score the labelled data on a worker thread, then tune with the chosen rule."""
        if self._job is not None and self._job.is_alive():
            return
        from core.cli.tune_cmd import subjects_for_split

        folders = [self.data_edit.text().strip()] if self.data_edit.text().strip() else []
        try:
            subjects = subjects_for_split(self.model, self.split_combo.currentData()) if folders else None
        except Exception as exc:
            self._say(f"Cannot tune: {exc}", error=True)
            return
        kw = dict(normal=self.normal_edit.text().strip(), folders=folders, sessions=self.sessions(), subjects=subjects,
                  device=self.device, backend=self.backend)
        self.data = None
        self.apply_button.setEnabled(False)
        self._say("Scoring the labelled frames…")
        self._launch(kw, self.rule_text())

    def _launch(self, kw: dict[str, Any] | None, rule_text: str, threshold: float | None = None) -> None:
        """Score (``kw``) and/or tune on a worker thread; ``threshold``: rates at a
        threshold set by hand instead of a rule."""
        self._cancel.clear()
        self._job_state = {"done": 0, "total": 0, "rule": rule_text, "threshold": threshold, "scoring": kw is not None}
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(kw is not None)
        self._job = threading.Thread(target=self._run_job, args=(kw, rule_text, threshold, self.data), daemon=True,
                                     name="tune")
        self._job.start()
        self.timer.start()

    def _run_job(self, kw: dict[str, Any] | None, rule_text: str, threshold: float | None, data: Any) -> None:
        from core.tuning.data import score_labelled
        from core.tuning.operating import Rule, parse_rule
        from core.tuning.tune import evaluate_threshold, tune

        st = self._job_state

        def progress(done: int, total: int, what: str) -> None:
            st["done"], st["total"] = done, total

        try:
            if kw is not None:
                data = score_labelled(self.model, progress=progress, cancel=self._cancel.is_set, **kw)
            st["data"] = data
            if threshold is not None:
                st["result"] = evaluate_threshold(data, threshold, Rule("manual", threshold))
            else:
                st["result"] = tune(data, parse_rule(rule_text))
        except Exception as exc:  # a message for the operator, never a traceback
            from app.dialogs import error_text

            st["error"] = error_text(exc)

    def _busy(self) -> bool:
        return self._job is not None and self._job.is_alive()

    def _poll(self) -> None:
        st = self._job_state
        if st.get("scoring"):
            self.progress.setMaximum(max(1, int(st.get("total") or 0)))
            self.progress.setValue(int(st.get("done") or 0))
        if self._busy():
            return
        self.timer.stop()
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if "error" in st:
            self._say("Cancelled." if st["error"] == "cancelled" else f"Cannot tune: {st['error']}", error=True)
            return
        if st.get("data") is not None:
            self.data = st["data"]
        self._show(st.get("result"))
        if self._pending is not None:  # the rule or the hand-set threshold changed meanwhile
            pending, self._pending = self._pending, None
            self._launch(None, *pending)

    def wait(self, timeout: float = 120.0) -> bool:
        """For tests and scripts: block until every job asked for has finished and is shown."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            if self._job is not None:
                self._job.join(max(0.0, deadline - time.monotonic()))
            self._poll()
            if not self._busy() or time.monotonic() >= deadline:
                break
        return self.result is not None and "error" not in self._job_state

    def _retune(self) -> None:
        """A new rule on the data already scored (no re-scoring), on the worker."""
        self._request(self.rule_text(), None)

    def set_manual(self, threshold: float) -> None:
        """The threshold dragged by hand on the histogram: its rates, with intervals."""
        self._request("manual", float(threshold))

    def _request(self, rule_text: str, threshold: float | None) -> None:
        if self.data is None and not (self._busy() and self._job_state.get("scoring")):
            return
        if self._busy():  # after the running job: only the newest request counts
            self._pending = (rule_text, threshold)
            return
        self._launch(None, rule_text, threshold)

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {theme.VERDICT_COLORS['ANOMALY']};" if error else "")

    # -- results --------------------------------------------------------------------------------------
    def _show(self, res: Any) -> None:
        from core.tuning.tune import format_result

        if res is None:
            return
        self.result = res
        self.table.setPlainText(format_result(res))
        r = res.frames["roc"]
        self.roc_curve.setData(r["false_alarm"], r["sensitivity"])
        a = res.attempts
        if a and a.get("roc"):
            self.roc_attempts.setData(a["roc"]["false_alarm"], a["roc"]["sensitivity"])
        else:
            self.roc_attempts.setData([], [])
        fr = res.frames["rates"]
        self.roc_point.setData([1 - fr["specificity"]], [fr["sensitivity"]])
        self._draw_histograms(res)
        self.hist_line.setValue(res.threshold)  # only a drag by hand ends in set_manual
        self.apply_button.setEnabled(True)
        self._say(f"Threshold {res.threshold:+.4f} by {res.rule.describe()}; AUROC {res.frames['auroc']:.3f} on "
                  f"{res.frames['normal'] + res.frames['anomalous']} frames of {res.frames['subjects']} subjects.")

    def _draw_histograms(self, res: Any) -> None:
        pi = self.hist_plot.getPlotItem()
        for item in getattr(self, "_hist_items", []):
            pi.removeItem(item)
        legend = pi.legend
        if legend is not None:
            legend.clear()
        self._hist_items = []
        d = res.data
        s, cls = d.scores, d.classes.astype(str)
        edges = np.linspace(float(s.min()), float(s.max()) + 1e-9, 41)
        names = [d.normal] + sorted(set(cls) - {d.normal})
        for i, name in enumerate(names):
            v = s[cls == name]
            if v.size == 0:
                continue
            h, _ = np.histogram(v, edges)
            normal = name == d.normal
            pen = pg.mkPen(theme.VERDICT_COLORS["NORMAL"] if normal else CLASS_PENS[i % len(CLASS_PENS)],
                           width=3 if normal else 1.5, style=Qt.SolidLine if normal else Qt.DashLine)
            item = pg.PlotDataItem(edges, h / v.size, stepMode="center", pen=pen,
                                   name=f"{name} (normal)" if normal else name)
            pi.addItem(item)
            self._hist_items.append(item)

    # -- applying -------------------------------------------------------------------------------------
    def default_path(self) -> Path:
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(getattr(self.model, "name", "model")))
        return self.out_dir / f"{safe}-{_dt.datetime.now():%Y%m%d-%H%M%S}.calibration.json"

    def apply(self, path: str | Path | None = None) -> Path | None:
        """Write the calibration (to ``path``, else beside the other calibrations) and close."""
        from core.tuning.calibration import build_calibration, write_calibration

        if self.result is None:
            return None
        try:
            calib = build_calibration(self.model, self.result, who=self.who_edit.text(), note=self.note_edit.text())
            self.calibration_path = write_calibration(Path(path) if path else self.default_path(), calib)
        except Exception as exc:
            from app.dialogs import error_text

            self._say(f"Cannot write the calibration: {error_text(exc)}", error=True)
            return None
        self.accept()
        return self.calibration_path

    def reject(self) -> None:
        self._cancel.set()
        super().reject()
