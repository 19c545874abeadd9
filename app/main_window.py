"""The screening window.

Layout: a banner for problems on top; the depth image with its overlay and the playback
bar on the left; the verdict, the model's input and reconstruction, and the overlay
settings on the right; the score plot along the bottom; a status bar with the speeds.

One QTimer at the display rate drives everything: each tick pulls the newest frame and
result from the controller, draws what is new, and adds the new score points to the plot.
The window never computes a score and never waits on a worker.
"""

from __future__ import annotations

import math
import time
from collections import deque
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QFrame,
    QLabel,
    QMainWindow,
    QScrollArea,
    QSlider,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import dialogs, theme
from app.controller import Controller
from app.settings import AppSettings
from app.views.depth_view import OVERLAYS, CropView, DepthView
from app.views.score_plot import ScorePlot
from app.views.labels_panel import JudgeAttemptsDialog, LabelsBox, LabelStrip
from app.views.screening_panel import ScreeningPanel
from app.views.verdict_panel import Banner, TransportBar, VerdictPanel
from capture.rate import RateMeter
from capture.sources.images import folder_unit_mm
from capture.sources.spec import source_kind
from core.runtime.worker import LIVE, REPLAY

DISCLAIMER = "Research software, not a medical device: the verdict is no diagnosis."


def safe_list_cameras() -> list:
    """Connected Azure Kinect cameras; [] when none, or when the camera library is missing."""
    try:
        from capture.sources.kinect import list_devices

        return list(list_devices())
    except Exception:
        return []


