"""A lossless, bounded frame queue: the replay counterpart of ``LatestFrameMailbox``.

Same interface as the mailbox (``put``, ``get(timeout)``, ``peek``, ``close``, ``closed``,
``posted``/``taken``/``dropped`` counters), so ``CaptureThread(source, mailbox=FrameQueue())``
works unchanged. The difference: nothing is ever dropped. When the consumer falls behind
and the queue is full, ``put`` blocks the producer (backpressure: a paced file source
then simply plays slower). ``close`` wakes everyone: a blocked producer returns at once
(its frame is not queued: nobody will read it), consumers get the frames still queued,
then None. So shutdown never hangs on a full queue.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from capture.frame import DepthFrame


class FrameQueue:
    def __init__(self, maxsize: int = 64) -> None:
        if maxsize < 1:
            raise ValueError("a frame queue needs room for at least one frame")
        self.maxsize = int(maxsize)
        self._cond = threading.Condition()
        self._frames: deque[DepthFrame] = deque()
        self._closed = False
        self.posted = 0
        self.taken = 0
        self.dropped = 0  # always 0 while open; frames refused after close are counted here
        self.blocked_ns = 0  # total time producers spent waiting for room
        self.max_depth = 0

    def put(self, frame: DepthFrame, timeout: float | None = None) -> bool:
        """Queue a frame, waiting while the queue is full. False when the queue was closed
        (or ``timeout`` passed) before there was room; the frame is then not queued."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            if len(self._frames) >= self.maxsize and not self._closed:
                t0 = time.monotonic_ns()
                while len(self._frames) >= self.maxsize and not self._closed:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        break
                    self._cond.wait(remaining)
                self.blocked_ns += time.monotonic_ns() - t0
            if self._closed or len(self._frames) >= self.maxsize:
                self.dropped += 1
                return False
            self._frames.append(frame)
            self.posted += 1
            self.max_depth = max(self.max_depth, len(self._frames))
            self._cond.notify_all()
            return True

    def get(self, timeout: float | None = None) -> DepthFrame | None:
        """The oldest frame, waiting up to ``timeout`` s; None on timeout, or once closed and empty."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._frames and not self._closed:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            if not self._frames:
                return None
            frame = self._frames.popleft()
            self.taken += 1
            self._cond.notify_all()
            return frame

    def get_many(self, max_n: int, timeout: float | None = None) -> list[DepthFrame]:
        """Up to ``max_n`` frames in order: waits (up to ``timeout``) for the first only."""
        first = self.get(timeout)
        if first is None:
            return []
        out = [first]
        with self._cond:
            while self._frames and len(out) < max_n:
                out.append(self._frames.popleft())
                self.taken += 1
            self._cond.notify_all()
        return out

    def peek(self) -> DepthFrame | None:
        """The oldest queued frame, without taking it."""
        with self._cond:
            return self._frames[0] if self._frames else None

    def __len__(self) -> int:
        with self._cond:
            return len(self._frames)

    def close(self) -> None:
        """No more frames: wake blocked producers and waiting consumers."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed
