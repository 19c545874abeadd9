"""A time-of-flight sensor model (Azure Kinect-like) applied to an ideal render.

In order: flying pixels and holes at depth discontinuities (a pixel that straddles a
silhouette mixes foreground and background light: it is either invalidated or gets a
depth in between), holes on grazing surfaces (little light comes back), depth noise
whose sigma grows with the square of the distance and on oblique surfaces (a per-pixel
part and a smooth, spatially correlated part), random dropouts (more on hair), the
working range, the NFOV field-of-view mask (cut corners) and quantisation to the raw
unit. All randomness comes from the ``rng`` passed in, so a seeded generator gives
identical frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from capture.frame import Intrinsics
from core.data.synth.raycast import LABEL_HEAD, RenderBuffers


@dataclass(frozen=True)
class SensorModel:
    noise_mm_at_1m: float = 1.6  # sigma of the depth noise at 1 m, frontal surface
    correlated_share: float = 0.35  # part of the noise that is smooth over ~8 pixels
    grazing_cos_hole: float = 0.12  # |cos(incidence)| below this: always a hole
    grazing_cos_ok: float = 0.30  # above this: no grazing holes; in between: some
    edge_jump_mm: float = 40.0  # depth step within 3x3 pixels that marks a silhouette
    edge_hole_prob: float = 0.45  # silhouette pixel -> hole
    flying_prob: float = 0.30  # silhouette pixel -> depth mixed between fore and background
    dropout_prob: float = 0.001  # random isolated holes
    hair_dropout_prob: float = 0.04  # extra holes on the head (dark hair absorbs IR)
    min_mm: float = 500.0  # NFOV binned operating range
    max_mm: float = 5460.0
    fov_mask: bool = True  # NFOV: the corners of the image are outside the field of view
    unit_mm: float = 1.0  # raw unit (1 mm for Azure Kinect)


def noise_sigma_mm(depth_mm: np.ndarray | float, model: SensorModel, cos: np.ndarray | float = 1.0) -> np.ndarray:
    """The model's noise sigma (mm) at a depth and incidence cosine."""
    z = np.asarray(depth_mm, dtype=np.float64) / 1000.0
    obl = np.clip(1.0 / np.maximum(np.asarray(cos, dtype=np.float64), 1e-3) - 1.0, 0.0, 3.0)
    return model.noise_mm_at_1m * z * z * (1.0 + 0.6 * obl)


@lru_cache(maxsize=8)
def fov_mask(K: Intrinsics) -> np.ndarray:
    """True where the NFOV sensor has a field of view (an octagon: corners are cut)."""
    u = (np.arange(K.width) - K.cx) / (K.width / 2.0)
    v = (np.arange(K.height) - K.cy) / (K.height / 2.0)
    m = (np.abs(u)[None, :] + np.abs(v)[:, None]) <= 1.75
    m.setflags(write=False)
    return m


def apply_sensor(buf: RenderBuffers, K: Intrinsics, rng: np.random.Generator, model: SensorModel) -> np.ndarray:
    """Raw uint16 depth (units of ``model.unit_mm``, 0 = no reading) from an ideal render."""
    h, w = buf.depth.shape
    valid = np.isfinite(buf.depth)
    z = np.where(valid, buf.depth, 0.0).astype(np.float32)
    u = rng.random((4, h, w), dtype=np.float32)

    # silhouettes: holes and flying pixels
    far = np.where(valid, z, np.float32(20000.0))
    kernel = np.ones((3, 3), np.uint8)
    zmax = cv2.dilate(far, kernel)
    zmin = cv2.erode(far, kernel)
    edge = (zmax - zmin) > model.edge_jump_mm
    hole = edge & (u[0] < model.edge_hole_prob)
    fly = edge & ~hole & (u[0] < model.edge_hole_prob + model.flying_prob) & (zmax < 19000.0)
    z = np.where(fly, zmin + u[1] * (zmax - zmin), z)

    # grazing incidence
    cos = buf.cos.astype(np.float32)
    span = max(model.grazing_cos_ok - model.grazing_cos_hole, 1e-6)
    p_graze = np.clip((model.grazing_cos_ok - cos) / span, 0.0, 1.0)
    hole |= u[2] < p_graze

    # noise: sigma ~ z^2, larger on oblique surfaces
    zm = z * np.float32(0.001)
    obl = np.clip(np.float32(1.0) / np.maximum(np.where(fly, np.float32(1.0), cos), np.float32(1e-3)) - np.float32(1.0), 0.0, 3.0)
    sigma = np.float32(model.noise_mm_at_1m) * zm * zm * (np.float32(1.0) + np.float32(0.6) * obl)
    white = rng.standard_normal((h, w), dtype=np.float32)
    cs = model.correlated_share
    if cs > 0:
        coarse = rng.standard_normal((max(h // 8, 2), max(w // 8, 2)), dtype=np.float32)
        smooth = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR) * np.float32(1.6)
        noise = white * np.float32(np.sqrt(1.0 - cs * cs)) + smooth * np.float32(cs)
    else:
        noise = white
    z = z + sigma * noise

    # dropouts, hair, range, field of view
    p_drop = np.where(buf.label == LABEL_HEAD, model.hair_dropout_prob, model.dropout_prob)
    hole |= u[3] < p_drop
    hole |= ~valid | (z < model.min_mm) | (z > model.max_mm)
    if model.fov_mask:
        hole |= ~fov_mask(K)
    raw = np.rint(z / np.float32(model.unit_mm))
    raw[hole] = 0
    return np.clip(raw, 0, 65535).astype(np.uint16)
