"""One-slot "newest wins" mailboxes: between the capture thread and the scorer (frames),
and between the scorer and the display (results, ``core.runtime.worker.ResultMailbox``)."""

from __future__ import annotations

import threading
import time
from typing import Generic, TypeVar

from capture.frame import DepthFrame

T = TypeVar("T")


class LatestMailbox(Generic[T]):
    """Holds only the newest item. ``put`` replaces an unread item (counted in ``replaced``).

    A slow consumer therefore always gets the freshest item and never a backlog.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._latest: T | None = None
        self._closed = False
        self.posted = 0
        self.replaced = 0
        self.taken = 0

    def put(self, item: T) -> None:
        with self._cond:
            self._on_put(item)
            if self._item is not None:
                self.replaced += 1
            self._item = self._latest = item
            self.posted += 1
            self._cond.notify_all()

    def _on_put(self, item: T) -> None:
        """Called under the lock before ``item`` is stored (subclasses stamp it)."""

    def get(self, timeout: float | None = None) -> T | None:
        """Take the newest unread item, waiting up to ``timeout`` s; None on timeout or close."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._item is None and not self._closed:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            return self._take_locked()

    def take(self) -> T | None:
        """The newest unread item or None, without waiting."""
        with self._cond:
            return self._take_locked()

    def _take_locked(self) -> T | None:
        item, self._item = self._item, None
        if item is not None:
            self.taken += 1
        return item

    def peek(self) -> T | None:
        """The unread item, if any, without taking it."""
        with self._cond:
            return self._item

    @property
    def latest(self) -> T | None:
        """The last item put, taken or not (what a display shows)."""
        with self._cond:
            return self._latest

    def close(self) -> None:
        """Wake every waiting consumer; later ``get`` calls return at once."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed


class LatestFrameMailbox(LatestMailbox[DepthFrame]):
    """The newest captured frame; a replaced frame is a frame the scorer never saw."""

    @property
    def dropped(self) -> int:
        return self.replaced
