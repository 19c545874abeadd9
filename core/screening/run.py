"""A screening: the protocol's tasks in order, their attempts, and the result.

``Screening`` is a small state machine the window (or `spader screening run`) drives:

    INSTRUCTION --begin_attempt--> RUNNING --(frames)--> OUTCOME --retry--> RUNNING
                                                            |--next_task--> INSTRUCTION | DONE

Every change is an event (a dict with ``event``, ``t`` and its fields) that the caller
records in the session and the audit trail; ``events`` keeps them all. Before an attempt
runs, hands in view are "waiting", never an anomaly: frames are judged only while an
attempt runs. The result of a task: ``pass`` when an attempt was imitated, ``fail`` when
every attempt offered ended "not imitated", ``invalid`` when the operator marked the task
invalid, else ``incomplete``. The overall result is always shown with DISCLAIMER.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from core.errors import SpaderError
from core.screening.attempts import Attempt, AttemptJudge, Outcome
from core.screening.protocol import Protocol, Task

DISCLAIMER = "Screening aid, not a diagnosis."


class Phase(str, Enum):
    INSTRUCTION = "instruction"  # the operator shows the sign; hands may rest ("waiting")
    RUNNING = "running"
    OUTCOME = "outcome"  # the last attempt's outcome in big letters: retry / next / invalid
    DONE = "done"

    def __str__(self) -> str:
        return self.value


class ScreeningError(SpaderError):
    """An action the screening cannot take now (e.g. a retry when no attempt is left)."""


@dataclass
class TaskResult:
    task_id: str
    result: str  # pass | fail | invalid | incomplete
    attempts: list[Attempt] = field(default_factory=list)
    invalid_reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"task_id": self.task_id, "result": self.result, "invalid_reason": self.invalid_reason,
                "attempts": [a.to_dict() for a in self.attempts]}


def task_result(task: Task, attempts: list[Attempt], invalid_reason: str = "") -> TaskResult:
    if invalid_reason:
        return TaskResult(task.id, "invalid", attempts, invalid_reason)
    if any(a.outcome is Outcome.IMITATED for a in attempts):
        return TaskResult(task.id, "pass", attempts)
    judged = [a for a in attempts if a.outcome is Outcome.NOT_IMITATED]
    if len(judged) >= task.attempts:
        return TaskResult(task.id, "fail", attempts)
    return TaskResult(task.id, "incomplete", attempts)


def overall_result(results: list[TaskResult]) -> str:
    """"all imitated", "not imitated", "invalid" or "incomplete" (one word for the report)."""
    kinds = [r.result for r in results]
    if kinds and all(k == "pass" for k in kinds):
        return "all imitated"
    if "fail" in kinds:
        return "not imitated"
    if "incomplete" in kinds or not kinds:
        return "incomplete"
    return "invalid"


class Screening:
    def __init__(self, protocol: Protocol) -> None:
        self.protocol = protocol
        self.task_index = 0
        self.phase = Phase.INSTRUCTION
        self.attempts: dict[str, list[Attempt]] = {t.id: [] for t in protocol.tasks}
        self.invalid: dict[str, str] = {}
        self.events: list[dict[str, Any]] = []
        self._judge: AttemptJudge | None = None

    # -- where it stands --------------------------------------------------------------------
    @property
    def task(self) -> Task:
        return self.protocol.tasks[min(self.task_index, len(self.protocol.tasks) - 1)]

    @property
    def judge(self) -> AttemptJudge | None:
        return self._judge

    @property
    def last_attempt(self) -> Attempt | None:
        a = self.attempts[self.task.id]
        return a[-1] if a else None

    def attempts_left(self, task: Task | None = None) -> int:
        t = task or self.task
        used = [a for a in self.attempts[t.id] if a.outcome in (Outcome.IMITATED, Outcome.NOT_IMITATED)]
        return max(0, t.attempts - len(used))

    def can_retry(self) -> bool:
        a = self.last_attempt
        return (self.phase is Phase.OUTCOME and a is not None and a.outcome is not Outcome.IMITATED
                and self.attempts_left() > 0 and self.task.id not in self.invalid)

    def results(self) -> list[TaskResult]:
        return [task_result(t, self.attempts[t.id], self.invalid.get(t.id, "")) for t in self.protocol.tasks]

    def overall(self) -> str:
        return overall_result(self.results())

    # -- actions ------------------------------------------------------------------------------
    def add_event(self, name: str, t: float, **fields: Any) -> dict[str, Any]:
        """Record an event (the actions below call it; notes and changes come from outside)."""
        e = {"event": name, "t": None if t is None else round(float(t), 6), "task_id": self.task.id, **fields}
        self.events.append(e)
        return e

    def begin_attempt(self, t: float) -> dict[str, Any]:
        """The attempt starts at stream time ``t`` (after the countdown)."""
        if self.phase is Phase.RUNNING:
            raise ScreeningError("an attempt is already running")
        if self.phase is Phase.DONE:
            raise ScreeningError("the screening is finished")
        if self.phase is Phase.OUTCOME and not self.can_retry():
            raise ScreeningError("no attempt is left for this task: go on to the next task")
        number = len(self.attempts[self.task.id]) + 1
        self._judge = AttemptJudge(self.task, number, t)
        self.attempts[self.task.id].append(self._judge.attempt)
        self.phase = Phase.RUNNING
        return self.add_event("attempt_started", t, attempt=number, time_limit_s=self.task.time_limit_s,
                           hold_s=self.task.hold_s)

    def feed(self, t: float, has_hand: bool, smoothed: float | None, threshold: float) -> dict[str, Any] | None:
        """One scored frame; returns the "attempt_ended" event at the frame that ends an attempt."""
        if self.phase is not Phase.RUNNING or self._judge is None:
            return None  # waiting: no judgement outside an attempt
        done = self._judge.feed(t, has_hand, smoothed, threshold)
        if done is None:
            return None
        return self._end(done)

    def interrupt(self, t: float, why: str) -> dict[str, Any] | None:
        """The camera was lost (or the screening stopped) during an attempt."""
        if self.phase is not Phase.RUNNING or self._judge is None:
            return None
        return self._end(self._judge.interrupt(t, why))

    def _end(self, a: Attempt) -> dict[str, Any]:
        self.phase = Phase.OUTCOME
        self._judge = None
        return self.add_event("attempt_ended", a.end_t, attempt=a.number, outcome=a.outcome.value,
                           reached_s=a.reached_s, text=a.describe(self.task.time_limit_s), note=a.note)

    def mark_invalid(self, t: float, reason: str, *, task_level: bool = False) -> dict[str, Any]:
        """Mark the last attempt (or, with ``task_level``, the whole task) invalid, with a reason."""
        reason = " ".join(str(reason).split())
        if not reason:
            raise ScreeningError("say why the attempt is invalid")
        if self.phase is Phase.RUNNING:
            raise ScreeningError("end the attempt first")
        if task_level:
            self.invalid[self.task.id] = reason
            return self.add_event("task_invalidated", t, reason=reason)
        a = self.last_attempt
        if a is None or self.phase is not Phase.OUTCOME:
            raise ScreeningError("no attempt to mark invalid")
        a.outcome, a.invalid_reason = Outcome.INVALID, reason
        return self.add_event("attempt_invalidated", t, attempt=a.number, reason=reason)

    def next_task(self, t: float) -> dict[str, Any]:
        if self.phase is Phase.RUNNING:
            raise ScreeningError("end the attempt first")
        if self.phase is Phase.DONE:
            raise ScreeningError("the screening is finished")
        e = self.add_event("task_left", t, result=task_result(self.task, self.attempts[self.task.id],
                                                            self.invalid.get(self.task.id, "")).result)
        self.task_index += 1
        if self.task_index >= len(self.protocol.tasks):
            self.task_index = len(self.protocol.tasks) - 1
            self.phase = Phase.DONE
            self.add_event("screening_finished", t, overall=self.overall())
        else:
            self.phase = Phase.INSTRUCTION
        return e

    def summary(self) -> dict[str, Any]:
        """The result as recorded (results.json) and reported."""
        return {"protocol": {"name": self.protocol.name, "version": self.protocol.version},
                "tasks": [r.to_dict() for r in self.results()], "overall": self.overall(),
                "finished": self.phase is Phase.DONE, "disclaimer": DISCLAIMER}


def summary_from_events(events: list[dict[str, Any]], protocol: dict[str, Any],
                        last_t: float | None = None) -> dict[str, Any]:
    """The result of a screening that never wrote results.json (interrupted: a crash, a
    full disk), rebuilt from its recorded events and its header's protocol: every attempt
    as far as it got (one still running when it stopped is "interrupted", ending at
    ``last_t``, the last recorded frame's time, when given), each task's
    result and the overall one, marked ``finished: False``."""
    from types import SimpleNamespace

    tasks = [SimpleNamespace(id=str(t.get("id")), attempts=int(t.get("attempts") or 1)) for t in protocol.get("tasks", [])]
    attempts: dict[str, list[Attempt]] = {t.id: [] for t in tasks}
    invalid: dict[str, str] = {}
    for e in events:
        tid, kind = str(e.get("task_id")), e.get("event")
        mine = attempts.setdefault(tid, [])
        n = e.get("attempt")
        a = next((x for x in mine if x.number == n), None)
        if kind == "attempt_started" and a is None and e.get("t") is not None:
            mine.append(Attempt(tid, int(n or len(mine) + 1), float(e["t"])))
        elif kind == "attempt_ended" and a is not None:
            a.end_t = None if e.get("t") is None else float(e["t"])
            try:
                a.outcome = Outcome(e.get("outcome"))
            except ValueError:
                a.outcome = Outcome.INTERRUPTED
            a.reached_s, a.note = e.get("reached_s"), str(e.get("note") or "")
        elif kind == "attempt_invalidated" and a is not None:
            a.outcome, a.invalid_reason = Outcome.INVALID, str(e.get("reason") or "")
        elif kind == "task_invalidated":
            invalid[tid] = str(e.get("reason") or "")
    for mine in attempts.values():
        for a in mine:
            if a.outcome is None:
                a.outcome, a.note = Outcome.INTERRUPTED, "the screening stopped"
                a.end_t = None if last_t is None else max(float(last_t), a.start_t)
    by_id = {t.id: t for t in tasks}
    results = [task_result(by_id.get(tid) or SimpleNamespace(id=tid, attempts=1), mine, invalid.get(tid, ""))  # type: ignore[arg-type]
               for tid, mine in attempts.items()]
    return {"protocol": {"name": protocol.get("name"), "version": protocol.get("version")},
            "tasks": [r.to_dict() for r in results], "overall": overall_result(results), "finished": False,
            "disclaimer": DISCLAIMER}

