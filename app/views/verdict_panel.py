"""The large verdict indicator, the banner for problems, and the playback controls."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import theme

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)


def _fmt(v: float | None) -> str:
    return "–" if v is None or not math.isfinite(v) else f"{v:+.3f}"


class JumpSlider(QSlider):
    """A seek bar whose track, clicked, jumps there (a plain QSlider steps a page)."""

    def mousePressEvent(self, ev) -> None:  # noqa: N802 (Qt's name)
        from PySide6.QtWidgets import QStyle, QStyleOptionSlider

        opt = QStyleOptionSlider()
        self.initStyleOption(opt)
        handle = self.style().subControlRect(QStyle.CC_Slider, opt, QStyle.SC_SliderHandle, self)
        if ev.button() == Qt.LeftButton and not handle.contains(ev.position().toPoint()):
            groove = self.style().subControlRect(QStyle.CC_Slider, opt, QStyle.SC_SliderGroove, self)
            span = max(1, groove.width() - handle.width())
            x = int(ev.position().x()) - groove.x() - handle.width() // 2
            value = QStyle.sliderValueFromPosition(self.minimum(), self.maximum(), x, span, opt.upsideDown)
            self.setValue(value)  # valueChanged: the window seeks there
            ev.accept()
            return
        super().mousePressEvent(ev)


class VerdictPanel(QFrame):
    """NORMAL / ANOMALY / NO HAND / PENDING in large letters on the verdict's colour, with
    the current score, the smoothed score and the threshold below."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 10, 10, 10)
        lay.setSpacing(6)
        self.verdict_label = QLabel("PENDING")
        self.verdict_label.setObjectName("verdict")
        self.verdict_label.setAlignment(Qt.AlignCenter)
        self.verdict_label.setMinimumHeight(80)
        self.verdict_label.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        lay.addWidget(self.verdict_label)
        self.score_label = QLabel("score –")
        self.score_label.setObjectName("score")
        self.score_label.setStyleSheet("font-size: 16pt;")
        self.score_label.setAlignment(Qt.AlignCenter)
        self.score_label.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)
        lay.addWidget(self.score_label)
        self.detail_label = QLabel("")
        self.detail_label.setObjectName("dim")
        self.detail_label.setAlignment(Qt.AlignCenter)
        self.detail_label.setWordWrap(True)
        lay.addWidget(self.detail_label)
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)
        self.verdict = ""
        self.source_text = ""
        self._last: tuple = (None, None, 0.0, "")
        self.set_state("PENDING", None, None, 0.0)

    def set_state(self, verdict: str, raw: float | None, smoothed: float | None, threshold: float, note: str = "") -> None:
        verdict = verdict or "PENDING"
        if verdict != self.verdict:
            self.verdict = verdict
            bg = theme.VERDICT_COLORS.get(verdict, theme.VERDICT_COLORS["PENDING"])
            fg = theme.VERDICT_TEXT_COLORS.get(verdict, "#e8ecf0")
            self.verdict_label.setText(verdict)
            self.verdict_label.setStyleSheet(
                f"background: {bg}; color: {fg}; border-radius: 6px; padding: 6px; font-size: 28pt; font-weight: bold;"
            )
        self.score_label.setText(f"score {_fmt(raw)}")
        self._last = (raw, smoothed, threshold, note)
        detail = f"smoothed {_fmt(smoothed)}   ·   threshold {threshold:+.3f}"
        if self.source_text:
            detail += f"\n({self.source_text})"
        text = detail + (f"\n{note}" if note else "")
        if text != self.detail_label.text():
            self.detail_label.setText(text)
            self._fit()

    def _fit(self) -> None:
        """As tall as its wrapped text needs at its width: never squeezed (a squeezed panel
        drew the score over the verdict); the side column scrolls instead."""
        h = self.heightForWidth(max(1, self.width()))
        if h > 0 and h != self.minimumHeight():
            self.setMinimumHeight(h)

    def resizeEvent(self, ev) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(ev)
        self._fit()

    def set_threshold(self, threshold: float) -> None:
        """A new threshold shows at once, also while no new frame comes (paused)."""
        raw, smoothed, _, note = self._last
        self.set_state(self.verdict, raw, smoothed, float(threshold), note)

    def set_threshold_source(self, text: str) -> None:
        """Where the threshold came from, shown under it ("tuned … by op-3 · …")."""
        self.source_text = text
        raw, smoothed, threshold, note = self._last
        self.set_state(self.verdict, raw, smoothed, threshold, note)


