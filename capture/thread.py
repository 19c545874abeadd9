"""The capture thread: runs one source and hands its frames to a mailbox and a recorder.

Every call into the source (open, read, seek, close) happens on this thread, which is
what ``thread_safe=False`` pyk4a devices need. Control calls from other threads (pause,
resume, seek, stop) are queued and applied between reads; a read never waits longer
than ``read_timeout_s``, so ``stop`` returns within about that time. Source errors become
ERROR events; the thread itself never dies from them (the rule for failed reads:
``capture.read_errors``).
"""

from __future__ import annotations

import queue
import threading
import time
from enum import Enum
from typing import Callable

from capture.errors import CaptureError
from capture.events import CaptureEvent, EventKind, drain
from capture.frame import DepthFrame
from capture.mailbox import LatestFrameMailbox
from capture.read_errors import MAX_CONSECUTIVE_READ_ERRORS, ReadFailures, error_message
from capture.recorder import Recorder
from capture.sources.base import EndOfStream, FrameSource


class State(str, Enum):
    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    ENDED = "ended"  # a file source reached its end; seek to play again
    FAILED = "failed"  # the source could not open or keeps failing; stop and fix it
    STOPPED = "stopped"


class CaptureThread:
    def __init__(
        self,
        source: FrameSource,
        mailbox: LatestFrameMailbox | None = None,
        recorder: Recorder | None = None,
        on_event: Callable[[CaptureEvent], None] | None = None,
        read_timeout_s: float = 0.05,
        max_consecutive_errors: int = MAX_CONSECUTIVE_READ_ERRORS,
    ) -> None:
        self.source = source
        self.mailbox = mailbox if mailbox is not None else LatestFrameMailbox()
        self.recorder = recorder
        self.on_event = on_event
        self.events: queue.Queue[CaptureEvent] = queue.Queue()
        self.read_timeout_s = read_timeout_s
        self.max_consecutive_errors = max_consecutive_errors
        self._commands: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._paused = False
        self._thread: threading.Thread | None = None
        self.state = State.IDLE
        self.frames = 0
        self.errors = 0
        self.publish_ns = 0  # time spent handing frames on (mailbox + recorder queue)

    # -- owner API (any thread) ---------------------------------------------------------
    def start(self) -> "CaptureThread":
        if self._thread is not None:
            raise CaptureError("capture thread already started")
        self._thread = threading.Thread(target=self._run, name="capture", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> bool:
        """Stop reading, close the source, join. True when no thread is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to end (after ``stop``, or when its source failed to open)."""
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def pause(self) -> None:
        self._commands.put(lambda: self._set_paused(True))

    def resume(self) -> None:
        self._commands.put(lambda: self._set_paused(False))

    def seek(self, t_s: float) -> None:
        self._commands.put(lambda: self._do_seek(lambda: self.source.seek(t_s)))

    def seek_index(self, index: int) -> None:
        self._commands.put(lambda: self._do_seek(lambda: self.source.seek_index(index)))

    def set_recorder(self, recorder: Recorder | None) -> None:
        """Start or stop handing frames to a recorder (the owner starts/stops the recorder)."""
        self.recorder = recorder

    def post_event(self, event: CaptureEvent) -> None:
        """Deliver an event to the owner (thread-safe; the recorder uses it too)."""
        self.events.put(event)
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:  # a broken callback must not kill capture
                pass

    def drain_events(self) -> list[CaptureEvent]:
        return drain(self.events)

    # -- the thread ----------------------------------------------------------------------
    def _emit(self, kind: EventKind, message: str = "") -> None:
        self.post_event(CaptureEvent(kind, message))

    def _set_paused(self, paused: bool) -> None:
        if self.state == State.ENDED:
            # remembered: a step back from the end must stay paused there, not play on
            self._paused = paused
            return
        if self.state == State.FAILED or paused == self._paused:
            return
        self._paused = paused
        self.state = State.PAUSED if paused else State.RUNNING
        if not paused:
            self.source.resync()

    def _do_seek(self, action: Callable[[], None]) -> None:
        try:
            action()
        except CaptureError as exc:
            self._emit(EventKind.ERROR, str(exc))
            return
        self.source.resync()
        if self.state == State.ENDED:
            self.state = State.PAUSED if self._paused else State.RUNNING

    def _run_commands(self, wait_s: float = 0.0) -> None:
        try:
            cmd = self._commands.get(timeout=wait_s) if wait_s > 0 else self._commands.get_nowait()
        except queue.Empty:
            return
        while True:
            cmd()
            try:
                cmd = self._commands.get_nowait()
            except queue.Empty:
                return

    def _publish(self, frame: DepthFrame) -> None:
        t0 = time.perf_counter_ns()
        rec = self.recorder
        if rec is not None:  # recorded before it can be scored: every result has its frame on disk
            rec.submit(frame)
        self.mailbox.put(frame)  # a replay's queue may block here until the scorer takes it
        self.frames += 1
        self.publish_ns += time.perf_counter_ns() - t0

    def _run(self) -> None:
        try:
            self.source.open()
        except Exception as exc:
            self.state = State.FAILED
            self._emit(EventKind.ERROR, error_message(exc))
            self._emit(EventKind.STOPPED)
            return
        self.state = State.RUNNING
        self._emit(EventKind.STARTED, self.source.info.sensor)
        live = self.source.info.live
        failures = ReadFailures(self.max_consecutive_errors)
        try:
            while not self._stop.is_set():
                idle = self.state in (State.ENDED, State.FAILED) or (self._paused and not live)
                self._run_commands(self.read_timeout_s if idle else 0.0)
                if self.state in (State.ENDED, State.FAILED) or (self._paused and not live):
                    continue
                try:
                    frame = self.source.read(self.read_timeout_s)
                    failures.succeeded()
                except EndOfStream:
                    self.state = State.ENDED
                    self._emit(EventKind.END_OF_STREAM)
                    continue
                except Exception as exc:
                    self.errors += 1
                    self._emit(EventKind.ERROR, failures.failed(exc))
                    if failures.given_up:
                        self.state = State.FAILED
                    continue
                finally:
                    for ev in self.source.poll_events():
                        self.post_event(ev)
                if frame is not None and not self._paused:  # a live source keeps being drained
                    self._publish(frame)
        finally:
            try:
                self.source.close()
            except Exception as exc:
                self._emit(EventKind.ERROR, f"closing the source failed: {exc}")
            self.state = State.STOPPED
            self._emit(EventKind.STOPPED)
