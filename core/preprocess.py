"""Raw depth frame -> model input: the one preprocessing path.

Training, evaluation, batch re-scoring, the benchmark and the live worker all call
``preprocess_frame`` (or ``preprocess_depth`` on a millimetre image), so a frame gets the
same input everywhere.

Steps:
1. depth to millimetres; pixels outside the working range [near_mm, far_mm] and zeros
   (no reading) are holes;
2. the hands: in the pigeon test they are held in front of the body, so they are the
   nearest *large* object. The reference depth is a robust nearest depth (the k-th
   smallest valid depth, so flying pixels do not count); the pixels within ``seed_band_mm``
   of it, cleaned to connected components of a real size, are the hand region. With
   ``hand_search`` off, a fixed region of interest (``roi``, fractions of the frame; the
   whole frame by default) is used instead, e.g. for images that are already hand crops;
3. a square crop around the hand region: ``crop_mm`` wide at the hand's depth when the
   camera's focal length is known (frame intrinsics, else a Kinect-like default), so a hand
   has the same size in the crop at any distance; grown to hold the whole region plus a
   margin; shifted to lie inside the frame;
4. depth relative to the hands: 1 at the reference depth, falling linearly to 0 at
   ``band_mm`` behind it; holes and everything further back are 0. The subject's distance
   to the camera therefore does not change the input;
5. resized (area interpolation) to ``size`` x ``size``;
6. optionally smoothed with a Gaussian of ``smooth_px`` pixels (core.runtime.smoothing: sensor
   noise in the input would otherwise show up in the VAE's loss map).

``Preprocessed.box`` is the crop in frame pixels; ``map_to_frame`` puts any model-size map
back on the full frame for overlays. A frame with nothing in range, or nothing the size of
a hand, is "no hand" with a reason instead of an input made of noise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import cv2
import numpy as np

from capture.frame import DepthFrame
from core.runtime.smoothing import smooth_image

# Azure Kinect NFOV (binned or not): fx is about 0.79 x the image width.
DEFAULT_FX_PER_WIDTH = 0.7875


@dataclass(frozen=True)
class PreprocessConfig:
    size: int = 128  # model input side, pixels
    near_mm: float = 250.0  # working range: nearer readings are holes
    far_mm: float = 2000.0  # further readings are holes (the wall behind the subject)
    hand_search: bool = True  # False: use the fixed ``roi`` (whole frame by default)
    roi: tuple[float, float, float, float] | None = None  # (x0, y0, x1, y1) as fractions of the frame
    seed_band_mm: float = 120.0  # the hand region: within this of the nearest surface
    band_mm: float = 250.0  # depth range behind the hands mapped to 1 -> 0
    crop_mm: float | None = 420.0  # physical side of the crop at the hand's depth; None: from the region
    margin: float = 0.12  # added on each side of the hand region, share of its size
    min_hand_fraction: float = 0.0015  # a hand covers at least this share of the frame
    max_hand_fraction: float = 0.45  # a "hand" larger than this share is a wall or a body
    nearest_rank: float = 0.0004  # reference depth: this share of the valid pixels is nearer
    smooth_px: float = 0.0  # Gaussian smoothing of the model input, sigma in model pixels (0: off)

    def __post_init__(self) -> None:
        if int(self.size) < 8:
            raise ValueError(f"size must be at least 8, got {self.size}")
        if not (0 <= self.near_mm < self.far_mm):
            raise ValueError(f"working range must satisfy 0 <= near < far, got {self.near_mm}..{self.far_mm}")
        if self.band_mm <= 0 or self.seed_band_mm <= 0:
            raise ValueError("band_mm and seed_band_mm must be positive")
        if self.smooth_px < 0:
            raise ValueError(f"smooth_px must be >= 0, got {self.smooth_px}")
        if self.crop_mm is not None and self.crop_mm <= 0:
            raise ValueError("crop_mm must be positive or None")
        if self.roi is not None:
            x0, y0, x1, y1 = self.roi
            if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
                raise ValueError(f"roi must be fractions 0 <= x0 < x1 <= 1, 0 <= y0 < y1 <= 1, got {self.roi}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["roi"] is not None:
            d["roi"] = list(d["roi"])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "PreprocessConfig":
        """Build from ``to_dict`` output; unknown keys are an error (a newer file), missing ones default."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown preprocessing setting(s): {', '.join(unknown)}")
        kw = dict(d)
        if kw.get("roi") is not None:
            kw["roi"] = tuple(float(v) for v in kw["roi"])
        if "size" in kw:
            kw["size"] = int(kw["size"])
        return cls(**kw)


