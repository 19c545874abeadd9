"""A simple hand crop for looking at and checking synthetic frames.

Not the app's preprocessing (that lives with the models): the nearest surface is found
robustly, the pixels within ``band_mm`` of it are taken as the hands, and a square
around their centre is cut out with depth made relative to the nearest surface.
"""

from __future__ import annotations

import cv2
import numpy as np


def nearest_depth_mm(depth: np.ndarray, min_pixels: int = 60) -> float:
    """Depth of the nearest *large* surface: the ``min_pixels``-th smallest valid depth."""
    v = depth[depth > 0]
    if v.size == 0:
        return 0.0
    k = min(min_pixels, v.size - 1)
    return float(np.partition(v, k)[k])


def hand_crop(depth: np.ndarray, size: int = 128, band_mm: float = 200.0, side_px: int | None = None,
              centre_band_mm: float = 80.0) -> np.ndarray:
    """float32 ``size`` x ``size`` crop around the nearest surface, 0 = nearest, 1 = ``band_mm`` or more behind.

    ``side_px`` is the side of the square cut from the frame before resizing (default:
    ``size``, no resizing). The square is centred on the pixels within ``centre_band_mm``
    of the nearest surface. Holes and far pixels are 1.
    """
    side = int(side_px or size)
    near = nearest_depth_mm(depth)
    d = depth.astype(np.float32)
    mask = (depth > 0) & (d < near + min(band_mm, centre_band_mm))  # the hands, not the knees or body
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        cy, cx = depth.shape[0] / 2.0, depth.shape[1] / 2.0
    else:
        cy, cx = float(np.median(ys)), float(np.median(xs))
    y0, x0 = int(round(cy - side / 2)), int(round(cx - side / 2))
    rel = np.where(depth > 0, np.clip((d - near) / band_mm, 0.0, 1.0), 1.0).astype(np.float32)
    out = np.ones((side, side), np.float32)
    h, w = depth.shape
    sy0, sx0 = max(y0, 0), max(x0, 0)
    sy1, sx1 = min(y0 + side, h), min(x0 + side, w)
    if sy1 > sy0 and sx1 > sx0:
        out[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = rel[sy0:sy1, sx0:sx1]
    if side != size:
        out = cv2.resize(out, (size, size), interpolation=cv2.INTER_AREA)
    return out


def metric_hand_crop(depth: np.ndarray, size: int = 64, width_mm: float = 400.0, fx: float = 252.0,
                     band_mm: float = 200.0) -> np.ndarray:
    """:func:`hand_crop` of a fixed physical width (``width_mm`` at the nearest surface)."""
    near = max(nearest_depth_mm(depth), 1.0)
    return hand_crop(depth, size, band_mm, side_px=max(8, int(round(fx * width_mm / near))))


def crop_descriptors(crop: np.ndarray) -> dict[str, float]:
    """Simple shape measures of a hand crop (0 = nearest surface, 1 = background).

    ``area``: share of the crop within 40 % of the band of the nearest surface (the hands);
    ``front``: share within 10 % (flat surfaces facing the camera, e.g. backs of hands);
    ``solidity``: hand area / convex hull area (low for spread fingers);
    ``aspect``: width / height of the hand region; ``depth``: mean relative depth of the hands.
    """
    hand = crop < 0.4
    area = float(hand.mean())
    out = {"area": area, "front": float((crop < 0.1).mean()), "solidity": 0.0, "aspect": 0.0, "depth": 1.0}
    ys, xs = np.nonzero(hand)
    if ys.size >= 3:
        pts = np.stack([xs, ys], axis=1).astype(np.int32)
        hull = cv2.convexHull(pts)
        out["solidity"] = float(hand.sum() / max(cv2.contourArea(hull) + 0.5 * cv2.arcLength(hull, True), 1.0))
        out["aspect"] = float((np.ptp(xs) + 1) / (np.ptp(ys) + 1))
        out["depth"] = float(crop[hand].mean())
    return out
