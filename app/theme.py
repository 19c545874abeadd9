"""A calm dark theme for a dim clinic room, and the colour lookup tables of the views.

Colours are muted (no pure white on black, no saturated backgrounds) except for the
verdict indicator, which must be readable from a few metres away. The verdict colours
(colour-blind safe) are defined in core/runtime/palette.py, shared with the overlay
pictures of ``spader score``.
"""

from __future__ import annotations

import numpy as np

from core.runtime.palette import VERDICT_RGB, VERDICT_TEXT_RGB, rgb_hex

# -- palette -------------------------------------------------------------------------------
BG = "#1b1f24"  # window background
PANEL = "#232830"  # panels, toolbars
PANEL_2 = "#2b313a"  # inputs, buttons
BORDER = "#3a414c"
TEXT = "#d8dde3"
TEXT_DIM = "#98a2ad"
ACCENT = "#5aa9e6"  # focus, selection
PLOT_BG = "#15181c"

# the verdicts' colours come from core (the overlays of `spader score` use the same ones)
VERDICT_COLORS: dict[str, str] = {k: rgb_hex(v) for k, v in VERDICT_RGB.items()}
VERDICT_TEXT_COLORS: dict[str, str] = {k: rgb_hex(v) for k, v in VERDICT_TEXT_RGB.items()}
BANNER_COLORS: dict[str, tuple[str, str]] = {  # level -> (background, text)
    "error": ("#8e2f24", "#fff3f0"),
    "warning": ("#8a6a14", "#fffaf0"),
    "info": ("#23507a", "#eef6ff"),
}
RAW_PEN = "#7d8a99"
SMOOTH_PEN = "#e8ecf0"
THRESHOLD_PEN = "#5aa9e6"
SCREENED_PEN = "#f0a35a"  # a re-scored screening: what was recorded when it was screened