class MainWindow(QMainWindow):
    def __init__(
        self,
        controller: Controller,
        settings: AppSettings,
        *,
        list_cameras: Callable[[], list] = safe_list_cameras,
        demo_path: str | Path | None = None,
        display_rate_hz: float | None = None,
        model_note: str | None = None,
    ) -> None:
        super().__init__()
        self.controller = controller
        self.settings = settings
        self.list_cameras = list_cameras
        self._backend_note_shown = ""
        self._countdown_end: float | None = None  # monotonic time the 3-2-1 ends
        self._demo_script: dict | None = None  # the scripted operator of the demo screening
        self._last_screening: Path | None = None  # folder of the last screening, for its report
        self._rescore_told = False  # the end of a re-score was said
        self._live_spans: list = []  # the attempt windows drawn for the running screening
        self.labels = None  # core.tuning.labels.SessionLabels of the session on show
        self._label_in: int | None = None  # the pending "in" mark
        self._labels_readonly = False
        self._units_checked = True  # True once a frame of this source said the unit may be wrong (_check_depth_units)
        if demo_path is None:
            from core.assets import DEMO_SESSION

            demo_path = DEMO_SESSION
        self.demo_path = Path(demo_path)
        self.setWindowTitle("SPADER — Fox-Pigeon Imitation Test screening")
        self.setMinimumSize(900, 600)
        self._build()
        self._build_actions()
        self._restore_settings()
        self._connect()
        controller.threshold_resolver = self._resolve_for_controller

        self.display_rate = RateMeter()
        self.display_fps = 0.0
        self.display_latencies_ms: deque[float] = deque(maxlen=5000)
        self._last_result_wall = 0.0
        self._capture_error_at = 0.0
        self._camera_lost = False  # while True the verdict panel says NO SIGNAL, never a stale verdict
        self._scoring_error_at = 0.0
        self._last_verdict_key: tuple | None = None
        rate = display_rate_hz or float(settings.get("display/rate_hz"))
        self._plot_interval_s = 1.0 / max(1.0, float(settings.get("plot/rate_hz")))
        self._plot_drawn_at = 0.0
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.PreciseTimer)
        self.timer.setInterval(max(5, int(round(1000.0 / max(1.0, rate)))))
        self.timer.timeout.connect(self._tick)
        self.stats_timer = QTimer(self)
        self.stats_timer.setInterval(500)
        self.stats_timer.timeout.connect(self._update_status)
        self.timer.start()
        self.stats_timer.start()
        if controller.model is None or controller.scoring_error:
            self._no_scoring(model_note or controller.scoring_error or "no model is loaded")
        self._update_model_labels()

    # -- building ----------------------------------------------------------------------------------
    def _build(self) -> None:
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(8, 6, 8, 4)
        outer.setSpacing(6)
        self.banner = Banner()
        outer.addWidget(self.banner)

        # left: depth image and playback bar
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.setSpacing(4)
        self.depth_view = DepthView()
        ll.addWidget(self.depth_view, 1)
        self.transport = TransportBar()
        ll.addWidget(self.transport)
        self.label_strip = LabelStrip()
        self.label_strip.hide()  # shown while a session is replayed
        ll.addWidget(self.label_strip)

        # right: verdict, crop views, display settings
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.setSpacing(8)
        self.screening_panel = ScreeningPanel()
        self.screening_panel.hide()  # shown while a screening runs
        rl.addWidget(self.screening_panel)
        self.verdict_panel = VerdictPanel()
        rl.addWidget(self.verdict_panel)
        self.crop_view = CropView()
        rl.addWidget(self.crop_view, 1)
        rl.addWidget(self._build_overlay_box())
        self.labels_box = LabelsBox()
        self.labels_box.hide()
        rl.addWidget(self.labels_box)
        self.source_label = QLabel("no source")
        self.source_label.setTextFormat(Qt.PlainText)
        self.source_label.setObjectName("dim")
        self.source_label.setWordWrap(True)
        rl.addWidget(self.source_label)
        disclaimer = QLabel(DISCLAIMER)
        disclaimer.setObjectName("caption")
        disclaimer.setWordWrap(True)
        rl.addWidget(disclaimer)
        # the side column scrolls when the window is too short for it, instead of its panels
        # being drawn over each other (a screening adds its panel on top)
        side = QScrollArea()
        side.setWidget(right)
        side.setWidgetResizable(True)
        side.setFrameShape(QFrame.NoFrame)
        side.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        side.setMinimumWidth(270)
        side.setMaximumWidth(430)
        self.side_scroll = side

        self.top_split = QSplitter(Qt.Horizontal)
        self.top_split.addWidget(left)
        self.top_split.addWidget(side)
        self.top_split.setStretchFactor(0, 3)
        self.top_split.setStretchFactor(1, 1)
        self.top_split.setChildrenCollapsible(False)

        self.score_plot = ScorePlot(window_s=float(self.settings.get("plot/window_s")))
        self.main_split = QSplitter(Qt.Vertical)
        self.main_split.addWidget(self.top_split)
        self.main_split.addWidget(self.score_plot)
        self.main_split.setStretchFactor(0, 3)
        self.main_split.setStretchFactor(1, 1)
        self.main_split.setChildrenCollapsible(False)
        self.main_split.setSizes([520, 200])
        outer.addWidget(self.main_split, 1)
        self.setCentralWidget(central)

        sb = self.statusBar()
        sb.setSizeGripEnabled(True)
        self.status_labels: dict[str, QLabel] = {}
        for key, tip in (
            ("capture", "frames per second from the source"),
            ("scoring", "frames per second scored by the worker"),
            ("display", "frames per second drawn by this window"),
            ("dropped", "frames never scored (live mode keeps only the newest)"),
            ("latency", "capture → score published, last frame"),
            ("device", "where the networks run"),
            ("model", "model and verdict threshold"),
            ("rec", "recording"),
        ):
            lab = QLabel("")
            lab.setToolTip(tip)
            lab.setTextFormat(Qt.PlainText)  # a model or file name is never rendered as HTML
            self.status_labels[key] = lab
            sb.addPermanentWidget(lab)

    def _build_overlay_box(self) -> QGroupBox:
        box = QGroupBox("Display")
        g = QGridLayout(box)
        g.setContentsMargins(8, 6, 8, 6)
        g.setHorizontalSpacing(8)
        self.overlay_combo = QComboBox()
        for key, label in OVERLAYS.items():
            self.overlay_combo.addItem(label, key)
        self.overlay_combo.setToolTip("Map drawn over the hand crop (O cycles)")
        self.opacity_slider = QSlider(Qt.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setToolTip("Overlay opacity")
        self.box_check = QCheckBox("crop box")
        self.box_check.setToolTip("Outline the hand crop the model scores (B)")
        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setDecimals(3)
        self.threshold_spin.setRange(-1e6, 1e6)
        self.threshold_spin.setSingleStep(0.05)
        self.threshold_spin.setKeyboardTracking(False)
        self.threshold_spin.setToolTip("Verdict threshold on the smoothed score (or drag the line in the plot)")
        g.addWidget(QLabel("Overlay"), 0, 0)
        g.addWidget(self.overlay_combo, 0, 1)
        g.addWidget(QLabel("Opacity"), 1, 0)
        g.addWidget(self.opacity_slider, 1, 1)
        g.addWidget(self.box_check, 2, 1)
        g.addWidget(QLabel("Threshold"), 3, 0)
        g.addWidget(self.threshold_spin, 3, 1)
        return box

    def _action(self, text: str, slot, shortcut: str | QKeySequence | None = None, *, checkable=False, tip="") -> QAction:
        a = QAction(text, self)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
            a.setShortcutContext(Qt.WindowShortcut)
        a.setCheckable(checkable)
        if tip:
            a.setToolTip(tip)
            a.setStatusTip(tip)
        a.triggered.connect(slot)
        self.addAction(a)  # shortcuts work even when the menu bar is hidden
        return a

    def _build_actions(self) -> None:
        mb = self.menuBar()
        m_file = mb.addMenu("&File")
        self.act_open_model = self._action("Open &model…", self.open_model_dialog, "Ctrl+M")
        self.act_open_file = self._action("Open recording &file (MKV)…", self.open_recording_file, "Ctrl+O")
        self.act_open_folder = self._action("Open recording f&older (session or images)…", self.open_recording_folder, "Ctrl+Shift+O")
        self.act_quit = self._action("&Quit", self.close, QKeySequence.Quit)
        for a in (self.act_open_model, None, self.act_open_file, self.act_open_folder, None, self.act_quit):
            m_file.addSeparator() if a is None else m_file.addAction(a)

        m_src = mb.addMenu("&Source")
        self.act_camera = self._action("&Azure Kinect…", self.open_camera_dialog, "Ctrl+K")
        self.act_demo = self._action("&Demo session", self.open_demo, "Ctrl+D")
        self.act_synth = self._action("&Synthetic stream (moving shapes, scored ANOMALY)", self.open_synthetic,
                                      tip="A developer's test stream of moving shapes, not a person")
        for a in (self.act_camera, self.act_demo):
            m_src.addAction(a)
        m_dev = m_src.addMenu("&Developer")
        m_dev.addAction(self.act_synth)

        m_play = mb.addMenu("&Playback")
        self.act_play = self._action("Play / pause (during a screening: start the attempt)", self._space, Qt.Key_Space)
        self.act_next = self._action("Next frame", lambda: self.controller.step(1), Qt.Key_Right)
        self.act_prev = self._action("Previous frame", lambda: self.controller.step(-1), Qt.Key_Left)
        self.act_fwd = self._action("Forward 1 s", lambda: self._seek_seconds(1.0), "Shift+Right")
        self.act_back = self._action("Back 1 s", lambda: self._seek_seconds(-1.0), "Shift+Left")
        self.act_faster = self._action("Faster", lambda: self.transport.nudge_speed(1), "]")
        self.act_slower = self._action("Slower", lambda: self.transport.nudge_speed(-1), "[")
        self.act_label_in = self._action("Label: mark &in", self.label_mark_in, "Shift+I")
        self.act_label_out = self._action("Label: mark &out (the range gets the chosen class)", self.label_mark_out,
                                          "Shift+O")
        self.act_label_remove = self._action("Label: remove the range here", self.label_remove_here, "Shift+Del")
        self.act_record = self._action("&Record", self.toggle_record, "R", checkable=True,
                                       tip="Record the stream into a session (R)")
        for a in (self.act_play, self.act_prev, self.act_next, self.act_back, self.act_fwd, self.act_slower, self.act_faster,
                  None, self.act_label_in, self.act_label_out, self.act_label_remove, None, self.act_record):
            m_play.addSeparator() if a is None else m_play.addAction(a)

        m_view = mb.addMenu("&View")
        self.overlay_group = QActionGroup(self)
        self.overlay_actions: dict[str, QAction] = {}
        for i, (key, label) in enumerate(OVERLAYS.items()):
            a = self._action(label, lambda checked=False, k=key: self.set_overlay(k), f"{i}" if i else "0", checkable=True)
            self.overlay_group.addAction(a)
            m_view.addAction(a)
            self.overlay_actions[key] = a
        self.act_cycle = self._action("Next overlay", self.cycle_overlay, "O")
        self.act_box = self._action("Crop box", lambda c: self.box_check.setChecked(c), "B", checkable=True)
        self.act_full = self._action("Full screen", self._toggle_full_screen, "F11")
        for a in (None, self.act_cycle, self.act_box, self.act_full):
            m_view.addSeparator() if a is None else m_view.addAction(a)

        m_score = mb.addMenu("S&coring")
        self.device_group = QActionGroup(self)
        from core.device import cuda_available

        for dev, label in (("auto", "Device: automatic"), ("cpu", "Device: CPU"), ("cuda", "Device: CUDA GPU")):
            a = self._action(label, lambda checked=False, d=dev: self.set_device(d), checkable=True)
            if dev == "cuda" and not cuda_available():
                a.setEnabled(False)
                a.setText(label + " (none found)")
            self.device_group.addAction(a)
            m_score.addAction(a)
            if dev == self.controller.device_pref:
                a.setChecked(True)
        m_score.addSeparator()
        self.act_reset_threshold = self._action("Reset threshold to the model's", self.reset_threshold)
        m_score.addAction(self.act_reset_threshold)

        m_scr = mb.addMenu("Scree&ning")
        self.act_screen_start = self._action("&Start screening…", self.start_screening_dialog, "Ctrl+Shift+S",
                                             tip="Run the screening protocol on the running source")
        self.act_screen_next = self._action("&Next task / finish", self.screening_next, "N")
        self.act_screen_invalid = self._action("Mark the attempt &invalid…", self.screening_invalid, "I")
        self.act_screen_end = self._action("&End screening", self.end_screening, "Ctrl+Shift+E")
        self.act_screen_report = self._action("&Report of the last screening…", self.export_report)
        self.act_screen_list = self._action("Screenings…", self.show_screenings, "Ctrl+Shift+L",
                                            tip="Every screening in the data folder: open one for replay, export its report")
        self.act_screen_rescore = self._action(
            "Re-score the replayed screening with the current model", self.rescore_screening,
            tip="Score its frames again with the model now open; the recorded scores and verdicts stay beside them")
        self.act_screen_demo = self._action("&Demo screening (scripted)", self.demo_screening,
                                            tip="The demo recording screened by a scripted operator: the first "
                                            "attempt is not imitated, the second is")
        for a in (self.act_screen_start, self.act_screen_next, self.act_screen_invalid, self.act_screen_end, None,
                  self.act_screen_report, self.act_screen_list, self.act_screen_rescore, None, self.act_screen_demo):
            m_scr.addSeparator() if a is None else m_scr.addAction(a)
        m_scr.addSeparator()
        self.act_tune = self._action("&Tune the threshold from labelled data…", self.tune_dialog, "Ctrl+T",
                                     tip="ROC, operating point by rule and a calibration file, from labelled data")
        self.act_apply_calib = self._action("Apply a calibration file…", self.apply_calibration_dialog)
        m_scr.addAction(self.act_tune)
        m_scr.addAction(self.act_apply_calib)
        m_scr.addAction(self.act_reset_threshold)
        self._screening_actions_update()

        m_help = mb.addMenu("&Help")
        self.act_keys = self._action("Keyboard shortcuts", self.show_shortcuts, "F1")
        self.act_about = self._action("About", self.show_about)
        m_help.addAction(self.act_keys)
        m_help.addAction(self.act_about)

        tb = self.addToolBar("Main")
        tb.setObjectName("main-toolbar")
        tb.setMovable(False)
        tb.setIconSize(QSize(16, 16))
        tb.setToolButtonStyle(Qt.ToolButtonTextOnly)
        for a in (self.act_camera, self.act_open_file, self.act_open_folder, self.act_demo):
            tb.addAction(a)
        self.act_open_file.setIconText("Open MKV")
        self.act_open_folder.setIconText("Open folder")
        self.act_camera.setIconText("Camera")
        self.act_demo.setIconText("Demo")
        tb.addSeparator()
        tb.addAction(self.act_record)
        rec_button = tb.widgetForAction(self.act_record)
        if isinstance(rec_button, QToolButton):
            rec_button.setObjectName("record")
        self.rec_indicator = QLabel("")
        tb.addWidget(self.rec_indicator)
        for w in tb.findChildren(QToolButton):
            w.setFocusPolicy(Qt.NoFocus)
        for w in (self.transport.play_button, self.transport.back_button, self.transport.fwd_button, self.box_check):
            w.setFocusPolicy(Qt.NoFocus)

    def _connect(self) -> None:
        c = self.controller
        c.event.connect(self._on_event)
        c.source_started.connect(self._on_source_started)
        c.source_failed.connect(self._on_source_failed)
        c.recording_changed.connect(self._on_recording_changed)
        c.scoring_unavailable.connect(self._no_scoring)
        c.model_changed.connect(lambda _name: self._update_model_labels())
        c.screening_changed.connect(self._screening_actions_update)
        c.playing_changed.connect(self.transport.set_playing)
        self.transport.play_toggled.connect(c.toggle_play)
        self.transport.step.connect(c.step)
        self.transport.seek.connect(c.seek)
        self.transport.speed_changed.connect(self._on_speed)
        self.transport.loop_changed.connect(lambda on: self.settings.set("playback/loop", bool(on)))
        self.overlay_combo.currentIndexChanged.connect(lambda i: self.set_overlay(self.overlay_combo.itemData(i)))
        self.opacity_slider.valueChanged.connect(self._on_opacity)
        self.box_check.toggled.connect(self._on_box)
        self.threshold_spin.valueChanged.connect(self._on_threshold_spin)
        self.labels_box.mark_in.connect(self.label_mark_in)
        self.labels_box.mark_out.connect(self.label_mark_out)
        self.labels_box.remove_here.connect(self.label_remove_here)
        self.labels_box.judge_attempts.connect(self.judge_attempts)
        self.threshold_spin.installEventFilter(self)
        c.recording_changed.connect(lambda *_: self._update_title())
        c.screening_changed.connect(lambda *_: self._update_title())
        self.score_plot.threshold_dragged.connect(self.threshold_spin.setValue)

    def _restore_settings(self) -> None:
        s = self.settings
        geo, state = s.geometry()
        if geo is not None:
            self.restoreGeometry(geo)
        else:
            self.resize(1280, 820)
        if state is not None:
            self.restoreState(state)
        self.depth_view.set_depth_range(float(s.get("display/near_mm")), float(s.get("display/far_mm")))
        name = str(s.get("overlay/name"))
        self.set_overlay(name if name in OVERLAYS else "cam")
        self.opacity_slider.setValue(int(round(100 * float(s.get("overlay/opacity")))))
        self.depth_view.set_opacity(self.opacity_slider.value() / 100)
        box = bool(s.get("overlay/box"))
        self.box_check.setChecked(box)
        self.act_box.setChecked(box)
        self.depth_view.set_show_box(box)
        self.transport.set_speed(float(s.get("playback/speed")))
        self.transport.loop_box.setChecked(bool(s.get("playback/loop")))
        if not bool(s.get("operator/remember")):
            s.set("recording/operator", "")  # who worked before is not offered to whoever comes next
        self._sync_threshold_from_model()

    def save_settings(self) -> None:
        s = self.settings
        s.set_geometry(self.saveGeometry(), self.saveState())
        s.set("overlay/name", self.depth_view.overlay_name)
        s.set("overlay/opacity", self.depth_view.overlay_opacity)
        s.set("overlay/box", self.depth_view.show_box)
        s.set("playback/speed", float(self.transport.speed_box.currentData()))
        s.set("playback/loop", self.transport.loop_box.isChecked())
        s.set("scoring/device", self.controller.device_pref)
        s.sync()

    # -- sources -----------------------------------------------------------------------------------
    def start(self, spec: str | None = None) -> None:
        """The first source: ``spec`` when given; else the first camera found; else the
        demo session; else a synthetic stream. Never waits for hardware that is absent."""
        if spec:
            if spec == "demo":
                self.open_demo()
                return
            kind = source_kind(spec)
            if kind == "synthetic":
                self.open_synthetic()
                return
            ok = self.open_spec(spec) if kind == "camera" else self.open_recording(spec)
            if ok:
                return
            self.banner.show_message("source", f"Could not open {spec}; playing the demo session instead.", "warning")
            self.open_demo()
            return
        cams = self.list_cameras()
        if cams:
            n = len(cams)
            self.statusBar().showMessage(f"{n} Azure Kinect camera{'s' if n > 1 else ''} found; using camera {cams[0].index}", 8000)
            mode = str(self.settings.get("source/kinect_depth_mode"))
            if self.open_spec(f"kinect:{cams[0].index}", label=f"Azure Kinect {cams[0].index}", depth_mode=mode):
                return
        self.open_demo(note="No camera found: playing the demo session." if not cams else None)

    def open_spec(self, spec: str, *, label: str | None = None, kind: str | None = None, **kw: Any) -> bool:
        """Open a source; a bad one gets an error dialog and False (the window stays as it was)."""
        if not self._may_leave_screening():
            return False
        loop = kw.pop("loop", self.transport.loop_box.isChecked())
        speed = kw.pop("speed", float(self.transport.speed_box.currentData()))
        try:
            self.controller.open(spec, label=label, kind=kind, loop=loop, speed=speed, **kw)
        except Exception as exc:
            dialogs.show_error(self, "Cannot open the source", f"{spec}\n\n{dialogs.error_text(exc)}")
            return False
        self._on_new_source()
        if self.controller.desc is not None and self.controller.desc.kind == "file":
            self.settings.set("source/last", str(spec))
        return True

    def _may_leave_screening(self) -> bool:
        """Another source ends a running screening (as interrupted): ask first."""
        sc = self.controller.screening
        if sc is None or sc.closed:
            return True
        return dialogs.confirm(
            self, "A screening is running",
            f"Opening another source ends screening {sc.folder.path.name} now. It is kept as interrupted, with "
            "everything recorded so far; its running attempt, if any, is marked interrupted.\n\n"
            "To finish it properly instead, press Cancel, then N or Ctrl+Shift+E.", yes="End it and open")

    def open_source_object(self, source, *, label: str, kind: str = "custom", mode: str | None = None) -> None:
        """Open a FrameSource object (tests, plug-ins)."""
        self.controller.open(source, label=label, kind=kind, mode=mode)
        self._on_new_source()

    def _on_new_source(self) -> None:
        c = self.controller
        self.banner.clear_message("rescore")
        self.banner.clear_message("units")
        self._units_checked = False
        self._rescore_told = False
        self.score_plot.reset()
        self.depth_view.clear()
        self.depth_view.set_placeholder("Opening the source…")
        self.crop_view.set_result(None)
        self._camera_lost = False
        self.verdict_panel.set_state("PENDING" if c.scorer is not None else "NO MODEL", None, None, c.threshold)
        for key in ("source", "capture", "camera", "end", "timestamps"):
            self.banner.clear_message(key)
        self.transport.set_seekable(False)
        self.transport.set_position(None, None)
        self.source_label.setText(f"Source: {c.desc.label if c.desc else '–'}")
        self._update_transport_enabled()

    def open_demo(self, checked: bool = False, note: str | None = None) -> None:
        if (self.demo_path / "session.json").is_file():
            if self.open_spec(str(self.demo_path), label="Demo session", kind="demo"):  # loops when "loop" is ticked
                if note:
                    self.banner.show_message("source", note, "info")
                return
        msg = f"The bundled demo session is missing ({self.demo_path}); showing a synthetic stream instead."
        if note:
            msg = note.replace("playing the demo session", "showing a synthetic stream") + " " + msg
        self.open_synthetic()
        self.banner.show_message("source", msg, "info")

    def open_synthetic(self, checked: bool = False) -> None:
        self.open_spec("synthetic", label="Synthetic stream (moving shapes)", kind="synthetic")

    def open_camera_dialog(self, checked: bool = False) -> None:
        cams = self.list_cameras()
        if not cams:
            from capture.sources.kinect import no_device_message

            dialogs.show_info(self, "Azure Kinect", no_device_message())
            return
        dlg = dialogs.KinectDialog(self, cams, str(self.settings.get("source/kinect_depth_mode")))
        if dlg.exec():
            index, mode = dlg.values()
            self.settings.set("source/kinect_depth_mode", mode)
            self.open_spec(f"kinect:{index}", label=f"Azure Kinect {index} ({mode})", depth_mode=mode)

    def _start_dir(self) -> str:
        last = str(self.settings.get("source/last") or "")
        return str(Path(last).parent) if last else str(Path.home())

    def open_recording_file(self, checked: bool = False) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open an Azure Kinect recording", self._start_dir(), "Matroska (*.mkv);;All files (*)")
        if path:
            self.open_recording(path)

    def open_recording_folder(self, checked: bool = False) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a session or an image folder", self._start_dir())
        if path:
            self.open_recording(path)

    def open_recording(self, path: str | Path, unit_mm: float | None = None, fps: float | None = None) -> bool:
        """A session folder, an image folder (asks for its unit) or an MKV file."""
        p = Path(path)
        if not p.exists():
            dialogs.show_error(self, "Cannot open the recording", f"{p}\n\nThere is no such file or folder.")
            return False
        if p.is_dir() and not (p / "session.json").is_file() and unit_mm is None:
            unit_mm = folder_unit_mm(p)  # a data set's class folder says its unit: no need to ask
            if unit_mm is None and dialogs.NON_INTERACTIVE:  # a benchmark run has nobody to answer
                dialogs.show_error(self, "Cannot open the image folder",
                                   f"{p}\n\nIts depth unit is unknown: add a dataset.json with unit_mm "
                                   "(see docs/dataset-format.md) or open it from the File menu.")
                return False
            if unit_mm is None:  # still unknown: ask, offering what was chosen for this folder before
                last = self.settings.folder_units(p)
                dlg = dialogs.ImageFolderDialog(self, str(p), *(last or (1.0, 30.0)))
                if not dlg.exec():
                    return False
                unit_mm, fps = dlg.values()
                self.settings.set_folder_units(p, unit_mm, fps)
        kw: dict[str, Any] = {}
        if unit_mm is not None:
            kw["unit_mm"] = unit_mm
        if fps is not None:
            kw["fps"] = fps
        return self.open_spec(str(p), label=p.name, kind="file", **kw)

    # -- model --------------------------------------------------------------------------------------
    def open_model_dialog(self, checked: bool = False) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a SPADER model", str(Path.home()), "SPADER model (*.safetensors)")
        if path:
            self.load_model(path)

    def load_model(self, path: str | Path) -> bool:
        from core.spader.checkpoint import load_model

        try:
            model = load_model(path, device="cpu")
        except Exception as exc:
            dialogs.show_error(self, "Cannot open the model", dialogs.error_text(exc))
            return False
        model.meta.setdefault("name", Path(path).stem)
        self.controller.set_model(model)
        if self.controller.scoring_error is None:
            self.banner.clear_message("scoring")
            if self.controller.capture is not None and self.controller.worker is None:
                self.controller._start_worker()
        self._sync_threshold_from_model()
        return True

    def set_device(self, device: str) -> None:
        try:
            self.controller.set_device(device)
        except Exception as exc:
            dialogs.show_error(self, "Cannot use this device", dialogs.error_text(exc))

    # -- threshold ------------------------------------------------------------------------------------
    def _model_threshold(self) -> float:
        th = getattr(self.controller.model, "threshold", None) if self.controller.model is not None else None
        return 0.0 if th is None else float(th)

    def _sync_threshold_from_model(self) -> None:
        """The threshold remembered for this model (a calibration, re-read and checked, or
        a manual override), else the model's own."""
        from app.threshold_source import model_source

        if self.controller.model is None:
            self.set_threshold(0.0, remember=False, source=model_source(None))
            return
        th, src = self._threshold_for(self.controller.model)
        self.set_threshold(th, remember=False, source=src)

    def _threshold_for(self, model):
        """What this window uses for ``model``, and a banner when its calibration failed."""
        from app.threshold_source import resolve

        th, src, problem = resolve(self.settings, model)
        self.banner.clear_message("calibration")
        if problem:
            self.banner.show_message("calibration", problem, "warning")
        return th, src

    def _resolve_for_controller(self, model) -> tuple[float, tuple[str, str]]:
        """The controller's set_model asks here (e.g. a screening's task model): the same
        choice as opening the model, shown at once."""
        th, src = self._threshold_for(model)
        self.threshold_source = src
        self.threshold_spin.blockSignals(True)
        self.threshold_spin.setValue(float(th))
        self.threshold_spin.blockSignals(False)
        self.verdict_panel.set_threshold(th)
        self.score_plot.set_threshold(th)
        QTimer.singleShot(0, self._update_model_labels)
        return float(th), (src.kind, src.text)

    def set_threshold(self, value: float, remember: bool = True, source=None, why: str | None = None) -> None:
        """Use ``value`` from now on. ``remember``: the operator's choice, kept for this
        model across runs and written to the audit trail (``source``: where it came from,
        by default a manual override by the operator)."""
        self.threshold_spin.blockSignals(True)
        self.threshold_spin.setValue(float(value))
        self.threshold_spin.blockSignals(False)
        self._apply_threshold(float(value), remember, source, why)

    def _on_threshold_spin(self, value: float) -> None:
        self._apply_threshold(float(value), True)

    def _apply_threshold(self, value: float, remember: bool, source=None, why: str | None = None) -> None:
        from app.threshold_source import manual_source, model_source

        c = self.controller
        old, old_src = c.threshold, getattr(self, "threshold_source", None)
        if source is None:
            source = manual_source(str(self.settings.get("recording/operator"))) if remember else old_src
        if source is None:
            source = model_source(c.model)
        if remember and source.kind == "manual" and c.model is not None and abs(value - self._model_threshold()) < 1e-12:
            source = model_source(c.model)  # set by hand back to the model's own: no override left
        self.threshold_source = source
        c.set_threshold(value, source=(source.kind, source.text))
        self.verdict_panel.set_threshold(value)
        self.score_plot.set_threshold(value)
        if value != old and getattr(c.scorer, "backend", None) != "recorded":  # recorded verdicts stay as they were
            self.score_plot.recompute_verdicts(c.tracker.settings)
        self.score_plot.redraw()
        if remember and c.model is not None:
            keep = source.kind in ("manual", "calibration")
            self.settings.set_threshold_for(c.model_name, value if keep else None)
            self.settings.set_threshold_source_for(c.model_name, source if keep else None)
            if value != old or old_src is None or source.kind != old_src.kind or source.path != old_src.path:
                self._audit_threshold(old, value, old_src, source, why)
        self._update_model_labels()

    def _audit_threshold(self, old: float, new: float, old_src, src, why: str | None) -> None:
        """Every change of threshold, by calibration or by hand, is an audit entry."""
        from core.screening.audit import AuditLog
        from core.tuning.calibration import model_sha256

        c = self.controller
        why = why or {"manual": "set by hand in the window", "model": "reset to the model's",
                      "default": "reset to the default", "calibration": "calibration applied"}.get(src.kind, src.kind)
        try:
            AuditLog(self._screening_data_dir()).append("threshold_changed", {
                "model": c.model_name, "model_sha256": model_sha256(c.model) if c.model is not None else None,
                "old": old, "new": new, "old_source": None if old_src is None else old_src.text,
                "source": src.kind, "source_text": src.text, "calibration": src.path, "why": why,
            }, str(self.settings.get("recording/operator")) or None)
        except Exception as exc:  # the audit trail's disk: said, the threshold still applies
            self.banner.show_message("audit", f"The threshold change could not be written to the audit trail: "
                                     f"{dialogs.error_text(exc)}", "error")

    def reset_threshold(self, checked: bool = False) -> None:
        from app.threshold_source import model_source

        self.set_threshold(self._model_threshold(), remember=True, source=model_source(self.controller.model),
                           why="reset to the model's")

    def make_tune_dialog(self):
        """The tuning dialog for the model in use, with the session on show (when it has
        labels) among its data."""
        from app.tune_dialog import TuneDialog
        from core.tuning.labels import LABELS_FILE

        sessions = []
        session = self._labels_session()
        if session is not None and (session / LABELS_FILE).exists():
            sessions.append(str(session))
        c = self.controller
        backend = str(getattr(c.scorer, "backend", "auto") or "auto")
        return TuneDialog(self, c.model, operator=str(self.settings.get("recording/operator")), sessions=sessions,
                          out_dir=self._screening_data_dir() / "calibrations",
                          # the model object is the window's: PyTorch stays on the window's device
                          device=c.device if c.device in ("cpu", "cuda") else "cpu",
                          backend=backend if backend in ("torch", "onnxruntime", "openvino") else "auto")

    def tune_dialog(self, checked: bool = False) -> None:
        if self.controller.model is None:
            dialogs.show_error(self, "Cannot tune", "Open a model first: a threshold is tuned for one model.")
            return
        sc = self.controller.screening
        if sc is not None and not sc.closed:
            dialogs.show_error(self, "Cannot tune now", "A screening is running: tune after it, so that scoring the "
                               "labelled data does not take the processor from the screening.")
            return
        if dialogs.NON_INTERACTIVE:
            return
        dlg = self.make_tune_dialog()
        dlg.setAttribute(Qt.WA_DeleteOnClose)
        if dlg.exec() and dlg.calibration_path is not None:
            self.apply_calibration(dlg.calibration_path)

    def apply_calibration_dialog(self, checked: bool = False) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "Apply a calibration", str(self._screening_data_dir() / "calibrations"),
                                              "Calibration (*.json)")
        if path:
            self.apply_calibration(path)

    def apply_calibration(self, path: str | Path) -> bool:
        """Use a calibration file's threshold for the model it was tuned for (refused for another)."""
        from app.threshold_source import calibration_source
        from core.tuning.calibration import read_calibration

        if self.controller.model is None:
            dialogs.show_error(self, "Cannot apply the calibration", "Open a model first.")
            return False
        try:
            calib = read_calibration(path, self.controller.model)
        except Exception as exc:
            dialogs.show_error(self, "Cannot apply the calibration", dialogs.error_text(exc))
            return False
        src = calibration_source(calib, str(Path(path).resolve()))
        self.banner.clear_message("calibration")
        self.set_threshold(float(calib["threshold"]), remember=True, source=src,
                           why=f"calibration {Path(path).name}: {calib.get('rule_text') or calib.get('rule')}")
        self.statusBar().showMessage(f"Threshold {float(calib['threshold']):+.3f} · {src.text}", 10000)
        return True

    # -- overlays ---------------------------------------------------------------------------------
    def set_overlay(self, name: str) -> None:
        if name not in OVERLAYS:
            return
        self.depth_view.set_overlay(name)
        i = self.overlay_combo.findData(name)
        if i != self.overlay_combo.currentIndex():
            self.overlay_combo.blockSignals(True)
            self.overlay_combo.setCurrentIndex(i)
            self.overlay_combo.blockSignals(False)
        if hasattr(self, "overlay_actions"):
            self.overlay_actions[name].setChecked(True)
        r = self.controller.last_result
        if r is not None:
            self.depth_view.set_result(r, self._box_color())
        self.settings.set("overlay/name", name)

    def cycle_overlay(self, checked: bool = False) -> None:
        keys = list(OVERLAYS)
        self.set_overlay(keys[(keys.index(self.depth_view.overlay_name) + 1) % len(keys)])

    def _on_opacity(self, value: int) -> None:
        self.depth_view.set_opacity(value / 100)

    def _on_box(self, on: bool) -> None:
        self.depth_view.set_show_box(on)
        self.act_box.setChecked(on)
        r = self.controller.last_result
        if r is not None:
            self.depth_view.set_result(r, self._box_color())

    def _box_color(self) -> str:
        v = self.verdict_panel.verdict
        return theme.VERDICT_COLORS.get(v, "#e8ecf0") if v in ("NORMAL", "ANOMALY") else "#e8ecf0"

    # -- playback ----------------------------------------------------------------------------------
    def _on_speed(self, speed: float) -> None:
        self.controller.set_speed(speed)
        self.settings.set("playback/speed", float(speed))

    def _seek_seconds(self, seconds: float) -> None:
        c = self.controller
        if not c.can_seek:
            return
        fps = (c.info.fps if c.info is not None else None) or 30.0
        pos = c.position or 0
        c.seek(pos + int(round(seconds * fps)))

    def _update_transport_enabled(self) -> None:
        c = self.controller
        seekable = c.can_seek
        n = c.info.frame_count if (c.info is not None and c.info.frame_count) else 0
        self.transport.set_seekable(seekable, max(0, n - 1))
        for a in (self.act_next, self.act_prev, self.act_fwd, self.act_back, self.act_faster, self.act_slower):
            a.setEnabled(seekable)
        self.transport.set_playing(c.playing)

    # -- recording -----------------------------------------------------------------------------------
    def toggle_record(self, checked: bool = False) -> None:
        if self.controller.recording:
            self.stop_recording()
            return
        if self.controller.capture is None:
            self.act_record.setChecked(False)
            dialogs.show_error(self, "Cannot record", "There is no running source to record.")
            return
        dlg = dialogs.RecordDialog(self, str(self.settings.get("recording/folder")), str(self.settings.get("recording/operator")))
        if not dlg.exec():
            self.act_record.setChecked(False)
            return
        subject, operator, folder = dlg.values()
        self.settings.set("recording/folder", str(dlg.root))
        self.settings.set("recording/operator", operator)
        self.start_recording(folder, subject, operator)

    def start_recording(self, folder: str | Path, subject_id: str, operator: str | None = None) -> bool:
        try:
            self.controller.start_recording(folder, subject_id, operator)
        except Exception as exc:
            self.act_record.setChecked(False)
            dialogs.show_error(self, "Cannot start recording", dialogs.error_text(exc))
            return False
        return True

    def stop_recording(self) -> tuple[Path | None, int]:
        path, n = self.controller.stop_recording()
        if path is not None:
            self.statusBar().showMessage(f"Saved {n} frames to {path}", 10000)
        return path, n

    def _on_recording_changed(self, on: bool, path: str) -> None:
        self.act_record.setChecked(on)
        self.act_record.setText("Stop recording" if on else "&Record")
        self.act_record.setIconText("● Stop" if on else "Record")
        self.rec_indicator.setText(f"  ● recording to {Path(path).name}" if on else "")
        self.rec_indicator.setStyleSheet(f"color: {theme.VERDICT_COLORS['ANOMALY']}; font-weight: bold;" if on else "")
        if not on:
            self.banner.clear_message("recording")

    # -- events ---------------------------------------------------------------------------------------
    def _on_source_started(self, info) -> None:
        self._update_transport_enabled()
        self._load_labels()
        self._update_title()
        c = self.controller
        history = bool(c.can_seek) and not c.is_live
        if history != self.score_plot.history:  # a recording keeps its whole history (set before any point)
            self.score_plot.set_history_mode(history, (info.fps if info is not None else None) or 30.0)
        if self.controller.replaying_screening is None:
            self.score_plot.set_attempts([])  # attempt windows belong to a replayed screening
        if info is not None:
            parts = [info.sensor]
            if info.width and info.height:
                parts.append(f"{info.width}×{info.height}")
            if info.fps:
                parts.append(f"{info.fps:g} fps")
            if info.frame_count:
                parts.append(f"{info.frame_count} frames")
            sid = (info.extra or {}).get("subject_id")
            if sid:
                parts.append(f"subject {sid}")
            label = self.controller.desc.label if self.controller.desc else ""
            self.source_label.setText(f"Source: {label}\n" + " · ".join(str(p) for p in parts))
        self.depth_view.set_placeholder("Waiting for frames…")

    def _on_source_failed(self, message: str) -> None:
        label = self.controller.desc.label if self.controller.desc else "the source"
        self.depth_view.set_placeholder("No source — choose one in the Source menu")
        self.banner.show_message("source", f"{label} could not be opened: {message}", "error")
        dialogs.show_error(self, "Cannot open the source", f"{label}\n\n{message}")

    def _on_event(self, origin: str, kind: str, message: str) -> None:
        b = self.banner
        if origin == "capture":
            if kind == "device_lost":
                b.show_message("camera", f"Camera disconnected — {message or 'waiting for it to come back'}. "
                               "Check the USB and power cables; the app reconnects by itself.", "error")
                self._camera_lost = True
                self.verdict_panel.set_state("NO SIGNAL", None, None, self.controller.threshold,
                                             "camera disconnected: no verdict until it is back")
            elif kind == "reconnected":
                self._camera_lost = False
                b.clear_message("camera")
                self.statusBar().showMessage(message or "The camera is back.", 8000)
            elif kind == "no_frames":
                b.show_message("camera", message or "The camera sends no frames.", "warning")
            elif kind == "error":
                self._capture_error_at = time.monotonic()
                b.show_message("capture", f"Source problem: {message}", "warning")
            elif kind == "end_of_stream":
                self.statusBar().showMessage("End of the recording (press Space to play it again).", 10000)
                QTimer.singleShot(300, self._say_short_recording)  # the last frames are still being scored
            elif kind == "timestamps":  # repaired, and playback goes on: said until another source opens
                b.show_message("timestamps", f"{message[0].upper()}{message[1:]}.", "warning")
            elif kind == "recorder_backlog":
                b.show_message("recording", message, "warning")
            elif kind == "recorder_error":
                b.show_message("recording", message, "error")
        elif origin == "screening" and kind == "stopped":
            self._countdown_end = None
            self._screening_actions_update()
            folder = self._last_screening
            b.show_message("screening", f"The screening was stopped: {message}. Everything recorded before that is "
                           f"kept{f' in {folder}' if folder else ''}, listed as interrupted. Free space on the disk, "
                           "then start a new screening.", "error")
        elif origin == "worker" and kind == "error":
            self._scoring_error_at = time.monotonic()
            b.show_message("scoring", f"Scoring problem: {message}", "error")

    def _check_depth_units(self, frame) -> None:
        """A frame whose depth, read with its unit, lies outside any range a person sits in
        (capture.depth_units) probably has the wrong unit: say so, with the usual ones. Every
        frame is checked until one is found (a folder can change unit part-way)."""
        from capture.depth_units import implausible_depth_mm, unit_warning

        mm = implausible_depth_mm(frame.depth, frame.unit_mm)
        if mm is None:
            return
        self._units_checked = True
        text = unit_warning(mm, frame.unit_mm)
        self.banner.show_message(
            "units", f"Frame {frame.index}: {text[0].upper()}{text[1:]}. Open the folder again and choose its "
            "sensor.", "warning")

    def _say_short_recording(self) -> None:
        """A recording that ended before any verdict could be held: say so, and what its
        last frames showed (the best the data allows)."""
        c = self.controller
        r = c.last_result
        st = getattr(r, "verdict", None) if r is not None else None
        if not c.ended or st is None or st.verdict.value != "PENDING":
            return
        s = c.tracker.settings
        pending = st.pending
        if pending is None:
            text = "The recording ended before a verdict could be reached."
        else:
            hold = {"NORMAL": s.normal_hold_s, "ANOMALY": s.anomaly_hold_s}.get(pending.value, s.no_hand_hold_s)
            lasted = max(0.0, hold - (st.pending_in_s or 0.0))
            text = (f"The recording ended before a verdict could be held for {hold:g} s: its last {lasted:.1f} s read "
                    f"{pending.value} (smoothed {_fmt_score(st.smoothed)}, threshold {c.threshold:+.3f}).")
        self.banner.show_message("end", text, "info")
        self.verdict_panel.set_state("PENDING", st.raw, st.smoothed, c.threshold, "recording ended: " +
                                     ("no verdict" if pending is None else f"last frames {pending.value}"))

    def _no_scoring(self, message: str) -> None:
        self.banner.show_message(
            "scoring",
            f"No scores: {message}. Frames are shown without a verdict; open a model with File → Open model.",
            "error",
        )
        self.verdict_panel.set_state("NO MODEL", None, None, self.controller.threshold)

    # -- the display tick ------------------------------------------------------------------------------
    def _tick(self) -> None:
        c = self.controller
        tick = c.poll()
        now = time.monotonic()
        result = tick.result
        if result is not None:
            self._last_result_wall = now
        drew = None  # the depth frame drawn, as (raw depth, unit, captured_ns)
        if c.mode == REPLAY and result is not None and result.depth is not None:
            drew = (result.depth, result.unit_mm, result.captured_ns, result.index)
        elif tick.frame is not None and (c.mode == LIVE or c.worker is None or now - self._last_result_wall > 0.5):
            f = tick.frame
            drew = (f.depth, f.unit_mm, f.host_ts_ns, f.index)
        if drew is not None:
            self.depth_view.set_depth(drew[0], drew[1])
            if drew[2]:
                self.display_latencies_ms.append((time.monotonic_ns() - drew[2]) / 1e6)
            self._show_position(drew[3])
            if self.banner.has("capture") and now - self._capture_error_at > 2.0:
                self.banner.clear_message("capture")
        if result is not None:
            self._show_result(result)
            if self.banner.has("scoring") and c.scoring_error is None and now - self._scoring_error_at > 2.0:
                self.banner.clear_message("scoring")
        if tick.frame is not None and not self._units_checked:
            self._check_depth_units(tick.frame)
        if tick.points:
            self.score_plot.add_points(tick.points)
        if self.score_plot.history:
            self.score_plot.set_cursor(c.position)
        if now - self._plot_drawn_at >= self._plot_interval_s:
            self._plot_drawn_at = now
            self.score_plot.redraw()  # a no-op when no point came since the last redraw
        self._tick_screening(now)
        self._tick_rescore()
        if self.label_strip.isVisible():
            self._update_label_views()
        self.display_fps = self.display_rate.update(self.depth_view.frames_drawn, now)

    # -- the screening test ---------------------------------------------------------------------------
    def _screening_actions_update(self, *_: object) -> None:
        sc = self.controller.screening
        running = sc is not None and not sc.closed
        if not running:
            self._countdown_end = None  # a 3-2-1 never starts an attempt of a closed screening
        self.act_screen_start.setEnabled(not running)
        for a in (self.act_screen_next, self.act_screen_invalid, self.act_screen_end):
            a.setEnabled(running)
        self.act_screen_report.setEnabled(self._last_screening is not None)
        self.act_screen_rescore.setEnabled(self.controller.replaying_screening is not None and not running)
        self.screening_panel.setVisible(running or self._last_screening is not None and sc is not None)

    def _screening_data_dir(self) -> Path:
        from core.screening.paths import default_data_dir

        d = str(self.settings.get("screening/data_dir") or "")
        return Path(d) if d else default_data_dir()

    def start_screening_dialog(self, checked: bool = False) -> None:
        if self.controller.capture is None:
            dialogs.show_error(self, "Cannot start a screening", "Open a camera or a recording first.")
            return
        dlg = dialogs.StartScreeningDialog(self, str(self.settings.get("recording/operator")),
                                           str(self.settings.get("screening/site")), str(self._screening_data_dir()))
        if not dlg.exec():
            return
        v = dlg.values()
        self.settings.set("recording/operator", v["operator"])
        self.settings.set("screening/site", v["site"])
        self.start_screening(**v)

    def start_screening(self, subject_id: str, operator: str = "", site: str = "", note: str = "",
                        protocol_path: str | None = None) -> bool:
        try:
            sc = self.controller.start_screening(subject_id, operator=operator or None, site=site or None,
                                                 note=note or None, protocol_path=protocol_path,
                                                 data_dir=self._screening_data_dir())
        except Exception as exc:
            dialogs.show_error(self, "Cannot start the screening", dialogs.error_text(exc))
            return False
        self._last_screening = sc.folder.path
        self._live_spans = []
        self.score_plot.set_attempts([])
        self.banner.clear_message("screening")
        self._countdown_end = None
        self._update_model_labels()  # the task model's threshold, as the screening records it
        self._screening_actions_update()
        self.statusBar().showMessage(f"Screening {sc.folder.path.name} started: recording into {sc.folder.path}", 10000)
        return True

    def show_screenings(self, checked: bool = False) -> None:
        dlg = dialogs.ScreeningsDialog(self, self._screening_data_dir())
        if not dlg.exec() or dlg.chosen is None:
            return
        if dlg.action == "open":
            self.replay_screening(dlg.chosen)
        elif dlg.action == "report":
            self._last_screening = dlg.chosen
            self._screening_actions_update()
            self.export_report()

    def replay_screening(self, folder: str | Path) -> bool:
        """The screening's session with the scores and verdicts recorded when it ran."""
        if not self._may_leave_screening():
            return False
        return self._open_screening(lambda: self.controller.replay_screening(folder), "Cannot replay the screening",
                                    "Replaying the recorded results (scores and verdicts as they were); "
                                    "Screening → Re-score compares them with the current model.")

    def rescore_screening(self, checked: bool = False) -> bool:
        """The replayed screening scored again by the current model, its recorded smoothed
        score and verdicts drawn beside the new ones."""
        return self._open_screening(self.controller.rescore_screening, "Cannot re-score the screening",
                                    f"Re-scoring with {self.controller.model_name}: the dashed line and the lower "
                                    "strip are what was recorded when it was screened.")

    def _open_screening(self, open_it, failed: str, message: str) -> bool:
        try:
            open_it()
        except Exception as exc:
            dialogs.show_error(self, failed, dialogs.error_text(exc))
            return False
        self._on_new_source()
        self._show_recorded_attempts()
        self._screening_actions_update()
        self.statusBar().showMessage(message, 10000)
        return True

    def _tick_rescore(self) -> None:
        """At the end of a re-score: how many frames the new verdict differs on."""
        c = self.controller
        if not c.rescoring or not c.ended or self._rescore_told or (c.worker is not None and not c.worker.idle):
            self._rescore_told = self._rescore_told and c.rescoring and c.ended
            return
        self._rescore_told = True
        n, diff = c.compared
        self.banner.show_message(
            "rescore", f"Re-scored {n} frames with {c.model_name} at threshold {c.threshold:+.3f}: the verdict differs "
            f"from the one recorded when it was screened on {diff} ({100 * diff / max(n, 1):.0f} %). Dashed line and "
            "lower strip: as screened.", "info")

    def _show_recorded_attempts(self) -> None:
        from core.screening.replay import screening_time_offset

        self.score_plot.reset()
        sf = self.controller.replaying_screening
        res = sf.results() or {}
        shift = screening_time_offset(sf.session_path)  # the plot's clock starts at the session's first frame
        self.score_plot.set_attempts([
            (a["start_t"] + shift, a["end_t"] + shift, f"attempt {a['number']}: {str(a['outcome']).replace('_', ' ')}")
            for t in res.get("tasks", []) for a in t.get("attempts", []) if a.get("end_t") is not None])

    def demo_screening(self, checked: bool = False) -> bool:
        """The demo recording, screened with the demo protocol by a scripted operator who
        starts the first attempt at 6 s (it is not imitated: the subject shows other signs),
        retries at once (imitated: the pigeon comes at 17.6 s) and closes the screening."""
        from core.assets import DEMO_PROTOCOL, DEMO_SESSION

        if not self.open_recording(DEMO_SESSION):
            return False
        self.transport.loop_box.setChecked(False)
        if not self.start_screening("DEMO-001", operator="demo", site="demo", note="scripted demo",
                                    protocol_path=str(DEMO_PROTOCOL)):
            return False
        self._demo_script = {"closed_at": None}
        return True

    def _demo_step(self, now: float) -> None:
        """One step of the scripted operator (called by the display tick)."""
        script, sc = self._demo_script, self.controller.screening
        if script is None or sc is None:
            return
        phase = str(sc.phase)
        if sc.closed:
            self._demo_script = None
        elif self._countdown_end is not None or phase == "running":
            return
        elif phase == "instruction" and (sc.last_t or 0.0) >= 6.0:
            self._space()
        elif phase == "outcome" and sc.screening.can_retry():
            self._space()
        elif phase == "outcome":
            self.screening_next()
        elif phase == "done":
            script["closed_at"] = script["closed_at"] or now
            if now - script["closed_at"] >= 1.5:
                self.end_screening()

    def _space(self, checked: bool = False) -> None:
        """Space: start the attempt (after the 3-2-1) during a screening, else play / pause."""
        sc = self.controller.screening
        if sc is None or sc.closed:
            self.controller.toggle_play()
            return
        phase = str(sc.phase)
        if self._countdown_end is not None or phase == "running":
            return
        if phase == "instruction" or (phase == "outcome" and sc.screening.can_retry()):
            n = int(sc.screening.task.countdown_s)
            if n <= 0:
                self._begin_attempt()
            else:
                self._countdown_end = time.monotonic() + n
        elif phase == "outcome":
            self.statusBar().showMessage("No attempt is left for this task: press N for the next task.", 6000)

    def _begin_attempt(self) -> None:
        self._countdown_end = None
        try:
            self.controller.screening.begin_attempt()
        except Exception as exc:
            dialogs.show_error(self, "Cannot start the attempt", dialogs.error_text(exc))

    def screening_next(self, checked: bool = False) -> None:
        sc = self.controller.screening
        if sc is None or sc.closed or str(sc.phase) == "running" or self._countdown_end is not None:
            return
        if str(sc.phase) == "done":
            self.end_screening()
            return
        try:
            self.controller.screening_next_task()
        except Exception as exc:
            dialogs.show_error(self, "Cannot go on to the next task", dialogs.error_text(exc))

    def screening_invalid(self, checked: bool = False, reason: str | None = None) -> None:
        sc = self.controller.screening
        if sc is None or sc.closed or str(sc.phase) != "outcome":
            self.statusBar().showMessage("Only an attempt that has ended can be marked invalid.", 6000)
            return
        if reason is None:
            if dialogs.NON_INTERACTIVE:
                return
            from PySide6.QtWidgets import QInputDialog

            reason, ok = QInputDialog.getText(self, "Mark the attempt invalid", "Why is this attempt invalid?")
            if not ok:
                return
        try:
            sc.mark_invalid(reason)
        except Exception as exc:
            dialogs.show_error(self, "Cannot mark the attempt invalid", dialogs.error_text(exc))

    def end_screening(self, checked: bool = False) -> None:
        sc = self.controller.screening
        if sc is None or sc.closed:
            return
        try:
            folder = self.controller.end_screening(finished=True)
        except Exception as exc:
            dialogs.show_error(self, "The screening could not be closed cleanly", dialogs.error_text(exc))
            folder = None
        self._countdown_end = None
        self._screening_actions_update()
        if folder is not None:
            self.statusBar().showMessage(f"Screening saved in {folder.path}", 10000)

    def export_report(self, checked: bool = False, out: str | Path | None = None) -> Path | None:
        if self._last_screening is None:
            return None
        if out is None:
            from PySide6.QtWidgets import QFileDialog

            if dialogs.NON_INTERACTIVE:
                return None
            out, _ = QFileDialog.getSaveFileName(self, "Save the report", str(Path.home() / "screening-report.pdf"),
                                                 "PDF (*.pdf)")
            if not out:
                return None
        try:
            from core.screening.audit import AuditLog
            from core.screening.report import build_report

            path = build_report(self._last_screening, out)
            AuditLog(self._last_screening.parent).append("report_exported", {"screening": self._last_screening.name,
                                                                             "file": str(Path(path).resolve())},
                                                         str(self.settings.get("recording/operator")) or None)
        except Exception as exc:
            dialogs.show_error(self, "Cannot make the report", dialogs.error_text(exc))
            return None
        self.statusBar().showMessage(f"Report saved: {path}", 10000)
        return Path(path)

    def _tick_screening(self, now: float) -> None:
        """The panel shows where the running screening stands (it decides nothing)."""
        sc = self.controller.screening
        if sc is None:
            return
        if self._countdown_end is not None and now >= self._countdown_end:
            self._begin_attempt()
        self._demo_step(now)
        if not sc.closed:
            self._plot_live_attempts(sc)
        s = sc.screening
        task, phase = s.task, str(s.phase)
        title = f"{sc.protocol.name} · {task.title} · attempt {len(s.attempts[task.id]) + (0 if phase in ('running', 'outcome') else 1)} of {task.attempts}"
        if sc.closed or phase == "done":
            from core.screening.run import DISCLAIMER

            big = {"all imitated": "All imitated", "not imitated": "Not imitated", "invalid": "Invalid",
                   "incomplete": "Incomplete"}.get(s.overall(), s.overall())
            lines = [f"{r.task_id}: {r.result}" for r in s.results()]
            self.screening_panel.show_state(sc.protocol.name, big, " · ".join(lines) + f"\n{DISCLAIMER}",
                                            "N or Ctrl+Shift+E: close the screening" if not sc.closed else
                                            "Report: Screening → Report of the last screening")
        elif self._countdown_end is not None:
            self.screening_panel.show_state(title, f"{max(1, int(self._countdown_end - now + 0.999))}", "get ready…", "")
        elif phase == "instruction":
            self.screening_panel.show_state(title, task.title, task.instruction, "Space: start the attempt")
        elif phase == "running" and (judge := s.judge) is not None:  # read once: the worker may end it now
            left = judge.remaining_s(sc.last_t or judge.attempt.start_t)
            holding = judge.holding_since
            hint = "holding the pose…" if holding is not None else "waiting for the pose"
            self.screening_panel.show_state(title, f"{left:.0f} s", hint, "")
        elif phase == "outcome":
            a = s.last_attempt
            text = a.describe(task.time_limit_s) if a is not None else ""
            keys = "Space: retry · N: next task · I: mark invalid" if s.can_retry() else "N: next task · I: mark invalid"
            self.screening_panel.show_state(title, text, "", keys)

    # -- labels for tuning --------------------------------------------------------------------------
    def _load_labels(self) -> None:
        """A replayed session's labels, and the labelling controls while it is on show."""
        from core.tuning.labels import SessionLabels, read_labels

        session = self._labels_session()
        self.labels, self._label_in = None, None
        if session is not None:
            try:
                self.labels = read_labels(session)
            except Exception as exc:
                self.banner.show_message("labels", f"The session's labels cannot be read: {dialogs.error_text(exc)}",
                                         "warning")
                self.labels = None
            else:
                self.banner.clear_message("labels")
            if self.labels is None:
                self.labels = SessionLabels()
                self._labels_readonly = True
            else:
                self._labels_readonly = False
            meta = getattr(self.controller.model, "meta", {}) or {}
            classes = ["normal", *meta.get("known_classes", []), *sorted({r.label for r in self.labels.ranges}), "ignore"]
            self.labels_box.set_classes(list(dict.fromkeys(classes)))
        on = session is not None
        self.labels_box.setVisible(on)
        self.label_strip.setVisible(on)
        self.labels_box.judge_button.setEnabled(self.controller.replaying_screening is not None)
        self._update_label_views()

    def _update_label_views(self) -> None:
        lab = getattr(self, "labels", None)
        if lab is None or not self.label_strip.isVisible():
            return
        c = self.controller
        count = c.info.frame_count if c.info is not None and c.info.frame_count else 0
        self.label_strip.set_state([(r.start, r.end, r.label) for r in lab.ranges], count, self._label_in, c.position)
        n = len(lab.ranges)
        pending = f"in at frame {self._label_in}: Shift+O at the last frame · " if self._label_in is not None else ""
        self.labels_box.status.setText(f"{pending}{n} range{'s' if n != 1 else ''}, {len(lab.attempts)} attempt"
                                       f"{'s' if len(lab.attempts) != 1 else ''} judged · saved in labels.json")

    def _save_labels(self) -> bool:
        from core.tuning.labels import write_labels

        session = self._labels_session()
        if session is None or self.labels is None or not self._labels_writable():
            return False
        self.labels.labeller = str(self.settings.get("recording/operator")) or self.labels.labeller
        try:
            write_labels(session, self.labels)
        except Exception as exc:
            dialogs.show_error(self, "Cannot save the labels", dialogs.error_text(exc))
            return False
        self._update_label_views()
        return True

    def label_mark_in(self, checked: bool = False) -> None:
        if getattr(self, "labels", None) is None or self.controller.position is None:
            self.statusBar().showMessage("Labels are for a recorded session: open one (or a screening) for replay.", 6000)
            return
        self._label_in = int(self.controller.position)
        self._update_label_views()

    def label_mark_out(self, checked: bool = False) -> None:
        if getattr(self, "labels", None) is None or self.controller.position is None:
            return
        if self._label_in is None:
            self.statusBar().showMessage("Mark the first frame of the range first (Shift+I).", 6000)
            return
        if not self._labels_writable():
            return
        try:
            r = self.labels.add(self._label_in, int(self.controller.position), self.labels_box.chosen or "normal")
        except Exception as exc:
            dialogs.show_error(self, "Cannot label these frames", dialogs.error_text(exc))
            return
        if self._save_labels():
            self._label_in = None
            self.statusBar().showMessage(f"Frames {r.start}–{r.end} labelled {r.label}.", 6000)
        else:  # not on disk: not on screen either
            self.labels.ranges.remove(r)
        self._update_label_views()

    def label_remove_here(self, checked: bool = False) -> None:
        lab, pos = getattr(self, "labels", None), self.controller.position
        if lab is None or pos is None or not self._labels_writable():
            return
        before = list(lab.ranges)
        if lab.remove_at(int(pos)) and not self._save_labels():
            lab.ranges[:] = before
        self._update_label_views()

    def _labels_writable(self) -> bool:
        if getattr(self, "_labels_readonly", False):
            dialogs.show_error(self, "Cannot change the labels", "The session's labels.json is damaged; it is left "
                               "as it is. Move it away to start new labels.")
            return False
        return True

    def judge_attempts(self, checked: bool = False, judgements: dict[str, str | None] | None = None) -> bool:
        """A replayed screening's attempts as the clinician judged them (``judgements``:
        "task:number" -> imitated | not_imitated | None, else asked)."""
        sf = self.controller.replaying_screening
        if sf is None or getattr(self, "labels", None) is None:
            return False
        from core.screening.record import read_events

        res = sf.results()
        if res is not None:
            attempts = [(t["task_id"], int(a["number"]), str(a.get("outcome") or "")) for t in res.get("tasks", [])
                        for a in t.get("attempts", [])]
        else:
            attempts = [(str(e.get("task_id")), int(e.get("attempt") or 0), str(e.get("outcome") or ""))
                        for e in read_events(sf.session_path) if e.get("event") == "attempt_ended"]
        if judgements is None:
            if dialogs.NON_INTERACTIVE:
                return False
            dlg = JudgeAttemptsDialog(self, attempts, self.labels.attempts)
            if not dlg.exec():
                return False
            judgements = dlg.judgements()
        if not self._labels_writable():
            return False
        before = dict(self.labels.attempts)
        for key, value in judgements.items():
            task_id, number = key.rsplit(":", 1)
            self.labels.judge_attempt(task_id, int(number), value)
        if self._save_labels():
            return True
        self.labels.attempts = before
        self._update_label_views()
        return False

    def _labels_session(self) -> Path | None:
        """The session folder on show (a recording or a replayed screening's), or None."""
        c = self.controller
        if c.replaying_screening is not None:
            return Path(c.replaying_screening.session_path)
        if c.desc is not None and c.desc.kind == "file" and c.desc.spec:  # never the bundled demo (an asset)
            p = Path(c.desc.spec)
            from core.assets import DEMO_SESSION

            if (p / "session.json").is_file() and p.resolve() != Path(DEMO_SESSION).resolve():
                return p
        return None

    def _plot_live_attempts(self, sc) -> None:
        """The running screening's attempts as windows on the score plot (the running one
        grows with it)."""
        plot = self.score_plot
        spans = []
        for task_id, attempts in sc.screening.attempts.items():
            for a in attempts:
                end = a.end_t if a.end_t is not None else sc.last_t
                x0, x1 = plot.x_of(sc.raw_time(a.start_t)), plot.x_of(sc.raw_time(end if end is not None else a.start_t))
                if x0 is None or x1 is None:
                    continue
                what = "running" if a.outcome is None else str(a.outcome.value).replace("_", " ")
                spans.append((round(x0, 1), round(max(x1, x0), 1), f"attempt {a.number}: {what}"))
        if spans != self._live_spans:
            self._live_spans = spans
            plot.set_attempts(spans)

    def _show_result(self, r) -> None:
        if self._camera_lost:  # a result of a frame from before the cable was pulled: no verdict now
            return
        st = r.verdict
        verdict = str(st.verdict.value) if st is not None else ("PENDING" if r.has_hand else "NO HAND")
        note = "" if r.has_hand else f"no hand: {r.reason}" if r.reason else "no hand in view"
        sc = self.controller.screening
        screening = sc is not None and not sc.closed
        had = self.score_plot.recorded_at(r.index) if self.score_plot.history and st is not None else None
        if had is not None and not screening and had[2] != verdict and not st.changed:
            # a frame seen again after a step or seek: the verdict it had, not a restarted one
            verdict = had[2]
            st = type(st)(st.verdict, None if math.isnan(had[1]) else had[1], st.raw, st.t_s, False)
        pending = getattr(st, "pending", None) if st is not None else None
        if pending is not None and st.pending_in_s is not None:
            # the numbers already say the other verdict: the hold time is why the big one waits
            note = (note + "\n" if note else "") + (f"→ {pending.value} in {st.pending_in_s:.1f} s "
                                                     "(once it has lasted the hold time)")
        if screening and str(sc.phase) != "running":
            verdict, note = "WAITING", "between attempts: hands may rest, nothing is judged"
        was = (r.extra or {}).get("as_screened")
        if was and was.get("verdict"):
            shown = "WAITING" if was.get("phase") not in ("", "running") else was["verdict"]
            same = "same" if was["verdict"] == verdict else "differs"
            note = (note + "\n" if note else "") + (f"as screened: {shown} · smoothed {_fmt_score(was.get('smoothed'))}"
                                                    f" ({same})")
        self.verdict_panel.set_state(verdict, r.score, None if st is None else st.smoothed, self.controller.threshold, note)
        self.depth_view.set_result(r, self._box_color())
        self.crop_view.set_result(r if r.has_hand else None)

    def _show_position(self, index: int) -> None:
        c = self.controller
        if c.info is None or not c.can_seek:
            return
        fps = c.info.fps or 30.0
        self.transport.set_position(int(index), c.info.frame_count, index / fps)

    # -- status bar ---------------------------------------------------------------------------------------
    def _update_status(self) -> None:
        st = self.controller.stats()
        L = self.status_labels
        L["capture"].setText(f"capture {st['capture_fps']:4.1f} fps")
        L["scoring"].setText(f"scoring {st['scoring_fps']:4.1f} fps")
        L["display"].setText(f"display {self.display_fps:4.1f} fps")
        L["dropped"].setText(f"dropped {st['dropped']}")
        lat = st["latency_ms"]
        L["latency"].setText("latency –" if lat is None else f"latency {lat:4.0f} ms")
        if st["device"] == "-":
            L["device"].setText("no scoring")
        else:  # "CPU · ONNX": where the networks run, and on what (the tooltip says more)
            backend = str(st.get("backend") or "")
            engine = {"onnxruntime": "ONNX", "OpenVINO": "OpenVINO", "PyTorch": "PyTorch"}.get(backend.split(" ")[0], "")
            L["device"].setText(str(st["device"]).upper() + (f" · {engine}" if engine else ""))
            note = str(st.get("backend_note") or "")
            L["device"].setToolTip(f"where the networks run: {backend or st['device']}" + (f"\n{note}" if note else ""))
            if note and note != self._backend_note_shown:
                self._backend_note_shown = note
                self.statusBar().showMessage(note, 10000)
        if st["recording"]:
            behind = st.get("record_behind")  # the disk slows the stream: said while it lasts
            L["rec"].setText(f"● REC {st['recorded']} frames" + (" · can't keep up" if behind else ""))
            L["rec"].setToolTip("the disk writes fewer frames per second than the source sends: the stream is "
                                "slowed to what the disk takes" if behind else "recording to the session folder")
        else:
            L["rec"].setText("")
        self._update_model_labels()

    def _update_model_labels(self) -> None:
        c = self.controller
        src = getattr(self, "threshold_source", None)
        text = f"model {c.model_name} · threshold {c.threshold:+.3f}" + (f" · {src.text}" if src is not None else "")
        lab = self.status_labels["model"]
        if lab.text() != text:
            lab.setText(text)
            lab.setToolTip(f"model and verdict threshold: {text}")
            self.threshold_spin.setToolTip("Verdict threshold on the smoothed score (or drag the line in the plot)"
                                           + (f"\nin force: {src.text}" if src is not None else ""))
            self.verdict_panel.set_threshold_source(src.text if src is not None else "")

    # -- help ---------------------------------------------------------------------------------------------
    def show_shortcuts(self, checked: bool = False) -> None:
        """The keys as a two-column table (tab stops misaligned in a message box)."""
        import html

        rows = "".join(f"<tr><td style='padding-right:16px'><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>"
                       for k, v in (line.split("\t", 1) for line in SHORTCUTS_TEXT.splitlines()))
        dialogs.show_info(self, "Keyboard shortcuts", f"<table>{rows}</table>")

    def show_about(self, checked: bool = False) -> None:
        from core import __version__

        c = self.controller
        m = c.model
        model = "no model is loaded"
        if m is not None:
            from core.tuning.calibration import model_sha256

            meta = getattr(m, "meta", {}) or {}
            data = meta.get("data") or {}
            src = getattr(self, "threshold_source", None)
            model = (f"{c.model_name}: trained on {'synthetic' if data.get('synthetic') else 'recorded'} data "
                     f"(normal class {meta.get('normal_class', '?')}), {meta.get('created', '')[:10]}; SHA-256 "
                     f"{model_sha256(m)[:16]}…; threshold {c.threshold:+.3f}"
                     + (f" ({src.text})" if src is not None else ""))
        dialogs.show_info(
            self,
            "About SPADER",
            f"SPADER screening for the Yamaguchi Fox-Pigeon Imitation Test, version {__version__}.\n\n"
            "Intended use: research on a screening aid. A trained examiner runs the test; the app shows whether the "
            "subject's hand pose looks like the normal pigeon pose, frame by frame and per attempt. It does not "
            "diagnose, and no clinical validity is claimed: the bundled model has seen synthetic people only.\n\n"
            f"Model: {model}.\n\n{DISCLAIMER}\n\nSettings file: {self.settings.path}",
        )

    def _toggle_full_screen(self, checked: bool = False) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    # -- closing -----------------------------------------------------------------------------------------
    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 - Qt name
        """Enter or Esc in the threshold box hands the keys back to the window (Space,
        arrows); Esc also drops what was typed."""
        from PySide6.QtCore import QEvent

        if obj is self.threshold_spin and ev.type() == QEvent.KeyPress and ev.key() in (Qt.Key_Return, Qt.Key_Enter,
                                                                                           Qt.Key_Escape):
            if ev.key() == Qt.Key_Escape:
                self.threshold_spin.blockSignals(True)
                self.threshold_spin.setValue(self.controller.threshold)
                self.threshold_spin.blockSignals(False)
            else:
                self.threshold_spin.interpretText()
            self.depth_view.setFocus(Qt.OtherFocusReason)
            return True
        return super().eventFilter(obj, ev)

    def _update_title(self) -> None:
        """The subject on screen and a recording in progress, in the title bar too."""
        c = self.controller
        parts = ["SPADER — Fox-Pigeon Imitation Test screening"]
        sc = c.screening
        subject = None
        if sc is not None and not sc.closed:
            subject = (sc.folder.header() or {}).get("subject_id") if hasattr(sc.folder, "header") else None
        elif c.info is not None:
            subject = (c.info.extra or {}).get("subject_id")
        if subject:
            parts.append(f"subject {subject}")
        if c.recording:
            parts.append("● recording")
        self.setWindowTitle(" · ".join(parts))

    def closeEvent(self, ev) -> None:  # noqa: N802 - Qt name
        c = self.controller
        sc = c.screening
        running = sc is not None and not sc.closed
        if (c.recording or running) and not getattr(self, "_shut", False):
            what = (f"Screening {sc.folder.path.name} is running: quitting ends it as interrupted" if running else
                    f"Recording to {c.recording_path}: quitting stops it")
            n = c.stats().get("recorded", 0)
            if not dialogs.confirm(self, "Quit now?", f"{what}. Everything recorded so far ({n} frames"
                                   f"{', their results and events' if running else ''}) is kept.", yes="Quit"):
                ev.ignore()
                return
        self.shutdown()
        super().closeEvent(ev)

    def shutdown(self) -> None:
        """Stop the timers and every thread; save the settings. Safe to call twice."""
        if getattr(self, "_shut", False):
            return
        self._shut = True
        self.timer.stop()
        self.stats_timer.stop()
        try:
            self.save_settings()
        finally:
            self.controller.shutdown()


SHORTCUTS_TEXT = """Space\tplay / pause; during a screening: start the attempt (after the 3-2-1), retry
Ctrl+Shift+S\tstart a screening
N\tnext task / finish the screening
Ctrl+Shift+L\tthe screenings list (open one for replay, export its report)
I\tmark the attempt invalid (with a reason)
Ctrl+Shift+E\tend the screening
Shift+I / Shift+O\tlabel a replayed session: mark in / out (the range gets the chosen class)
Shift+Del\tremove the label range under the frame on show
Ctrl+T\ttune the threshold from labelled data
Left / Right\tprevious / next frame (recordings)
Shift+Left / Shift+Right\tback / forward 1 s
[ / ]\tslower / faster playback
R\tstart / stop recording
O\tnext overlay (0 none, 1 Grad-CAM, 2 loss, 3 weighted loss)
B\tcrop box on / off
Ctrl+O\topen an MKV recording
Ctrl+Shift+O\topen a session or image folder
Ctrl+K\tchoose an Azure Kinect
Ctrl+D\tdemo session
Ctrl+M\topen a model
F11\tfull screen
F1\tthis list"""


def _fmt_score(v: float | None) -> str:
    return "–" if v is None else f"{v:+.3f}"
