"""Pre-made frames replayed from memory (no decoding cost): what the benchmarks feed."""

from __future__ import annotations

import time

from capture.frame import DepthFrame
from capture.sources.base import EndOfStream, FrameSource, SourceInfo


class MemorySource(FrameSource):
    """``count`` frames cycling through ``frames``, returned at once (pace it with ``Paced``).

    Without ``fps`` the frames are returned as they are. With ``fps`` each one is a fresh
    frame: index i, the device time of frame i at ``fps`` and the host time of its read."""

    def __init__(self, frames: list[DepthFrame], count: int, fps: float | None = None) -> None:
        super().__init__()
        if not frames:
            raise ValueError("a memory source needs at least one frame")
        self.frames, self.count, self.fps, self.i = frames, count, fps, 0

    def _open(self) -> None:
        self.i = 0

    def _close(self) -> None:
        pass

    @property
    def info(self) -> SourceInfo:
        if self.fps is None:
            return SourceInfo(sensor="memory", frame_count=self.count)
        f = self.frames[0]
        return SourceInfo(sensor="memory", fps=self.fps, width=f.width, height=f.height, frame_count=self.count)

    def read(self, timeout_s: float = 0.1) -> DepthFrame | None:
        if self.i >= self.count:
            raise EndOfStream
        f = self.frames[self.i % len(self.frames)]
        if self.fps is not None:
            f = DepthFrame(f.depth, f.unit_mm, self.i, round(self.i * 1e6 / self.fps), time.monotonic_ns(), f.intrinsics)
        self.i += 1
        return f
