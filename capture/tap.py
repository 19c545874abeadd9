"""Frame inputs that also keep the newest frame for a display.

``TapMailbox`` (live: newest frame only) and ``TapQueue`` (replay: lossless) are the
capture thread's outputs when a scoring worker *and* a display both want the frames: the
worker takes frames away as usual, the display looks at the newest one with
``take_new`` without taking it from the worker.
"""

from __future__ import annotations

import threading

from capture.frame import DepthFrame
from capture.frame_queue import FrameQueue
from capture.mailbox import LatestFrameMailbox


class _Tap:
    """Remembers the newest frame handed on, for the display."""

    def _tap_init(self) -> None:
        self._tap_lock = threading.Lock()
        self._tap_frame: DepthFrame | None = None
        self._tap_seq = 0
        self._tap_seen = 0

    def _tap(self, frame: DepthFrame) -> None:
        with self._tap_lock:
            self._tap_frame = frame
            self._tap_seq += 1

    def take_new(self) -> DepthFrame | None:
        """The newest frame if one arrived since the last call, else None."""
        with self._tap_lock:
            if self._tap_seq == self._tap_seen:
                return None
            self._tap_seen = self._tap_seq
            return self._tap_frame

    @property
    def newest(self) -> DepthFrame | None:
        with self._tap_lock:
            return self._tap_frame


class TapMailbox(LatestFrameMailbox, _Tap):
    def __init__(self) -> None:
        super().__init__()
        self._tap_init()

    def put(self, frame: DepthFrame) -> None:
        super().put(frame)
        self._tap(frame)


class TapQueue(FrameQueue, _Tap):
    def __init__(self, maxsize: int = 4) -> None:
        super().__init__(maxsize)
        self._tap_init()

    def put(self, frame: DepthFrame, timeout: float | None = None) -> bool:
        ok = super().put(frame, timeout)
        if ok:
            self._tap(frame)
        return ok
