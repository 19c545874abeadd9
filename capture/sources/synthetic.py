"""Synthetic depth stream: moving shapes in front of a wall, for tests and demos.

Deterministic: frame ``i`` depends only on ``seed`` and ``i``, so seeking and looping
reproduce the same images. A different generator (e.g. the realistic two-hand pose
generator) plugs in through ``generator(index, rng) -> uint16 array``.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from capture.errors import BadFrame, CaptureError
from capture.frame import DepthFrame, Intrinsics
from capture.sources.base import EndOfStream, FrameSource, SourceInfo

FrameGenerator = Callable[[int, np.random.Generator], np.ndarray]


class SyntheticSource(FrameSource):
    def __init__(
        self,
        width: int = 640,
        height: int = 576,
        fps: float = 30.0,
        n_frames: int | None = None,
        seed: int = 0,
        generator: FrameGenerator | None = None,
        unit_mm: float = 1.0,
        noise_mm: float = 2.0,
        sensor: str = "synthetic",
    ) -> None:
        super().__init__()
        if width <= 0 or height <= 0 or fps <= 0:
            raise CaptureError("synthetic source needs a positive width, height and fps")
        self.width, self.height, self.fps = int(width), int(height), float(fps)
        self.n_frames = n_frames
        self.seed = int(seed)
        self.generator = generator
        self.unit_mm = float(unit_mm)
        self.noise_mm = float(noise_mm)
        self._sensor = sensor
        self._next = 0
        f = 0.8 * max(width, height)
        self._intrinsics = Intrinsics(f, f, (width - 1) / 2, (height - 1) / 2, width, height)
        yy, xx = np.mgrid[0:height, 0:width]
        self._yy = yy.astype(np.float32)
        self._xx = xx.astype(np.float32)

    def _open(self) -> None:
        self._next = 0

    def _close(self) -> None:
        pass

    @property
    def info(self) -> SourceInfo:
        n = self.n_frames
        return SourceInfo(
            sensor=self._sensor,
            unit_mm=self.unit_mm,
            depth_mode=f"{self.width}x{self.height}",
            fps=self.fps,
            width=self.width,
            height=self.height,
            frame_count=n,
            duration_s=None if n is None else n / self.fps,
            can_seek=True,
            intrinsics=self._intrinsics,
        )

    def seek(self, t_s: float) -> None:
        self._next = max(0, math.ceil(t_s * self.fps - 1e-9))

    def seek_index(self, index: int) -> None:
        self._next = max(0, int(index))

    def moving_shapes(self, index: int, rng: np.random.Generator) -> np.ndarray:
        """A tilted wall at ~1.2 m, a disc and a box moving at ~0.6-0.8 m, noise, holes."""
        h, w, t = self.height, self.width, index / self.fps
        mm = 1200.0 + 0.1 * self._xx + 0.05 * self._yy
        cx = w * (0.5 + 0.3 * math.sin(2 * math.pi * 0.25 * t))
        cy = h * (0.5 + 0.2 * math.cos(2 * math.pi * 0.25 * t))
        r = 0.12 * min(w, h)
        disc = (self._xx - cx) ** 2 + (self._yy - cy) ** 2 < r * r
        mm[disc] = 650.0
        bx = int(w * (0.2 + 0.15 * math.sin(2 * math.pi * 0.1 * t)))
        by, bw, bh = int(h * 0.15), max(1, w // 6), max(1, h // 5)
        mm[by : by + bh, bx : bx + bw] = 800.0
        if self.noise_mm > 0:
            mm += rng.normal(0.0, self.noise_mm, size=mm.shape).astype(np.float32)
        mm[rng.random(size=mm.shape) < 0.02] = 0.0  # sensor holes
        return np.clip(mm / self.unit_mm, 0, 65535).astype(np.uint16)

    def read(self, timeout_s: float = 0.1) -> DepthFrame | None:
        i = self._next
        if self.n_frames is not None and i >= self.n_frames:
            raise EndOfStream
        rng = np.random.default_rng([self.seed, i])
        gen = self.generator or self.moving_shapes
        depth = gen(i, rng)
        if not isinstance(depth, np.ndarray) or depth.shape != (self.height, self.width):
            shape = getattr(depth, "shape", None)
            raise BadFrame(f"frame generator returned shape {shape}, expected {(self.height, self.width)}")
        self._next = i + 1
        return DepthFrame(
            depth=depth,
            unit_mm=self.unit_mm,
            index=i,
            device_ts_us=round(i * 1e6 / self.fps),
            intrinsics=self._intrinsics,
        )
