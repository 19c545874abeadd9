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
        self._wall = (1200.0 + 0.1 * self._xx + 0.05 * self._yy).astype(np.float32)
        # Sensor noise and holes: one field each, twice the frame in size, drawn once from
        # the seed; frame i reads a window at an offset drawn from (seed, i). Drawing 370k
        # normal values per frame took ~10 ms, a third of the frame time at 30 fps.
        field_rng = np.random.default_rng([self.seed, 0x5E45])
        self._noise = field_rng.standard_normal(size=(2 * height, 2 * width), dtype=np.float32)
        self._holes = field_rng.random(size=(2 * height, 2 * width), dtype=np.float32) < 0.02

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
        """A tilted wall at ~1.2 m, a disc and a box moving at ~0.6-0.8 m, noise, holes.

        Noise and holes are windows of fields drawn once, and the disc is tested inside
        its bounding box only: about 1 ms a frame at 640x576, so a live 30 fps stream
        leaves the CPU to scoring."""
        h, w, t = self.height, self.width, index / self.fps
        mm = self._wall.copy()
        cx = w * (0.5 + 0.3 * math.sin(2 * math.pi * 0.25 * t))
        cy = h * (0.5 + 0.2 * math.cos(2 * math.pi * 0.25 * t))
        r = 0.12 * min(w, h)
        x0, x1 = max(0, int(cx - r) - 1), min(w, int(cx + r) + 2)
        y0, y1 = max(0, int(cy - r) - 1), min(h, int(cy + r) + 2)
        if x1 > x0 and y1 > y0:
            xs, ys = self._xx[y0:y1, x0:x1], self._yy[y0:y1, x0:x1]
            disc = (xs - cx) ** 2 + (ys - cy) ** 2 < r * r
            mm[y0:y1, x0:x1][disc] = 650.0
        bx = int(w * (0.2 + 0.15 * math.sin(2 * math.pi * 0.1 * t)))
        by, bw, bh = int(h * 0.15), max(1, w // 6), max(1, h // 5)
        mm[by : by + bh, bx : bx + bw] = 800.0
        oy, ox, hy, hx = (int(v) for v in rng.integers(0, (h, w, h, w)))
        if self.noise_mm > 0:
            mm += self._noise[oy : oy + h, ox : ox + w] * np.float32(self.noise_mm)
        mm[self._holes[hy : hy + h, hx : hx + w]] = 0.0  # sensor holes
        return np.clip(mm / np.float32(self.unit_mm), 0, 65535).astype(np.uint16)

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
