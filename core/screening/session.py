"""A screening being run, live or headless: the state machine, its folder, the results and
events logs of its session, and the audit trail, kept in step under one lock.

The window's controller and `spader screening run` both drive this class; it is what
decides and records every outcome (the window only shows them). ``on_result`` is called
for every scored frame, in stream order (on the scoring worker's thread, live); the
actions (``begin_attempt``, ``next_task``, ``mark_invalid``, ``interrupt``) come from the
operator or the script. Every event goes to ``events.jsonl`` and the audit trail before
the call returns.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from core.screening.audit import AuditLog
from core.screening.protocol import Protocol
from core.screening.record import EventsLog, ResultsLog
from core.screening.run import Phase, Screening
from core.screening.store import ScreeningFolder


class ScreeningSession:
    def __init__(self, folder: ScreeningFolder, protocol: Protocol, audit: AuditLog, actor: str | None = None,
                 on_event: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.folder = folder
        self.protocol = protocol
        self.screening = Screening(protocol)
        self.audit = audit
        self.actor = actor
        self.on_event = on_event
        self._lock = threading.RLock()
        self._results: ResultsLog | None = None
        self._events: EventsLog | None = None
        self._emitted = 0
        self._unwritten: list[dict[str, Any]] = []  # events waiting for events.jsonl
        self._unaudited: list[dict[str, Any]] = []  # events waiting for the audit trail
        # the first write that failed (a full disk): from then on no frame result is
        # recorded and the running attempt is interrupted; the window ends the screening
        self.write_error: str | None = None
        self.last_t: float | None = None  # screening time of the newest frame seen
        self.closed = False
        # screening time = the frame's time from the first frame on, never going back: a
        # replayed recording that loops or is sought starts its clock over, as the session
        # writer's time line does not
        self._t0: float | None = None
        self._offset = 0.0
        self._last_raw: float | None = None
        self._step = 1 / 30

    def open_logs(self) -> None:
        """Start results.csv and events.jsonl in the session folder (created by its writer)."""
        with self._lock:
            self._results = ResultsLog(self.folder.session_path)
            self._events = EventsLog(self.folder.session_path)

    # -- state -------------------------------------------------------------------------------
    @property
    def phase(self) -> Phase:
        return self.screening.phase

    def _emit(self) -> list[dict[str, Any]]:
        """Hand the new events to events.jsonl, the audit trail and the listener. An event
        a full disk refused stays queued and is written, in order, before the next one."""
        new = self.screening.events[self._emitted:]
        self._emitted = len(self.screening.events)
        for e in new:
            if self._events is not None:
                self._unwritten.append(e)
            self._unaudited.append(e)
        self._flush()
        for e in new:
            if self.on_event is not None:
                self.on_event(e)
        return new

    def _flush(self) -> None:
        while self._unwritten and self._events is not None:
            try:
                self._events.write(self._unwritten[0])
            except Exception as exc:
                self._failed(str(exc))
                if getattr(exc, "written", False):  # in the file, only not synced: never twice
                    self._unwritten.pop(0)
                break
            self._unwritten.pop(0)
        while self._unaudited:
            e = self._unaudited[0]
            try:
                self.audit.append(e["event"], {"screening": self.folder.path.name,
                                               **{k: v for k, v in e.items() if k != "event"}}, self.actor)
            except Exception as exc:
                self._failed(str(exc))
                break
            self._unaudited.pop(0)

    def _failed(self, message: str) -> None:
        if self.write_error is None:
            self.write_error = message

    @property
    def unwritten_events(self) -> int:
        """Events a full disk has kept out of events.jsonl or the audit trail so far."""
        return max(len(self._unwritten), len(self._unaudited))

    def _check_open(self) -> None:
        if self.closed:
            from core.screening.run import ScreeningError

            raise ScreeningError("the screening is closed")

    def _t(self, t: float | None = None) -> float:
        """The time an action happens at: the given one, else the newest frame's."""
        return float(t) if t is not None else (self.last_t if self.last_t is not None else 0.0)

    # -- frames -------------------------------------------------------------------------------
    def screening_time(self, t_raw: float) -> float:
        """Seconds since the screening's first frame for a frame at ``t_raw`` (any clock)."""
        t_raw = float(t_raw)
        if self._t0 is None:
            self._t0 = t_raw
        elif self._last_raw is not None:
            if t_raw > self._last_raw:
                self._step = min(t_raw - self._last_raw, 1.0)
            else:  # the clock went back (a loop or a seek): continue one frame step on
                self._offset += self._last_raw - t_raw + self._step
        self._last_raw = t_raw
        return round(t_raw + self._offset - self._t0, 6)

    def raw_time(self, t: float) -> float | None:
        """The frame clock's time of screening time ``t`` (the inverse of screening_time,
        with the clock's current offset); None before the first frame."""
        if self._t0 is None:
            return None
        return float(t) + self._t0 - self._offset

    def on_result(self, result: Any, t_s: float, threshold: float, *, raw_time: bool = False) -> list[dict[str, Any]]:
        """One scored frame (its ``verdict`` state set): recorded, and judged while an attempt
        runs. ``raw_time``: ``t_s`` is the frame's own clock (the window's), made into
        screening time here."""
        with self._lock:
            if self.closed:
                return []
            if raw_time:
                t_s = self.screening_time(t_s)
            self.last_t = float(t_s)
            if self.write_error is not None:  # nothing more is judged that could not be recorded
                return []
            if self._results is not None:
                try:
                    self._results.write(result, t_s, threshold, str(self.screening.phase))
                except Exception as exc:
                    self._failed(str(exc))
                    self.screening.interrupt(self.last_t, f"recording failed: {exc}")
                    return self._emit()
            st = getattr(result, "verdict", None)
            self.screening.feed(t_s, bool(result.has_hand), None if st is None else st.smoothed, threshold)
            return self._emit()

    def recording_failed(self, message: str) -> list[dict[str, Any]]:
        """The frames stopped being recorded (the recorder's error): the screening stops
        judging, like a results write that failed."""
        with self._lock:
            if self.closed:
                return []
            self._failed(message)
            self.screening.interrupt(self._t(), f"recording failed: {message}")
            return self._emit()

    # -- actions ------------------------------------------------------------------------------
    def begin_attempt(self, t: float | None = None) -> list[dict[str, Any]]:
        with self._lock:
            self._check_open()
            self.screening.begin_attempt(self._t(t))
            return self._emit()

    def next_task(self, t: float | None = None) -> list[dict[str, Any]]:
        with self._lock:
            self._check_open()
            self.screening.next_task(self._t(t))
            return self._emit()

    def mark_invalid(self, reason: str, *, task_level: bool = False) -> list[dict[str, Any]]:
        with self._lock:
            self._check_open()
            self.screening.mark_invalid(self._t(), reason, task_level=task_level)
            return self._emit()

    def interrupt(self, why: str) -> list[dict[str, Any]]:
        with self._lock:
            if self.closed:
                return []
            self.screening.interrupt(self._t(), why)
            return self._emit()

    def note(self, text: str) -> list[dict[str, Any]]:
        with self._lock:
            self.screening.add_event("note", self._t(), text=" ".join(str(text).split()))
            return self._emit()

    def record_change(self, event: str, **fields: Any) -> list[dict[str, Any]]:
        """A threshold or model change during the screening (old, new, who, why)."""
        with self._lock:
            self.screening.add_event(event, self._t(), **fields)
            return self._emit()

    def close(self, *, finished: bool) -> dict[str, Any]:
        """Stop recording results; when ``finished``, any running attempt is interrupted, the
        remaining tasks are closed and results.json is written (else, or after a failed
        write, the folder stays "interrupted")."""
        with self._lock:
            if not self.closed:
                finished = finished and self.write_error is None  # a recording with a gap is not complete
                if finished:
                    self.screening.interrupt(self._t(), "the screening was ended")
                    while self.screening.phase is not Phase.DONE:
                        self.screening.next_task(self._t())
                self._emit()
                self.closed = True
                for log in (self._results, self._events):
                    if log is not None:
                        try:
                            log.close()
                        except Exception as exc:  # its last sync failed: what the OS got stays
                            self._failed(str(exc))
                if finished:
                    self.folder.finish(self.screening.summary())
                else:
                    self.folder.mark_interrupted()
            return self.screening.summary()
