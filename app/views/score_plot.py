"""The scrolling plot of the normalness score: raw and smoothed, the threshold, the verdict.

x is seconds since the source started (the verdict tracker's clock: device time when the
stream has it); the plot shows the last ``window_s`` seconds. Raw scores are thin dots
and lines, the smoothed score a bold line, the threshold a draggable horizontal line, and
the verdict a translucent band behind the curves (one bar per run of equal verdicts,
drawn by a single BarGraphItem), told apart by colour, by pattern (ANOMALY hatched, NO
HAND dotted) and by its name at the foot of every wide band. A re-scored screening adds
what was recorded when it was screened: its smoothed score dashed, its verdicts in a strip
along the bottom. When time goes backwards (a seek, a loop, a new source) the plot starts
over.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor

from app import theme


class ScorePlot(pg.PlotWidget):
    threshold_dragged = Signal(float)  # the operator released the threshold line here

    def __init__(self, parent=None, window_s: float = 20.0, max_points: int = 4000) -> None:
        super().__init__(parent, background=theme.PLOT_BG)
        self.window_s = float(window_s)
        self.setMinimumHeight(140)
        pi = self.getPlotItem()
        pi.setMenuEnabled(False)
        pi.hideButtons()
        pi.showGrid(x=False, y=True, alpha=0.15)
        pi.setLabel("left", "normalness")
        pi.setLabel("bottom", "time", units="s")
        for side in ("left", "bottom"):  # scores are small numbers: never show them as "x0.001"
            pi.getAxis(side).enableAutoSIPrefix(False)
        self.vb = pi.getViewBox()
        self.vb.setMouseEnabled(x=False, y=False)
        self.vb.disableAutoRange()
        self._title = (
            f'<span style="color:{theme.RAW_PEN}">● score</span>&nbsp;&nbsp;&nbsp;'
            f'<span style="color:{theme.SMOOTH_PEN}">━ smoothed</span>&nbsp;&nbsp;&nbsp;'
            f'<span style="color:{theme.THRESHOLD_PEN}">╌ threshold (drag to change)</span>&nbsp;&nbsp;&nbsp;'
            + "&nbsp;&nbsp;".join(
                f'<span style="color:{theme.VERDICT_COLORS[v]}">■ {v}</span>' for v in ("NORMAL", "ANOMALY", "NO HAND")
            )
        )
        pi.setTitle(self._title, size="9pt")
        self.bands = pg.BarGraphItem(x0=[], x1=[], y0=[], y1=[], pen=None, brush=(0, 0, 0, 0))
        self.bands.setZValue(-10)
        pi.addItem(self.bands, ignoreBounds=True)
        self.raw_curve = pi.plot(
            [], [], pen=pg.mkPen(theme.RAW_PEN, width=1), symbol="o", symbolSize=3,
            symbolPen=None, symbolBrush=theme.RAW_PEN, connect="finite",
        )
        self.smooth_curve = pi.plot([], [], pen=pg.mkPen(theme.SMOOTH_PEN, width=2.5), connect="finite")
        # a re-scored screening: the smoothed score recorded when it was screened (dashed)
        # and its verdicts (a strip along the bottom), beside the new ones
        self.screened_curve = pi.plot([], [], pen=pg.mkPen(theme.SCREENED_PEN, width=2, style=pg.QtCore.Qt.DashLine),
                                      connect="finite")
        self.screened_bands = pg.BarGraphItem(x0=[], x1=[], y0=[], y1=[], pen=None, brush=(0, 0, 0, 0))
        self.screened_bands.setZValue(-8)
        pi.addItem(self.screened_bands, ignoreBounds=True)
        self.threshold_line = pg.InfiniteLine(
            pos=0.0, angle=0, movable=True,
            pen=pg.mkPen(theme.THRESHOLD_PEN, width=2, style=pg.QtCore.Qt.DashLine),
            hoverPen=pg.mkPen(theme.ACCENT, width=3),
            label="threshold {value:.3f}", labelOpts={"position": 0.04, "color": theme.THRESHOLD_PEN, "anchors": [(0, 1), (0, 1)]},
        )
        self.threshold_line.setZValue(5)
        pi.addItem(self.threshold_line)
        self.threshold_line.sigPositionChangeFinished.connect(lambda line: self.threshold_dragged.emit(float(line.value())))
        # colour and pattern: ANOMALY hatched, NO HAND dotted, so a band is read without its hue
        self._brushes = {k: pg.mkBrush(QColor(*theme.hex_rgb(v), 70)) for k, v in theme.VERDICT_COLORS.items()}
        self._brushes["ANOMALY"] = QBrush(QColor(*theme.hex_rgb(theme.VERDICT_COLORS["ANOMALY"]), 150), Qt.BDiagPattern)
        self._brushes["NO HAND"] = QBrush(QColor(*theme.hex_rgb(theme.VERDICT_COLORS["NO HAND"]), 140), Qt.Dense5Pattern)
        # and in words: a label on each band wide enough for it (a small pool of text items)
        self._band_labels: list[pg.TextItem] = []
        self._t0: float | None = None
        self._last_t: float | None = None
        n = self._max_points = max_points
        self.t: deque[float] = deque(maxlen=n)
        self.raw: deque[float] = deque(maxlen=n)
        self.smooth: deque[float] = deque(maxlen=n)
        self.verdicts: deque[str] = deque(maxlen=n)
        self.indices: deque[int] = deque(maxlen=n)
        self.screened: deque[float] = deque(maxlen=n)
        self.screened_verdicts: deque[str] = deque(maxlen=n)
        self._comparing = False  # points carry a recorded result beside the new one
        self.history = False  # see set_history_mode
        self._fps = 30.0
        self._hist: dict[int, list] = {}  # frame -> [raw, smoothed, verdict, as screened, its verdict]
        self.cursor_index: int | None = None
        self.cursor = pg.InfiniteLine(pos=0.0, angle=90, movable=False, pen=pg.mkPen(theme.TEXT, width=1))
        self.cursor.setZValue(6)
        self.cursor.setVisible(False)
        pi.addItem(self.cursor, ignoreBounds=True)
        self._dirty = False

    # -- data -----------------------------------------------------------------------------------
    def reset(self) -> None:
        self._t0 = self._last_t = None
        for d in (self.t, self.raw, self.smooth, self.verdicts, self.indices, self.screened, self.screened_verdicts):
            d.clear()
        self._hist.clear()
        self.cursor_index = None
        self._set_comparing(False)
        self._dirty = True
        self.redraw()

    # -- a recording's history ----------------------------------------------------------------------
    def set_history_mode(self, on: bool, fps: float = 30.0) -> None:
        """A recording (seekable): the plot keeps every frame's score and verdict as first
        computed, by frame number (x = frame / fps), whatever the seeks and steps; the view
        follows a cursor on the frame on show. Live: the newest ``window_s`` seconds."""
        self.history = bool(on)
        self._fps = float(fps) if fps and fps > 0 else 30.0
        self.cursor.setVisible(self.history)
        self.reset()
        n = None if self.history else self._max_points  # a recording's history is kept whole
        self.t, self.raw, self.smooth, self.verdicts, self.indices, self.screened, self.screened_verdicts = (
            deque(maxlen=n) for _ in range(7))

    def set_cursor(self, index: int | None) -> None:
        if not self.history or index is None or index == self.cursor_index:
            return
        self.cursor_index = int(index)
        self.cursor.setValue(self.cursor_index / self._fps)
        self._dirty = True

    def recorded_at(self, index: int) -> tuple[float, float, str] | None:
        """(raw, smoothed, verdict) the frame had when first scored, in history mode."""
        h = self._hist.get(int(index)) if self.history else None
        return None if h is None else (h[0], h[1], h[2])

    def _add_history(self, points) -> None:
        rebuild = False
        for p in points:
            idx = int(p.index)
            if idx in self._hist:  # scored again after a seek: the first, continuous result stays
                continue
            was = getattr(p, "as_screened_verdict", "")
            row = [math.nan if p.raw is None else float(p.raw), math.nan if p.smoothed is None else float(p.smoothed),
                   p.verdict or "PENDING", math.nan if getattr(p, "as_screened", None) is None else float(p.as_screened),
                   was]
            self._hist[idx] = row
            if was and not self._comparing:
                self._set_comparing(True)
            if not rebuild and (not self.indices or idx > self.indices[-1]):  # the usual case: play on
                self.t.append(idx / self._fps)
                self.indices.append(idx)
                for d, v in zip((self.raw, self.smooth, self.verdicts, self.screened, self.screened_verdicts), row):
                    d.append(v)
            else:  # after a seek back: the frame goes between others, the columns are sorted again
                rebuild = True
            self._dirty = True
        if rebuild:
            keys = sorted(self._hist)
            cols = list(zip(*(self._hist[k] for k in keys)))
            self.t, self.indices = deque(k / self._fps for k in keys), deque(keys)
            self.raw, self.smooth, self.verdicts, self.screened, self.screened_verdicts = (deque(c) for c in cols)
        self._t0 = 0.0

    def add_points(self, points) -> None:
        """Append ScorePoints (see app.controller); call ``redraw`` once per display tick."""
        if self.history:
            self._add_history(points)
            return
        for p in points:
            if self._last_t is not None and p.t_s < self._last_t - 1e-9:
                self.reset()  # time went backwards: a seek, a loop, another source
            if self._t0 is None:
                self._t0 = p.t_s
            self._last_t = p.t_s
            self.t.append(p.t_s - self._t0)
            self.raw.append(math.nan if p.raw is None else float(p.raw))
            self.smooth.append(math.nan if p.smoothed is None else float(p.smoothed))
            self.verdicts.append(p.verdict or "PENDING")
            self.indices.append(int(p.index))
            was = getattr(p, "as_screened_verdict", "")
            self.screened.append(math.nan if getattr(p, "as_screened", None) is None else float(p.as_screened))
            self.screened_verdicts.append(was)
            if was and not self._comparing:
                self._set_comparing(True)
            self._dirty = True

    def _set_comparing(self, on: bool) -> None:
        """The legend names the recorded line and strip only while they are drawn."""
        if on == self._comparing and on == getattr(self, "_legend_comparing", None):
            return
        self._comparing = self._legend_comparing = on
        extra = (f'&nbsp;&nbsp;&nbsp;<span style="color:{theme.SCREENED_PEN}">╌ as screened (smoothed; '
                 'lower strip: its verdicts)</span>') if on else ""
        self.getPlotItem().setTitle(self._title + extra, size="9pt")

    def x_of(self, t_s: float | None) -> float | None:
        """The plot's x of a point time (the tracker's clock); None before the first point."""
        return None if self._t0 is None or t_s is None else float(t_s) - self._t0

    def set_attempts(self, attempts: list[tuple[float, float, str]]) -> None:
        """Mark attempt windows (start and end, seconds from the first frame) with a label,
        e.g. a replayed screening's; an empty list removes them."""
        pi = self.getPlotItem()
        for item in getattr(self, "_attempt_items", []):
            pi.removeItem(item)
        self._attempt_items = []
        for start, end, label in attempts:
            region = pg.LinearRegionItem((float(start), float(end)), movable=False,
                                         brush=pg.mkBrush(QColor(*theme.hex_rgb(theme.ACCENT), 40)),
                                         pen=pg.mkPen(theme.ACCENT, width=1))
            region.setZValue(-5)
            text = pg.TextItem(label, color=theme.ACCENT, anchor=(0, 0))
            text.setPos(float(start), self.vb.viewRange()[1][1])
            pi.addItem(region, ignoreBounds=True)
            pi.addItem(text, ignoreBounds=True)
            self._attempt_items += [region, text]
        self.attempt_labels = [label for _, _, label in attempts]

    def recompute_verdicts(self, settings) -> None:
        """The verdict bands as the verdict tracker (core.runtime.verdict) gives them for
        these scores at ``settings`` (a new threshold): the plot's history follows it."""
        from dataclasses import replace

        from core.runtime.verdict import VerdictTracker

        tr = VerdictTracker(replace(settings))
        out = [str(tr.update(t, None if math.isnan(r) else r).verdict.value) for t, r in zip(self.t, self.raw)]
        self.verdicts = deque(out, maxlen=self.verdicts.maxlen)
        if self.history:
            for idx, v in zip(self.indices, out):
                self._hist[idx][2] = v
        self._dirty = True

    def set_threshold(self, value: float) -> None:
        if not self.threshold_line.moving:
            self.threshold_line.setValue(float(value))
        self._dirty = True

    def _view(self) -> tuple[float, float]:
        """The x range on show: the newest ``window_s`` seconds, or, for a recording, the
        window around the cursor."""
        if self.history:
            c = self.cursor_index / self._fps if self.cursor_index is not None else (self.t[-1] if self.t else 0.0)
            lo = max(0.0, c - 0.75 * self.window_s)
            return lo, lo + self.window_s
        hi = self.t[-1] if self.t else 0.0
        return max(0.0, hi - self.window_s), max(self.window_s, hi)

    def visible_slice(self) -> slice:
        """The points within the view."""
        if not self.t:
            return slice(0, 0)
        t = np.fromiter(self.t, float, len(self.t))
        lo, hi = self._view()
        return slice(int(np.searchsorted(t, lo, side="left")), int(np.searchsorted(t, hi, side="right")))

    def plotted_raw(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of the raw score curve as drawn (NaN where there was no hand)."""
        x, y = self.raw_curve.getData()
        return (np.array([]), np.array([])) if x is None else (np.asarray(x), np.asarray(y))

    def redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        sl = self.visible_slice()
        t = np.fromiter(self.t, float, len(self.t))[sl]
        raw = np.fromiter(self.raw, float, len(self.raw))[sl]
        sm = np.fromiter(self.smooth, float, len(self.smooth))[sl]
        self.raw_curve.setData(t, raw, connect="finite")
        self.smooth_curve.setData(t, sm, connect="finite")
        was = np.fromiter(self.screened, float, len(self.screened))[sl] if self._comparing else np.array([])
        self.screened_curve.setData(t if self._comparing else [], was, connect="finite")
        lo_x, hi_x = self._view() if (t.size or self.history) else (0.0, self.window_s)
        self.vb.setXRange(lo_x, hi_x, padding=0.01)
        lo, hi = self._y_range(raw, sm if not was.size else np.concatenate([sm, was]))
        self.vb.setYRange(lo, hi, padding=0)
        if self._comparing:  # the new verdicts above, the recorded ones in a strip below
            strip = lo + 0.1 * (hi - lo)
            self._draw_bands(t, list(self.verdicts)[sl], strip, hi)
            self._draw_bands(t, list(self.screened_verdicts)[sl], lo, strip, self.screened_bands)
        else:
            self._draw_bands(t, list(self.verdicts)[sl], lo, hi)
            self.screened_bands.setOpts(x0=[], x1=[], y0=[], y1=[], brushes=None)
        for item in getattr(self, "_attempt_items", [])[1::2]:  # the labels stay at the top
            item.setPos(item.pos().x(), hi)

    def _y_range(self, raw: np.ndarray, sm: np.ndarray) -> tuple[float, float]:
        """The visible scores and the threshold, with a margin."""
        vals = np.concatenate([raw[np.isfinite(raw)], sm[np.isfinite(sm)], [float(self.threshold_line.value())]])
        lo, hi = float(vals.min()), float(vals.max())
        span = max(hi - lo, 0.1)
        return lo - 0.12 * span, hi + 0.12 * span

    def _draw_bands(self, t: np.ndarray, verdicts: list[str], lo: float, hi: float,
                    item: pg.BarGraphItem | None = None) -> None:
        item = self.bands if item is None else item
        if t.size == 0:
            item.setOpts(x0=[], x1=[], y0=[], y1=[], brushes=None)
            return
        x0s, x1s, brushes = [], [], []
        start = 0
        for i in range(1, len(verdicts) + 1):
            if i == len(verdicts) or verdicts[i] != verdicts[start]:
                end_t = t[i] if i < len(verdicts) else t[-1] + (t[-1] - t[-2] if len(t) > 1 else 0.033)
                x0s.append(t[start])
                x1s.append(end_t)
                brushes.append(self._brushes.get(verdicts[start], self._brushes["PENDING"]))
                start = i
        n = len(x0s)
        item.setOpts(x0=x0s, x1=x1s, y0=[lo] * n, y1=[hi] * n, brushes=brushes)
        if item is self.bands:
            self._label_bands(x0s, x1s, self._run_verdicts(verdicts), lo)

    @staticmethod
    def _run_verdicts(verdicts: list[str]) -> list[str]:
        return [v for i, v in enumerate(verdicts) if i == 0 or v != verdicts[i - 1]]

    def _label_bands(self, x0s: list[float], x1s: list[float], names: list[str], bottom: float) -> None:
        """The verdict's name at the foot of every band at least 1.5 s wide (the newest 12)."""
        pi = self.getPlotItem()
        wide = [(a, b, v) for a, b, v in zip(x0s, x1s, names) if b - a >= 1.5 and v not in ("", "PENDING")][-12:]
        while len(self._band_labels) < len(wide):
            t = pg.TextItem("", color=theme.TEXT_DIM, anchor=(0, 1))
            t.setZValue(-4)
            pi.addItem(t, ignoreBounds=True)
            self._band_labels.append(t)
        for i, t in enumerate(self._band_labels):
            if i < len(wide):
                a, _, v = wide[i]
                t.setText(v)
                t.setPos(a, bottom)
                t.show()
            else:
                t.hide()
        self.band_label_texts = [v for _, _, v in wide]
