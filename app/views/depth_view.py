"""The depth image with a map overlay and the hand crop box, plus the small model views.

The depth frame is drawn as it comes from the sensor (uint16 raw units) through fixed
levels (near/far in millimetres, converted to raw units) and a 256-entry colour lookup
table, so a frame costs one table lookup and no float conversion. The overlay is a
second ImageItem holding the map at model resolution (e.g. 64 x 64), stretched over the
crop box with ``setRect``: the GUI never resamples maps to the full frame.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QLabel, QSizePolicy

from app import theme

OVERLAYS: dict[str, str] = {  # map name -> what the operator reads
    "none": "No overlay",
    "cam": "Grad-CAM",
    "loss": "Loss map",
    "weighted_loss": "Weighted loss",
}


class DepthView(pg.GraphicsView):
    def __init__(self, parent=None) -> None:
        super().__init__(parent, background=theme.PLOT_BG)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(320, 240)
        self.vb = pg.ViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
        self.vb.setDefaultPadding(0.0)
        self.setCentralItem(self.vb)
        self.depth_item = pg.ImageItem(axisOrder="row-major")
        self.depth_item.setLookupTable(theme.depth_lut())
        self.vb.addItem(self.depth_item)
        self.overlay_item = pg.ImageItem(axisOrder="row-major")
        self.overlay_item.setZValue(5)
        self.overlay_item.setVisible(False)
        self.vb.addItem(self.overlay_item)
        self.box_item = QGraphicsRectItem()
        pen = QPen(QColor("#e8ecf0"))
        pen.setCosmetic(True)
        pen.setWidthF(2.0)
        self.box_item.setPen(pen)
        self.box_item.setZValue(10)
        self.box_item.setVisible(False)
        self.vb.addItem(self.box_item)

        self.placeholder = QLabel("No source", self)
        self.placeholder.setAlignment(Qt.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 14pt; background: transparent;")
        self.legend = QLabel("", self)
        self.legend.setObjectName("caption")
        self.legend.setStyleSheet(
            f"color: {theme.TEXT}; background: rgba(21,24,28,170); padding: 2px 6px; border-radius: 3px;"
        )
        self.legend.setVisible(False)

        self.overlay_name = "cam"
        self.overlay_opacity = 0.6
        self.show_box = True
        self.near_mm, self.far_mm = 300.0, 1800.0
        self._shape: tuple[int, int] | None = None
        self._unit_mm = 1.0
        self._overlay_lut = theme.overlay_lut(self.overlay_name)
        self.overlay_item.setLookupTable(self._overlay_lut)
        self.overlay_item.setOpacity(self.overlay_opacity)
        self.frames_drawn = 0

    # -- settings ---------------------------------------------------------------------------
    def set_overlay(self, name: str) -> None:
        if name not in OVERLAYS:
            raise ValueError(f"unknown overlay {name!r}")
        self.overlay_name = name
        if name != "none":
            self._overlay_lut = theme.overlay_lut(name)
            self.overlay_item.setLookupTable(self._overlay_lut)
        self.overlay_item.setVisible(False)  # shown again with the next result
        self._update_legend()

    def set_opacity(self, opacity: float) -> None:
        self.overlay_opacity = float(min(1.0, max(0.0, opacity)))
        self.overlay_item.setOpacity(self.overlay_opacity)

    def set_show_box(self, show: bool) -> None:
        self.show_box = bool(show)
        if not show:
            self.box_item.setVisible(False)

    def set_depth_range(self, near_mm: float, far_mm: float) -> None:
        if far_mm <= near_mm:
            raise ValueError("the far depth must be beyond the near depth")
        self.near_mm, self.far_mm = float(near_mm), float(far_mm)

    def set_placeholder(self, text: str | None) -> None:
        self.placeholder.setText(text or "")
        self.placeholder.setVisible(bool(text))
        self._place_labels()

    # -- data -------------------------------------------------------------------------------
    def set_depth(self, depth: np.ndarray, unit_mm: float = 1.0) -> None:
        """Show one raw depth frame (uint16, H x W)."""
        u = float(unit_mm) or 1.0
        self.depth_item.setImage(depth, autoLevels=False, levels=(self.near_mm / u, self.far_mm / u))
        shape = (int(depth.shape[0]), int(depth.shape[1]))
        if shape != self._shape:
            self._shape = shape
            self.vb.setRange(QRectF(0, 0, shape[1], shape[0]), padding=0)
        self._unit_mm = u
        if self.placeholder.isVisible():
            self.set_placeholder(None)
        self.frames_drawn += 1

    def set_result(self, result, box_color: str | None = None) -> None:
        """Overlay the chosen map of a FrameResult over its crop box (hide both when the
        result has no hand or no such map)."""
        box = getattr(result, "box", None) if result is not None else None
        has = result is not None and result.has_hand and box is not None
        if has and self.show_box:
            x0, y0, x1, y1 = box
            self.box_item.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
            pen = self.box_item.pen()
            pen.setColor(QColor(box_color or "#e8ecf0"))
            self.box_item.setPen(pen)
            self.box_item.setVisible(True)
        else:
            self.box_item.setVisible(False)
        m = result.maps.get(self.overlay_name) if has and self.overlay_name != "none" else None
        if m is None:
            self.overlay_item.setVisible(False)
            return
        m = np.asarray(m, dtype=np.float32)
        hi = float(m.max()) if m.size else 0.0
        lo = min(0.0, float(m.min())) if m.size else 0.0
        self.overlay_item.setImage(m, autoLevels=False, levels=(lo, hi if hi > lo else lo + 1e-6))
        x0, y0, x1, y1 = box
        self.overlay_item.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.overlay_item.setVisible(True)

    def clear(self) -> None:
        self.depth_item.clear()
        self.overlay_item.setVisible(False)
        self.box_item.setVisible(False)
        self._shape = None

    # -- layout -------------------------------------------------------------------------------
    def _update_legend(self) -> None:
        if self.overlay_name == "none":
            self.legend.setVisible(False)
        else:
            self.legend.setText(f"overlay: {OVERLAYS[self.overlay_name]} (scaled to its maximum)")
            self.legend.adjustSize()
            self.legend.setVisible(True)
        self._place_labels()

    def _place_labels(self) -> None:
        if not hasattr(self, "legend"):
            return  # called by the base class before __init__ is done
        self.placeholder.setGeometry(0, 0, self.width(), self.height())
        self.legend.adjustSize()
        self.legend.move(8, self.height() - self.legend.height() - 8)

    def resizeEvent(self, ev) -> None:  # noqa: N802 - Qt name
        super().resizeEvent(ev)
        self._place_labels()


class CropView(pg.GraphicsLayoutWidget):
    """The model's input crop and its reconstruction, side by side, at model resolution."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground(theme.PLOT_BG)
        self.setMinimumSize(200, 110)
        self.ci.layout.setContentsMargins(2, 2, 2, 2)
        self.ci.layout.setSpacing(4)
        self.items: dict[str, pg.ImageItem] = {}
        for col, (name, title) in enumerate((("input", "model input"), ("recon", "reconstruction"))):
            self.addLabel(title, row=0, col=col, color=theme.TEXT_DIM, size="9pt")
            vb = self.addViewBox(row=1, col=col, lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
            vb.setDefaultPadding(0.0)
            item = pg.ImageItem(axisOrder="row-major")
            item.setLookupTable(theme.grey_lut())
            vb.addItem(item)
            self.items[name] = item

    def set_result(self, result) -> None:
        for name, item in self.items.items():
            m = None if result is None else result.maps.get(name)
            if m is None:
                item.clear()
            else:
                item.setImage(np.asarray(m, dtype=np.float32), autoLevels=False, levels=(0.0, 1.0))
