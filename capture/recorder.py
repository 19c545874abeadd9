"""Lossless recording on its own thread: a bounded queue into a SessionWriter.

What a crash or a power cut can lose is what waits in the queue, so the queue is short
(``DEFAULT_MAX_QUEUED`` frames: 0.27 s at 30 fps, 67 ms at 120 fps). When the disk cannot
keep up, ``submit`` waits for room: back-pressure on the capture thread, so a replay is
slowed to what the disk writes and a live camera's driver drops the frames it cannot
hand on (the session then has a gap in its device times, never a frame lost after it was
accepted). The first wait of an overload emits RECORDER_BACKLOG ("recording can't keep
up"), counted in ``slow_disk_warnings``; ``falling_behind`` says whether it is happening
now, for a status bar. A frame accepted by ``submit`` is written or counted in ``unwritten``
(after a disk error), never dropped.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Callable

from capture.events import CaptureEvent, EventKind
from capture.frame import DepthFrame
from capture.session.writer import SessionWriter

log = logging.getLogger(__name__)

DEFAULT_MAX_QUEUED = 8
BEHIND_FOR_S = 1.0  # ``falling_behind`` stays true this long after the last wait


class Recorder:
    def __init__(
        self,
        writer: SessionWriter,
        on_event: Callable[[CaptureEvent], None] | None = None,
        max_queued: int = DEFAULT_MAX_QUEUED,
    ) -> None:
        self.writer = writer
        self.on_event = on_event
        self.max_queued = max(1, int(max_queued))
        self._queue: collections.deque[DepthFrame] = collections.deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._warned = False
        self._last_wait = -1e9
        self.submitted = 0
        self.written = 0
        self.unwritten = 0  # frames that could not be written after a disk error
        self.max_backlog = 0
        self.slow_disk_warnings = 0
        self.waits = 0  # submits that had to wait for the disk
        self.wait_s = 0.0  # time the capture thread spent waiting
        self.error: str | None = None

    @property
    def backlog(self) -> int:
        """Frames accepted and not yet written (or given up on)."""
        return self.submitted - self.written - self.unwritten

    @property
    def falling_behind(self) -> bool:
        """True while the disk slows the stream (a submit waited within the last second)."""
        return time.monotonic() - self._last_wait < BEHIND_FOR_S

    def start(self) -> "Recorder":
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="session-recorder", daemon=True)
            self._thread.start()
        return self

    def submit(self, frame: DepthFrame) -> None:
        """Queue a frame for writing; waits while ``max_queued`` frames wait for the disk."""
        with self._cond:
            if len(self._queue) >= self.max_queued and self._thread is not None and not self._stopping \
                    and self.error is None:
                t0 = time.monotonic()
                self.waits += 1
                self._last_wait = t0
                if not self._warned:
                    self._warned = True
                    self.slow_disk_warnings += 1
                    msg = (f"recording can't keep up: the disk writes fewer frames per second than the source "
                           f"sends, so the stream is slowed to what {self.writer.path} takes (a camera skips "
                           f"the frames it cannot hand on; no frame already taken is lost)")
                    log.warning(msg)
                    self._emit(EventKind.RECORDER_BACKLOG, msg)
                while len(self._queue) >= self.max_queued and not self._stopping and self.error is None:
                    self._cond.wait(0.1)
                self.wait_s += time.monotonic() - t0
            self._queue.append(frame)
            self.submitted += 1
            self.max_backlog = max(self.max_backlog, self.backlog)
            self._cond.notify_all()

    def _emit(self, kind: EventKind, message: str) -> None:
        if self.on_event is not None:
            self.on_event(CaptureEvent(kind, message))

    def _take(self) -> DepthFrame | None:
        with self._cond:
            while not self._queue and not self._stopping:
                self._cond.wait(0.1)
            if not self._queue:
                return None  # stopping, and everything is written
            return self._queue[0]  # stays counted in the queue until it is on disk

    def _done(self, written: bool) -> None:
        with self._cond:
            self._queue.popleft()
            if written:
                self.written += 1
            else:
                self.unwritten += 1
            if self._warned and len(self._queue) <= self.max_queued // 2 and not self.falling_behind:
                self._warned = False  # re-arm: the next overload is reported again
            self._cond.notify_all()

    def _run(self) -> None:
        while (item := self._take()) is not None:
            if self.error is not None:
                self._done(False)
                continue
            try:
                self.writer.append(item)
            except Exception as exc:  # disk full, permissions, a bad frame: report, keep draining
                self.error = str(exc)
                log.error("recording failed: %s", exc)
                self._emit(EventKind.RECORDER_ERROR, f"recording failed: {exc}")
                self._done(False)
                continue
            self._done(True)

    def stop(self, timeout: float | None = None) -> bool:
        """Write every queued frame, close the session; True when the thread has ended."""
        if self._thread is not None:
            with self._cond:
                self._stopping = True
                self._cond.notify_all()
            self._thread.join(timeout)
            if self._thread.is_alive():
                return False
            self._thread = None
        try:
            self.writer.close()
        except Exception as exc:
            self.error = self.error or str(exc)
            self._emit(EventKind.RECORDER_ERROR, f"closing the session failed: {exc}")
        return True