class Banner(QFrame):
    """A strip above the views for problems that need the operator's eye (camera lost,
    no model, scoring failing). Each message has a key, so one problem is shown once and
    cleared when it is over; the newest most severe message is the one on show."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 6, 6, 6)
        self.label = QLabel("")
        self.label.setTextFormat(Qt.PlainText)  # messages quote file and model names: never HTML
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.label, 1)
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setToolTip("Hide this message")
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self._dismiss)
        lay.addWidget(self.close_button)
        self.messages: dict[str, tuple[str, str]] = {}  # key -> (level, text), in arrival order
        self.setVisible(False)

    def show_message(self, key: str, text: str, level: str = "warning") -> None:
        self.messages.pop(key, None)
        self.messages[key] = (level, text)
        self._refresh()

    def clear_message(self, key: str) -> None:
        if self.messages.pop(key, None) is not None:
            self._refresh()

    def has(self, key: str) -> bool:
        return key in self.messages

    @property
    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

    def _current(self) -> tuple[str, str, str] | None:
        order = {"error": 0, "warning": 1, "info": 2}
        best = None
        for key, (level, text) in self.messages.items():  # newest wins within a level
            if best is None or order.get(level, 3) <= order.get(best[1], 3):
                best = (key, level, text)
        return best

    def _refresh(self) -> None:
        cur = self._current()
        if cur is None:
            self.setVisible(False)
            return
        key, level, text = cur
        bg, fg = theme.BANNER_COLORS.get(level, theme.BANNER_COLORS["warning"])
        self.setStyleSheet(f"Banner {{ background: {bg}; border-radius: 4px; }} QLabel {{ color: {fg}; font-size: 11pt; }}"
                           f" QToolButton {{ color: {fg}; background: transparent; border: none; }}")
        more = len(self.messages) - 1
        self.label.setText(text + (f"   (+{more} more)" if more > 0 else ""))
        self.setVisible(True)

    def _dismiss(self) -> None:
        cur = self._current()
        if cur is not None:
            self.clear_message(cur[0])


class TransportBar(QWidget):
    """Play/pause, single-frame steps, the seek slider, the speed and loop of a recording."""

    play_toggled = Signal()
    step = Signal(int)
    seek = Signal(int)
    speed_changed = Signal(float)
    loop_changed = Signal(bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 2, 0, 2)
        lay.setSpacing(6)
        self.back_button = QToolButton()
        self.back_button.setText("◀▮")
        self.back_button.setToolTip("Previous frame (Left)")
        self.back_button.clicked.connect(lambda: self.step.emit(-1))
        self.play_button = QPushButton("Pause")
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.setMinimumWidth(72)
        self.play_button.clicked.connect(self.play_toggled.emit)
        self.fwd_button = QToolButton()
        self.fwd_button.setText("▮▶")
        self.fwd_button.setToolTip("Next frame (Right)")
        self.fwd_button.clicked.connect(lambda: self.step.emit(1))
        self.slider = JumpSlider(Qt.Horizontal)
        self.slider.setToolTip("Position in the recording (Shift+Left/Right: 1 s)")
        self.slider.setTracking(False)
        self.slider.valueChanged.connect(self.seek.emit)
        self.position_label = QLabel("–")
        self.position_label.setObjectName("dim")
        self.position_label.setMinimumWidth(120)
        self.speed_box = QComboBox()
        for s in SPEEDS:
            self.speed_box.addItem(f"{s:g}×", s)
        self.speed_box.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_box.setToolTip("Playback speed ([ slower, ] faster)")
        self.speed_box.currentIndexChanged.connect(lambda i: self.speed_changed.emit(float(self.speed_box.itemData(i))))
        self.loop_box = QCheckBox("loop")
        self.loop_box.setToolTip("Start again at the end (applies when a recording is opened)")
        self.loop_box.toggled.connect(self.loop_changed.emit)
        for w in (self.back_button, self.play_button, self.fwd_button):
            lay.addWidget(w)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.position_label)
        lay.addWidget(self.speed_box)
        lay.addWidget(self.loop_box)

    def set_playing(self, playing: bool) -> None:
        self.play_button.setText("Pause" if playing else "Play")

    def set_seekable(self, seekable: bool, maximum: int = 0) -> None:
        for w in (self.back_button, self.fwd_button, self.slider, self.speed_box):
            w.setEnabled(seekable)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, maximum))
        self.slider.blockSignals(False)

    def set_position(self, position: int | None, total: int | None, t_s: float | None = None) -> None:
        if position is None:
            self.position_label.setText("–")
            return
        if not self.slider.isSliderDown():
            self.slider.blockSignals(True)
            self.slider.setValue(int(position))
            self.slider.blockSignals(False)
        txt = f"frame {position + 1}" + (f" / {total}" if total else "")
        if t_s is not None:
            txt += f"  ·  {t_s:5.1f} s"
        self.position_label.setText(txt)

    def set_speed(self, speed: float) -> None:
        best = min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - speed))
        self.speed_box.setCurrentIndex(best)

    def nudge_speed(self, direction: int) -> None:
        i = max(0, min(len(SPEEDS) - 1, self.speed_box.currentIndex() + direction))
        self.speed_box.setCurrentIndex(i)
