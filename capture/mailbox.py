"""One-slot latest-frame mailbox between the capture thread and the scorer."""

from __future__ import annotations

import threading
import time

from capture.frame import DepthFrame


class LatestFrameMailbox:
    """Holds only the newest frame. ``put`` replaces an unread frame and counts it as dropped.

    A slow consumer therefore always gets the freshest frame and never a backlog.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: DepthFrame | None = None
        self._closed = False
        self.posted = 0
        self.dropped = 0
        self.taken = 0

    def put(self, frame: DepthFrame) -> None:
        with self._cond:
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self.posted += 1
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> DepthFrame | None:
        """Take the newest unread frame, waiting up to ``timeout`` s; None on timeout or close."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._frame is None and not self._closed:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            frame, self._frame = self._frame, None
            if frame is not None:
                self.taken += 1
            return frame

    def peek(self) -> DepthFrame | None:
        """The unread frame, if any, without taking it."""
        with self._cond:
            return self._frame

    def close(self) -> None:
        """Wake every waiting consumer; later ``get`` calls return at once."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed
