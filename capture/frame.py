"""The depth frame handed from sources to the scorer and the recorder."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from capture.errors import BadFrame


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics of the depth camera, in pixels of the depth image.

    ``distortion`` is optional and in OpenCV order (k1, k2, p1, p2, k3, k4, k5, k6).
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    distortion: tuple[float, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "fx": float(self.fx),
            "fy": float(self.fy),
            "cx": float(self.cx),
            "cy": float(self.cy),
            "width": int(self.width),
            "height": int(self.height),
        }
        if self.distortion is not None:
            d["distortion"] = [float(v) for v in self.distortion]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "Intrinsics | None":
        if d is None:
            return None
        dist = d.get("distortion")
        return cls(
            fx=float(d["fx"]),
            fy=float(d["fy"]),
            cx=float(d["cx"]),
            cy=float(d["cy"]),
            width=int(d["width"]),
            height=int(d["height"]),
            distortion=None if dist is None else tuple(float(v) for v in dist),
        )


@dataclass
class DepthFrame:
    """One depth image with its unit, timestamps and intrinsics.

    ``depth`` holds raw sensor units (uint16, 0 = no reading); multiply by ``unit_mm`` for
    millimetres. Treat the array as read-only: the same frame goes to the scorer and the
    recorder without a copy.
    """

    depth: np.ndarray
    unit_mm: float = 1.0
    index: int = 0
    device_ts_us: int | None = None
    host_ts_ns: int = field(default_factory=time.monotonic_ns)
    intrinsics: Intrinsics | None = None

    def __post_init__(self) -> None:
        d = self.depth
        if not isinstance(d, np.ndarray):
            raise BadFrame(f"depth frame must be a numpy array, got {type(d).__name__}")
        if d.dtype != np.uint16:
            raise BadFrame(f"depth frame must be uint16 (raw sensor units), got {d.dtype}")
        if d.ndim != 2:
            raise BadFrame(f"depth frame must be 2-D (H x W), got shape {d.shape}")
        if not (self.unit_mm > 0):
            raise BadFrame(f"depth unit must be a positive number of millimetres, got {self.unit_mm}")

    @property
    def height(self) -> int:
        return int(self.depth.shape[0])

    @property
    def width(self) -> int:
        return int(self.depth.shape[1])

    def depth_mm(self) -> np.ndarray:
        """Depth as float32 millimetres; holes (0) stay 0."""
        out = self.depth.astype(np.float32)
        if self.unit_mm != 1.0:
            out *= np.float32(self.unit_mm)
        return out
