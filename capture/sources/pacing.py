"""Playback pacing and looping, shared by every file-like source.

``Paced(source, speed=1.0, loop=True)`` delivers the inner source's frames at their
recorded timestamps (device timestamps, or ``index / fps`` when a stream has none),
scaled by ``speed`` (0.25 = quarter speed, 4 = four times faster); ``speed=None`` means
as fast as possible. Waiting is done in slices no longer than the read timeout, so a
stop request is seen promptly.

Every frame's device time passes a ``TimestampGuard`` first (capture/timestamps.py):
damaged times are repaired and reported as a TIMESTAMPS event and in ``problems``, so a
one-hour gap does not make playback wait an hour and a backward jump does not restart
the verdict. Seeks and loops reset the guard; they are not damage.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable

from capture.errors import CaptureError
from capture.events import EventKind
from capture.frame import DepthFrame
from capture.sources.base import EndOfStream, FrameSource, SourceInfo
from capture.timestamps import TimestampGuard

DEFAULT_FPS = 30.0


class Paced(FrameSource):
    def __init__(
        self,
        inner: FrameSource,
        speed: float | None = 1.0,
        loop: bool = False,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__()
        if speed is not None and not speed > 0:
            raise CaptureError(f"playback speed must be positive (e.g. 0.25 to 4), got {speed}")
        self.inner = inner
        self.speed = speed
        self.loop = loop
        self._clock = clock
        self._sleep = sleep
        self._pending: DepthFrame | None = None
        self._anchor: tuple[float, float] | None = None  # (wall s, media s)
        self.loops = 0
        self.timestamps = TimestampGuard()

    def _open(self) -> None:
        self.inner.open()
        self.timestamps = TimestampGuard(self.inner.info.fps)

    def _close(self) -> None:
        self._pending = None
        self.inner.close()

    @property
    def info(self) -> SourceInfo:
        return self.inner.info

    def poll_events(self):  # type: ignore[override]
        return self.inner.poll_events() + super().poll_events()

    @property
    def problems(self) -> list[str]:
        return self.inner.problems + self.timestamps.problems

    def resync(self) -> None:
        self._anchor = None

    def seek(self, t_s: float) -> None:
        self.inner.seek(t_s)
        self._pending = None
        self.timestamps.reset()
        self.resync()

    def seek_index(self, index: int) -> None:
        self.inner.seek_index(index)
        self._pending = None
        self.timestamps.reset()
        self.resync()

    def _media_time_s(self, frame: DepthFrame) -> float:
        if frame.device_ts_us is not None:
            return frame.device_ts_us / 1e6
        return frame.index / (self.inner.info.fps or DEFAULT_FPS)

    def _next_from_inner(self, timeout_s: float) -> DepthFrame | None:
        try:
            return self.inner.read(timeout_s)
        except EndOfStream:
            if not self.loop:
                raise
        self.inner.seek(0.0)
        self.timestamps.reset()
        self.resync()
        self.loops += 1
        self._emit(EventKind.LOOPED, f"restarted from the beginning (loop {self.loops})")
        return self.inner.read(timeout_s)  # EndOfStream again: an empty stream, so stop

    def read(self, timeout_s: float = 0.1) -> DepthFrame | None:
        if self._pending is None:
            frame = self._next_from_inner(timeout_s)
            if frame is None:
                return None
            self._pending, problem = self.timestamps.check(frame)
            if problem is not None:
                self._emit(EventKind.TIMESTAMPS, problem)
        frame = self._pending
        if self.speed is not None:
            now = self._clock()
            media = self._media_time_s(frame)
            if self._anchor is None or media < self._anchor[1]:
                self._anchor = (now, media)
            due = self._anchor[0] + (media - self._anchor[1]) / self.speed
            wait = due - now
            if wait > timeout_s:
                self._sleep(max(timeout_s, 0.0))
                return None
            if wait > 0:
                self._sleep(wait)
        self._pending = None
        return dataclasses.replace(frame, host_ts_ns=time.monotonic_ns())