def hex_rgb(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


# -- lookup tables -------------------------------------------------------------------------
def _ramp(stops: list[tuple[float, tuple[int, int, int]]], n: int = 256) -> np.ndarray:
    x = np.linspace(0.0, 1.0, n)
    pos = np.array([p for p, _ in stops])
    out = np.empty((n, 3), np.float64)
    for ch in range(3):
        out[:, ch] = np.interp(x, pos, [c[ch] for _, c in stops])
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def depth_lut() -> np.ndarray:
    """256 x 3 uint8: entry 0 (holes: depth 0, and anything nearer than the near level) is
    black; then near = pale, far = dark slate, so the hands in front stand out."""
    lut = _ramp([(0.0, (236, 231, 220)), (0.35, (150, 164, 178)), (0.7, (62, 76, 96)), (1.0, (24, 30, 40))])
    lut[0] = (0, 0, 0)
    return lut


def overlay_lut(name: str) -> np.ndarray:
    """256 x 4 uint8 (RGBA) for a map overlay: low values transparent, high values opaque.

    Grad-CAM: a heat map (dark red -> orange -> pale yellow); loss: cyan; weighted loss:
    magenta. Different hues tell the overlays apart at a glance."""
    stops = {
        "cam": [(0.0, (90, 10, 30)), (0.4, (200, 50, 40)), (0.75, (245, 150, 40)), (1.0, (255, 240, 170))],
        "loss": [(0.0, (10, 40, 90)), (0.5, (30, 150, 200)), (1.0, (200, 250, 255))],
        "weighted_loss": [(0.0, (60, 10, 80)), (0.5, (190, 50, 190)), (1.0, (255, 200, 255))],
    }.get(name) or [(0.0, (0, 0, 0)), (1.0, (255, 255, 255))]
    rgb = _ramp(stops)
    alpha = np.clip(np.linspace(0.0, 1.4, 256), 0, 1) ** 0.8 * 255
    alpha[:8] = 0  # the weakest values do not tint the depth image at all
    return np.concatenate([rgb, alpha.astype(np.uint8)[:, None]], axis=1)


def grey_lut() -> np.ndarray:
    """256 x 3 uint8 grey ramp for the model input and reconstruction (in [0, 1])."""
    g = np.arange(256, dtype=np.uint8)
    return np.stack([g, g, g], axis=1)


# -- Qt --------------------------------------------------------------------------------------
STYLESHEET = f"""
QMainWindow, QDialog {{ background: {BG}; }}
QWidget {{ color: {TEXT}; font-size: 10pt; }}
QToolBar {{ background: {PANEL}; border: none; border-bottom: 1px solid {BORDER}; spacing: 6px; padding: 3px; }}
QStatusBar {{ background: {PANEL}; border-top: 1px solid {BORDER}; color: {TEXT_DIM}; }}
QStatusBar QLabel {{ color: {TEXT_DIM}; padding: 0 6px; }}
QMenuBar {{ background: {PANEL}; }}
QMenuBar::item:selected, QMenu::item:selected {{ background: {PANEL_2}; }}
QMenu {{ background: {PANEL}; border: 1px solid {BORDER}; }}
QMenu::item:disabled {{ color: #6b7480; }}
QGroupBox {{ border: 1px solid {BORDER}; border-radius: 6px; margin-top: 14px; padding: 6px 6px 4px 6px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; padding: 0 4px; color: {TEXT_DIM}; }}
QPushButton, QToolButton {{ background: {PANEL_2}; border: 1px solid {BORDER}; border-radius: 4px; padding: 4px 10px; }}
QPushButton:hover, QToolButton:hover {{ border-color: {ACCENT}; }}
QPushButton:checked, QToolButton:checked {{ background: #34506b; border-color: {ACCENT}; }}
QPushButton:disabled, QToolButton:disabled {{ color: #6b7480; }}
QToolButton#record:checked {{ background: #8e2f24; border-color: #d9603b; }}
QComboBox, QDoubleSpinBox, QSpinBox, QLineEdit {{ background: {PANEL_2}; border: 1px solid {BORDER}; border-radius: 4px; padding: 2px 6px; }}
QComboBox:focus, QDoubleSpinBox:focus, QSpinBox:focus, QLineEdit:focus {{ border-color: {ACCENT}; }}
QComboBox QAbstractItemView {{ background: {PANEL}; selection-background-color: {PANEL_2}; }}
QSlider::groove:horizontal {{ height: 4px; background: {BORDER}; border-radius: 2px; }}
QSlider::handle:horizontal {{ width: 14px; margin: -6px 0; border-radius: 7px; background: {ACCENT}; }}
QSlider::sub-page:horizontal {{ background: #3d6f99; border-radius: 2px; }}
QSplitter::handle {{ background: {BG}; }}
QLabel#dim {{ color: {TEXT_DIM}; }}
QLabel#caption {{ color: {TEXT_DIM}; font-size: 9pt; }}
QFrame#panel {{ background: {PANEL}; border: 1px solid {BORDER}; border-radius: 6px; }}
QCheckBox::indicator {{ width: 14px; height: 14px; }}
"""


def apply_theme(app) -> None:  # app: QApplication
    """Fusion style, a dark palette and the stylesheet; pyqtgraph's defaults to match."""
    from PySide6.QtGui import QColor, QPalette

    import pyqtgraph as pg

    app.setStyle("Fusion")
    pal = QPalette()
    roles = {
        QPalette.Window: BG,
        QPalette.WindowText: TEXT,
        QPalette.Base: PANEL_2,
        QPalette.AlternateBase: PANEL,
        QPalette.ToolTipBase: PANEL,
        QPalette.ToolTipText: TEXT,
        QPalette.Text: TEXT,
        QPalette.Button: PANEL_2,
        QPalette.ButtonText: TEXT,
        QPalette.BrightText: "#ffffff",
        QPalette.Highlight: ACCENT,
        QPalette.HighlightedText: "#0d1117",
        QPalette.PlaceholderText: TEXT_DIM,
    }
    for role, color in roles.items():
        pal.setColor(role, QColor(color))
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        pal.setColor(QPalette.Disabled, role, QColor("#6b7480"))
    app.setPalette(pal)
    app.setStyleSheet(STYLESHEET)
    configure_pyqtgraph()


def configure_pyqtgraph() -> None:
    import pyqtgraph as pg

    pg.setConfigOptions(imageAxisOrder="row-major", background=PLOT_BG, foreground=TEXT_DIM, antialias=False)
