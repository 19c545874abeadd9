"""Overlay pictures of scored frames (``spader score --overlays/--video``).

One BGR picture per result: the depth frame in grey (near = bright), the Grad-CAM ROI as
a heat map inside the crop box, the box in the verdict's colour and a caption with the
score, plus the verdict as a label in its colour. The verdict colours are the window's
(core/runtime/palette.py), so a picture reads like the live view.
"""

from __future__ import annotations

import numpy as np

from core.errors import DataError
from core.runtime.palette import VERDICT_RGB, VERDICT_TEXT_RGB, RGB
from core.runtime.results import FrameResult
from core.runtime.verdict import VerdictState

NO_VERDICT_BGR = (230, 230, 230)  # the box of a frame drawn without a verdict tracker


def _bgr(rgb: RGB) -> tuple[int, int, int]:
    return rgb[2], rgb[1], rgb[0]


def _grey_depth(result: FrameResult, depth_range_mm: tuple[float, float] | None) -> np.ndarray:
    import cv2

    assert result.depth is not None
    mm = result.depth.astype(np.float32) * np.float32(result.unit_mm)
    valid = mm > 0
    if depth_range_mm is not None:
        lo, hi = depth_range_mm
    elif valid.any():
        lo, hi = (float(v) for v in np.percentile(mm[valid], (1, 99)))
    else:
        lo, hi = 0.0, 1.0
    norm = np.clip((mm - lo) / max(hi - lo, 1e-6), 0, 1)
    grey = np.where(valid, 255 * (1 - norm) * 0.85 + 20, 0).astype(np.uint8)
    return cv2.applyColorMap(grey, cv2.COLORMAP_BONE)


def _blend_cam(img: np.ndarray, result: FrameResult) -> np.ndarray:
    import cv2

    cam = result.frame_map("cam") if result.has_hand else None
    if cam is None or result.box is None:
        return img
    peak = float(cam.max())
    if peak <= 0:
        return img
    c = np.clip(cam / peak, 0, 1)
    heat = cv2.applyColorMap((c * 255).astype(np.uint8), cv2.COLORMAP_JET)
    alpha = (0.6 * c)[..., None]
    return (img * (1 - alpha) + heat * alpha).astype(np.uint8)


def render_overlay(
    result: FrameResult,
    state: VerdictState | None = None,
    depth_range_mm: tuple[float, float] | None = None,
) -> np.ndarray:
    """A BGR uint8 picture of one result (see the module doc); ``depth_range_mm`` fixes the
    grey scale (else the frame's 1st-99th percentile)."""
    import cv2

    if result.depth is None:
        raise DataError(f"frame {result.index}: the result carries no depth image to draw")
    img = _blend_cam(_grey_depth(result, depth_range_mm), result)
    verdict = state.verdict.value if state is not None else None
    colour = _bgr(VERDICT_RGB[verdict]) if verdict in VERDICT_RGB else NO_VERDICT_BGR
    if result.box is not None:
        x0, y0, x1, y1 = result.box
        cv2.rectangle(img, (int(x0), int(y0)), (int(x1) - 1, int(y1) - 1), colour, 2)
    h = img.shape[0]
    scale = max(0.4, h / 900)
    if result.has_hand:
        text = f"#{result.index}  SPADER {result.scores.get('spader', float('nan')):+.3f}"
        if state is not None and state.smoothed is not None:
            text += f"  smoothed {state.smoothed:+.3f}"
    else:
        text = f"#{result.index}  {result.reason or 'no hand'}"
    y = int(22 * scale / 0.5)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(img, text, (8, y), font, scale, (255, 255, 255), 1, cv2.LINE_AA)
    if verdict is not None:
        (tw, th), base = cv2.getTextSize(verdict, font, scale * 1.4, 2)
        top = y + 8
        cv2.rectangle(img, (4, top), (12 + tw, top + th + base + 8), colour, -1)
        text_colour = _bgr(VERDICT_TEXT_RGB.get(verdict, (255, 255, 255)))
        cv2.putText(img, verdict, (8, top + th + 4), font, scale * 1.4, text_colour, 2, cv2.LINE_AA)
    return img