@dataclass
class Preprocessed:
    """The model input of one frame, or why there is none."""

    image: np.ndarray  # (size, size) float32 in [0, 1]; zeros when there is no hand
    has_hand: bool
    box: tuple[int, int, int, int] | None = None  # crop (x0, y0, x1, y1) in frame pixels, x1/y1 exclusive
    reason: str = ""  # why there is no hand ("" when there is one)
    ref_depth_mm: float | None = None  # the hands' reference (nearest) depth


def _no_hand(cfg: PreprocessConfig, reason: str, ref: float | None = None) -> Preprocessed:
    return Preprocessed(np.zeros((cfg.size, cfg.size), np.float32), False, None, reason, ref)


def _robust_nearest(values: np.ndarray, rank: float) -> float:
    k = int(min(values.size - 1, max(8, rank * values.size)))
    return float(np.partition(values, k)[k])


def _search_image(mm: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, int]:
    """The image the hand search runs on: at most ~320 px wide (speed) and median-filtered,
    so isolated flying pixels and speckle do not count as the nearest object."""
    step = max(1, int(mm.shape[1] // 320))
    small = np.where(valid[::step, ::step], mm[::step, ::step], np.float32(0.0))  # subsample first
    return cv2.medianBlur(np.ascontiguousarray(small, np.float32), 5), step


def _hand_region(mm: np.ndarray, valid: np.ndarray, cfg: PreprocessConfig):
    """(box (x0, y0, x1, y1) in frame pixels of the hand components, reference depth), or
    (reason, reference depth) when nothing hand-sized is in range."""
    small, step = _search_image(mm, valid)
    ok = small > 0
    n_px = small.size
    min_px = max(6, int(cfg.min_hand_fraction * n_px))
    ref = 0.0
    for _ in range(4):  # step past small near blobs (a sleeve's edge, a stray object)
        values = small[ok]
        if values.size < min_px:
            return "nothing hand-sized in the working range", (ref or None)
        ref = _robust_nearest(values, cfg.nearest_rank)
        mask = (ok & (small < ref + cfg.seed_band_mm)).astype(np.uint8)
        n, _labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        areas = stats[1:, cv2.CC_STAT_AREA]
        if n > 1 and int(areas.max()) >= min_px:
            break
        ok &= small >= ref + cfg.seed_band_mm
    else:
        return "nothing hand-sized in range", ref
    biggest = int(areas.max())
    keep = np.nonzero(areas >= max(min_px // 2, 0.2 * biggest))[0] + 1
    if areas[keep - 1].sum() > cfg.max_hand_fraction * n_px:
        return "the nearest object fills the view (a wall or a body, not hands)", ref
    x0 = int(stats[keep, cv2.CC_STAT_LEFT].min())
    y0 = int(stats[keep, cv2.CC_STAT_TOP].min())
    x1 = int((stats[keep, cv2.CC_STAT_LEFT] + stats[keep, cv2.CC_STAT_WIDTH]).max())
    y1 = int((stats[keep, cv2.CC_STAT_TOP] + stats[keep, cv2.CC_STAT_HEIGHT]).max())
    # the reference at full resolution: the robust nearest depth inside the hand region
    fx0, fy0, fx1, fy1 = x0 * step, y0 * step, min(x1 * step, mm.shape[1]), min(y1 * step, mm.shape[0])
    sub, sub_ok = mm[fy0:fy1, fx0:fx1], valid[fy0:fy1, fx0:fx1] & (mm[fy0:fy1, fx0:fx1] >= ref - 30.0)
    if sub_ok.sum() >= 8:
        ref = _robust_nearest(sub[sub_ok], 0.01)
    return (fx0, fy0, fx1, fy1), ref


def _square_box(region: tuple[int, int, int, int], side: float, h: int, w: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = region
    side = int(round(min(max(side, 8.0), h, w)))
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    bx = int(round(cx - side / 2.0))
    by = int(round(cy - side / 2.0))
    bx = min(max(bx, 0), w - side)
    by = min(max(by, 0), h - side)
    return bx, by, bx + side, by + side


def preprocess_depth(mm: np.ndarray, cfg: PreprocessConfig, fx: float | None = None) -> Preprocessed:
    """Preprocess a float32 millimetre image (0 = no reading). ``fx``: focal length in pixels."""
    if mm.ndim != 2 or mm.size == 0:
        raise ValueError(f"expected a 2-D depth image, got shape {mm.shape}")
    h, w = mm.shape
    valid = (mm >= max(cfg.near_mm, 1e-3)) & (mm <= cfg.far_mm)
    if np.count_nonzero(valid) < 8:
        return _no_hand(cfg, f"nothing in the working range {cfg.near_mm:.0f}-{cfg.far_mm:.0f} mm")

    if cfg.hand_search:
        region, ref = _hand_region(mm, valid, cfg)
        if isinstance(region, str):
            return _no_hand(cfg, region, ref)
        rw, rh = region[2] - region[0], region[3] - region[1]
        side = max(rw, rh) * (1.0 + 2.0 * cfg.margin)
        if cfg.crop_mm is not None:
            f = fx if fx and fx > 0 else DEFAULT_FX_PER_WIDTH * w
            side = max(side, f * cfg.crop_mm / ref)
        box = _square_box(region, side, h, w)
    else:
        if cfg.roi is None:
            box = (0, 0, w, h)
        else:
            fx0, fy0, fx1, fy1 = cfg.roi
            box = (int(fx0 * w), int(fy0 * h), max(int(round(fx1 * w)), int(fx0 * w) + 1),
                   max(int(round(fy1 * h)), int(fy0 * h) + 1))
        x0, y0, x1, y1 = box
        inside = valid[y0:y1, x0:x1]
        if int(inside.sum()) < max(8, int(cfg.min_hand_fraction * inside.size)):
            return _no_hand(cfg, "nothing in the working range inside the region of interest")
        ref = _robust_nearest(mm[y0:y1, x0:x1][inside], cfg.nearest_rank)

    x0, y0, x1, y1 = box
    crop = mm[y0:y1, x0:x1]
    ok = valid[y0:y1, x0:x1]
    rel = np.where(ok, np.clip(1.0 - (crop - np.float32(ref)) / np.float32(cfg.band_mm), 0.0, 1.0), 0.0)
    rel = rel.astype(np.float32, copy=False)
    if rel.shape != (cfg.size, cfg.size):
        interp = cv2.INTER_AREA if rel.shape[0] >= cfg.size else cv2.INTER_LINEAR
        rel = cv2.resize(rel, (cfg.size, cfg.size), interpolation=interp)
        np.clip(rel, 0.0, 1.0, out=rel)  # interpolation may overshoot by a rounding error
    if cfg.smooth_px > 0:
        rel = smooth_image(rel, cfg.smooth_px)
    return Preprocessed(np.ascontiguousarray(rel, np.float32), True, box, "", ref)


def preprocess_frame(frame: DepthFrame, cfg: PreprocessConfig) -> Preprocessed:
    """Preprocess a raw frame (any resolution, any unit)."""
    fx = frame.intrinsics.fx if frame.intrinsics is not None else None
    return preprocess_depth(frame.depth_mm(), cfg, fx)


def map_to_frame(m: np.ndarray, box: tuple[int, int, int, int], frame_shape: tuple[int, int]) -> np.ndarray:
    """A model-size map placed on the full frame through the crop box (0 outside it)."""
    h, w = int(frame_shape[0]), int(frame_shape[1])
    x0, y0, x1, y1 = (int(v) for v in box)
    out = np.zeros((h, w), np.float32)
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if cx1 <= cx0 or cy1 <= cy0:
        return out
    resized = cv2.resize(np.asarray(m, np.float32), (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    out[cy0:cy1, cx0:cx1] = resized[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
    return out
