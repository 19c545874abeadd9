"""One timed attempt at a task, judged frame by frame.

The success rule of a task: the pose held, that is the smoothed SPADER score at or above
the threshold in force on every frame with a hand, for ``hold_s`` seconds without a
break, within ``time_limit_s`` of the attempt's start. The attempt ends at the first frame
that completes the hold ("imitated", with the time the hold began) or at the first frame
at or after the limit ("not imitated"). A frame without a hand, or below the threshold,
breaks the hold. Times are the verdict tracker's (device time when the camera gives it).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

from core.screening.protocol import Task


class Outcome(str, Enum):
    IMITATED = "imitated"
    NOT_IMITATED = "not_imitated"
    INTERRUPTED = "interrupted"  # the camera was lost, or the screening stopped, mid-attempt
    INVALID = "invalid"  # marked by the operator, with a reason

    def __str__(self) -> str:
        return self.value


@dataclass
class Attempt:
    """What one attempt was and how it ended (times in seconds of the stream's clock)."""

    task_id: str
    number: int  # 1, 2, ... within its task
    start_t: float
    end_t: float | None = None
    outcome: Outcome | None = None
    reached_s: float | None = None  # imitated: seconds from the start to the start of the hold
    invalid_reason: str = ""
    note: str = ""

    @property
    def finished(self) -> bool:
        return self.outcome is not None

    def describe(self, time_limit_s: float) -> str:
        """The outcome as the window shows it in big letters."""
        if self.outcome is Outcome.IMITATED:
            return f"imitated in {self.reached_s:.1f} s"
        if self.outcome is Outcome.NOT_IMITATED:
            return f"not imitated within {time_limit_s:g} s"
        if self.outcome is Outcome.INTERRUPTED:
            return "interrupted" + (f" ({self.note})" if self.note else "")
        if self.outcome is Outcome.INVALID:
            return f"invalid: {self.invalid_reason}"
        return "running"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["outcome"] = None if self.outcome is None else self.outcome.value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Attempt":
        kw = dict(d)
        kw["outcome"] = None if kw.get("outcome") is None else Outcome(kw["outcome"])
        return cls(**kw)


class AttemptJudge:
    """Feeds on every scored frame of a running attempt and says when it ends."""

    def __init__(self, task: Task, number: int, start_t: float) -> None:
        self.task = task
        self.attempt = Attempt(task.id, int(number), float(start_t))
        self._hold_from: float | None = None

    def remaining_s(self, t: float) -> float:
        return max(0.0, self.task.time_limit_s - (float(t) - self.attempt.start_t))

    @property
    def holding_since(self) -> float | None:
        """Stream time the current hold began, None when the pose is not held."""
        return self._hold_from

    def feed(self, t: float, has_hand: bool, smoothed: float | None, threshold: float) -> Attempt | None:
        """One frame (in stream order). Returns the finished attempt at the frame that ends
        it, None while it runs. Frames up to the start (the window begins an attempt at the
        newest frame, already shown as waiting) are ignored."""
        a = self.attempt
        if a.finished:
            return a
        t = float(t)
        if t <= a.start_t:  # the frame the attempt began at was seen before it (as "waiting")
            return None
        held = bool(has_hand) and smoothed is not None and math.isfinite(smoothed) and smoothed >= threshold
        if held:
            if self._hold_from is None:
                self._hold_from = t
            if t - self._hold_from >= self.task.hold_s - 1e-9:  # checked before the limit: a hold that completes on it counts
                a.outcome, a.end_t = Outcome.IMITATED, t
                a.reached_s = round(self._hold_from - a.start_t, 3)
                return a
        else:
            self._hold_from = None
        if t - a.start_t >= self.task.time_limit_s - 1e-9:
            a.outcome, a.end_t = Outcome.NOT_IMITATED, t
            return a
        return None

    def interrupt(self, t: float, why: str) -> Attempt:
        a = self.attempt
        if not a.finished:
            a.outcome, a.end_t, a.note = Outcome.INTERRUPTED, float(t), why
        return a
