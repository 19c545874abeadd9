"""Replay of the app's own sessions (wrap in ``Paced`` for real-time playback)."""

from __future__ import annotations

import dataclasses
import os
import time

from capture.errors import CaptureError
from capture.frame import DepthFrame
from capture.session.reader import SessionReader
from capture.sources.base import EndOfStream, FrameSource, SourceInfo


class SessionSource(FrameSource):
    """Frames of a session in order. A damaged frame raises CorruptFile once (the next read
    goes on with the frame after it), like a bad image of an image folder."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = path
        self.reader: SessionReader | None = None
        self._pos = 0

    def _open(self) -> None:
        self.reader = SessionReader(self.path)
        if len(self.reader) == 0:
            raise CaptureError(f"session {self.path} has no frames")
        self._pos = 0

    def _close(self) -> None:
        self.reader = None

    def _r(self) -> SessionReader:
        if self.reader is None:
            raise CaptureError("session source is not open")
        return self.reader

    @property
    def info(self) -> SourceInfo:
        r = self._r()
        m = r.meta
        return SourceInfo(
            sensor=m.sensor,
            unit_mm=m.unit_mm,
            depth_mode=m.depth_mode,
            fps=m.fps,
            width=m.width,
            height=m.height,
            frame_count=len(r),
            duration_s=r.time_s(len(r) - 1) if len(r) else 0.0,
            can_seek=True,
            intrinsics=m.intrinsics,
            extra={"subject_id": m.subject_id, "settings": m.settings, "problems": list(r.problems)},
        )

    def seek(self, t_s: float) -> None:
        self._pos = self._r().position_at(t_s)

    def seek_index(self, index: int) -> None:
        """Seek to a position in the session (0 .. len-1)."""
        self._pos = max(0, min(int(index), len(self._r())))

    @property
    def position(self) -> int:
        return self._pos

    def read(self, timeout_s: float = 0.1) -> DepthFrame | None:
        r = self._r()
        if self._pos >= len(r):
            raise EndOfStream
        i = self._pos
        self._pos += 1  # a damaged frame is reported once; the next read moves on
        frame = r[i]
        return dataclasses.replace(frame, host_ts_ns=time.monotonic_ns())
