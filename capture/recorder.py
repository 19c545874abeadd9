"""Lossless recording on its own thread: an unbounded queue into a SessionWriter.

Frames are never dropped. When the disk cannot keep up, the queue grows; crossing
``backlog_warn_frames`` logs a warning and emits RECORDER_BACKLOG (counted in
``slow_disk_warnings``) so the owner can tell the operator loudly.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

from capture.events import CaptureEvent, EventKind
from capture.frame import DepthFrame
from capture.session.writer import SessionWriter

log = logging.getLogger(__name__)
_STOP = object()


class Recorder:
    def __init__(
        self,
        writer: SessionWriter,
        on_event: Callable[[CaptureEvent], None] | None = None,
        backlog_warn_frames: int = 30,
    ) -> None:
        self.writer = writer
        self.on_event = on_event
        self.backlog_warn_frames = max(1, backlog_warn_frames)
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._warned = False
        self.submitted = 0
        self.written = 0
        self.unwritten = 0  # frames that could not be written after a disk error
        self.max_backlog = 0
        self.slow_disk_warnings = 0
        self.error: str | None = None

    @property
    def backlog(self) -> int:
        return self.submitted - self.written - self.unwritten

    def start(self) -> "Recorder":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="session-recorder", daemon=True)
            self._thread.start()
        return self

    def submit(self, frame: DepthFrame) -> None:
        """Queue a frame for writing; never blocks and never drops."""
        with self._lock:
            self.submitted += 1
            backlog = self.backlog
            self.max_backlog = max(self.max_backlog, backlog)
            if backlog >= self.backlog_warn_frames and not self._warned:
                self._warned = True
                self.slow_disk_warnings += 1
                msg = (
                    f"the disk is too slow for recording: {backlog} frames waiting to be written "
                    f"to {self.writer.path} (none are dropped; memory use grows)"
                )
                log.warning(msg)
                self._emit(EventKind.RECORDER_BACKLOG, msg)
        self._queue.put(frame)

    def _emit(self, kind: EventKind, message: str) -> None:
        if self.on_event is not None:
            self.on_event(CaptureEvent(kind, message))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                break
            assert isinstance(item, DepthFrame)
            if self.error is not None:
                with self._lock:
                    self.unwritten += 1
                continue
            try:
                self.writer.append(item)
            except Exception as exc:  # disk full, permissions, a bad frame: report, keep draining
                self.error = str(exc)
                log.error("recording failed: %s", exc)
                self._emit(EventKind.RECORDER_ERROR, f"recording failed: {exc}")
                with self._lock:
                    self.unwritten += 1
                continue
            with self._lock:
                self.written += 1
                if self._warned and self.backlog <= self.backlog_warn_frames // 2:
                    self._warned = False  # re-arm: the next overload is reported again

    def stop(self, timeout: float | None = None) -> bool:
        """Write every queued frame, close the session; True when the thread has ended."""
        if self._thread is not None:
            self._queue.put(_STOP)
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
