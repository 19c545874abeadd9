"""From noisy per-frame scores to a screening decision: smoothing plus hysteresis.

Per-frame SPADER scores jitter. The tracker smooths them with an exponential average
whose time constant is in seconds (so it behaves the same at 5 or 30 frames/s), then
applies hold times: the verdict becomes NORMAL only after the smoothed score has stayed
at or above the threshold for ``normal_hold_s``, ANOMALY only after it has stayed below
for ``anomaly_hold_s``, NO HAND only after no hand was seen for ``no_hand_hold_s``. Until
the first decision the verdict is PENDING. A verdict stays until the other condition has
held for its own time, so a score hovering near the threshold does not flicker.

Times are the caller's (seconds on any monotonic clock: device timestamps in a
recording, host time live). A time that goes backwards (a seek) restarts the tracker.
When the verdict becomes NO HAND the average is forgotten: the next appearance of a hand
is a new attempt. Thread-safe: the worker updates while the GUI changes the threshold.
"""

from __future__ import annotations

import math
import threading
from dataclasses import asdict, dataclass, fields, replace
from enum import Enum
from typing import Any


class Verdict(str, Enum):
    NORMAL = "NORMAL"
    ANOMALY = "ANOMALY"
    NO_HAND = "NO HAND"
    PENDING = "PENDING"

    def __str__(self) -> str:
        return self.value


@dataclass
class VerdictSettings:
    threshold: float = 0.0  # on the smoothed SPADER score: >= threshold is NORMAL
    smoothing_s: float = 0.5  # time constant of the exponential average (0 = no smoothing)
    normal_hold_s: float = 1.0
    anomaly_hold_s: float = 1.0
    no_hand_hold_s: float = 0.5

    def __post_init__(self) -> None:
        for f in fields(self):
            v = float(getattr(self, f.name))
            if not math.isfinite(v):
                raise ValueError(f"verdict setting {f.name} must be a finite number, got {v}")
            if f.name != "threshold" and v < 0:
                raise ValueError(f"verdict setting {f.name} must be >= 0 s, got {v}")
            setattr(self, f.name, v)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "VerdictSettings":
        """Unknown keys are ignored and missing ones take their defaults."""
        d = d or {}
        names = {f.name for f in fields(cls)}
        return cls(**{k: float(v) for k, v in d.items() if k in names and v is not None})


SESSION_KEY = "verdict"


def verdict_settings_to_session(settings: VerdictSettings) -> dict[str, Any]:
    """The part of a session header's ``settings`` object that records the verdict logic:
    ``{"verdict": {...}}``; merge it into ``SessionMeta.settings``."""
    return {SESSION_KEY: settings.to_dict()}


def verdict_settings_from_session(session_settings: dict[str, Any] | None) -> VerdictSettings | None:
    """Verdict settings saved in a session header's ``settings``; None when it has none."""
    if not session_settings or not isinstance(session_settings.get(SESSION_KEY), dict):
        return None
    return VerdictSettings.from_dict(session_settings[SESSION_KEY])


@dataclass
class VerdictState:
    verdict: Verdict
    smoothed: float | None  # the smoothed score (None on a frame without a hand)
    raw: float | None  # this frame's score (None without a hand)
    t_s: float
    changed: bool  # the verdict changed at this update
    # the condition this frame differs from the verdict: the verdict it turns to once the
    # condition has lasted its hold time, and the seconds still to go (else None)
    pending: Verdict | None = None
    pending_in_s: float | None = None


class VerdictTracker:
    def __init__(self, settings: VerdictSettings | None = None) -> None:
        self._lock = threading.Lock()
        self._settings = replace(settings) if settings is not None else VerdictSettings()
        self.reset()

    @property
    def settings(self) -> VerdictSettings:
        """A copy of the current settings."""
        with self._lock:
            return replace(self._settings)

    @settings.setter
    def settings(self, settings: VerdictSettings) -> None:
        with self._lock:
            self._settings = replace(settings)

    def set_threshold(self, threshold: float) -> None:
        """Takes effect at the next update (the hold times still apply)."""
        with self._lock:
            self._settings = replace(self._settings, threshold=float(threshold))

    @property
    def verdict(self) -> Verdict:
        return self._verdict

    def reset(self) -> None:
        with self._lock:
            self._reset()

    def _reset(self) -> None:
        self._verdict = Verdict.PENDING
        self._smoothed: float | None = None
        self._last_score_t: float | None = None
        self._last_t: float | None = None
        self._cond: Verdict | None = None  # what the current frames say
        self._cond_since = 0.0

    def update(self, t_s: float, score: float | None) -> VerdictState:
        """Feed one frame: its time (s) and its score, None when there is no hand."""
        t_s = float(t_s)
        with self._lock:
            s = self._settings
            if self._last_t is not None and t_s < self._last_t:
                self._reset()  # time went backwards: a seek or a new recording
            self._last_t = t_s
            has_score = score is not None and math.isfinite(float(score))
            if has_score:
                score = float(score)  # type: ignore[arg-type]
                if self._smoothed is None or self._last_score_t is None or s.smoothing_s <= 0:
                    self._smoothed = score
                else:
                    dt = max(0.0, t_s - self._last_score_t)
                    alpha = 1.0 - math.exp(-dt / s.smoothing_s)
                    self._smoothed += alpha * (score - self._smoothed)
                self._last_score_t = t_s
                cond = Verdict.NORMAL if self._smoothed >= s.threshold else Verdict.ANOMALY
            else:
                cond = Verdict.NO_HAND
            if cond != self._cond:
                self._cond, self._cond_since = cond, t_s
            hold = {
                Verdict.NORMAL: s.normal_hold_s,
                Verdict.ANOMALY: s.anomaly_hold_s,
                Verdict.NO_HAND: s.no_hand_hold_s,
            }[cond]
            changed = False
            if self._verdict != cond and t_s - self._cond_since >= hold - 1e-9:
                self._verdict, changed = cond, True
                if cond == Verdict.NO_HAND:  # the hand left: the next one is a new attempt
                    self._smoothed = None
                    self._last_score_t = None
            pending = cond if self._verdict != cond else None
            return VerdictState(
                verdict=self._verdict,
                smoothed=self._smoothed if has_score else None,
                raw=score if has_score else None,
                t_s=t_s,
                changed=changed,
                pending=pending,
                pending_in_s=None if pending is None else max(0.0, hold - (t_s - self._cond_since)),
            )
