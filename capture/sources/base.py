"""The frame-source interface shared by cameras, files and generators.

A source is opened, read frame by frame, optionally seeked, and closed, all from one
thread. ``read`` never blocks longer than its timeout, so the capture thread notices a
stop request quickly. Status changes that are not errors (device lost, reconnected) are
queued as events and fetched with ``poll_events``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterator

from capture.errors import NotSeekable
from capture.events import CaptureEvent, EventKind
from capture.frame import DepthFrame, Intrinsics


class EndOfStream(Exception):
    """Raised by ``read`` when a finite source has no more frames (not an error)."""


@dataclass
class SourceInfo:
    """What is known about a stream; fields are None when unknown."""

    sensor: str
    unit_mm: float = 1.0
    depth_mode: str | None = None
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    frame_count: int | None = None
    duration_s: float | None = None
    can_seek: bool = False
    live: bool = False
    intrinsics: Intrinsics | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class FrameSource(ABC):
    """Base class of every source. Use as a context manager or call open/close."""

    def __init__(self) -> None:
        self._events: deque[CaptureEvent] = deque()
        self._opened = False

    # -- lifecycle -------------------------------------------------------------------
    def open(self) -> None:
        if not self._opened:
            self._open()
            self._opened = True

    def close(self) -> None:
        if self._opened:
            self._opened = False
            self._close()

    @property
    def is_open(self) -> bool:
        return self._opened

    def __enter__(self) -> "FrameSource":
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------
    @property
    @abstractmethod
    def info(self) -> SourceInfo:
        """Stream metadata; complete after ``open``."""

    @abstractmethod
    def read(self, timeout_s: float = 0.1) -> DepthFrame | None:
        """The next frame, None if none arrived within ``timeout_s``, EndOfStream at the end."""

    def __iter__(self) -> Iterator[DepthFrame]:
        """Every frame until the end (forever for a live camera)."""
        self.open()
        while True:
            try:
                frame = self.read()
            except EndOfStream:
                return
            if frame is not None:
                yield frame

    # -- seeking ---------------------------------------------------------------------
    def seek(self, t_s: float) -> None:
        """Go to the first frame at or after ``t_s`` seconds from the start."""
        raise NotSeekable(f"{self.info.sensor} source cannot seek")

    def seek_index(self, index: int) -> None:
        """Go to frame ``index``; by default via its nominal time."""
        fps = self.info.fps
        if not self.info.can_seek or not fps:
            raise NotSeekable(f"{self.info.sensor} source cannot seek by frame index")
        self.seek(index / fps)

    def resync(self) -> None:
        """Forget pacing state (after pause or seek); no-op for unpaced sources."""

    @property
    def problems(self) -> list[str]:
        """What was found wrong with the stream while reading it (repaired timestamps, a
        file cut short), for a report; problems known at open are in ``info.extra``."""
        return []

    # -- events ----------------------------------------------------------------------
    def _emit(self, kind: EventKind, message: str = "") -> None:
        self._events.append(CaptureEvent(kind, message))

    def poll_events(self) -> list[CaptureEvent]:
        """Status events queued since the last call (device lost, reconnected, ...)."""
        out = list(self._events)
        self._events.clear()
        return out
