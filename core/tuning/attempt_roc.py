"""The attempt-level ROC: the protocol's decision logic swept over every threshold.

An attempt is imitated at threshold T when, within its time limit, the smoothed score
stays >= T with a hand in view for at least the hold time (core.screening.attempts,
``AttemptJudge``). For one attempt that holds for every T up to a *critical threshold*:
the highest, over every stretch of consecutive frames with a hand that lasts the hold
time, of the lowest smoothed score in it (-inf when no stretch is long enough). So the
attempt is imitated exactly when T <= critical, and the ROC of attempt outcomes is the
ROC of the critical thresholds against the clinician's judgement (imitated = normal):
exact, and as fast as a frame ROC.
"""

from __future__ import annotations

import math
from typing import Sequence

EPS = 1e-9  # the judge's tolerance on time comparisons
# event times are recorded to the microsecond and shifted to the session's clock: a frame
# within this of the start is the start frame
START_TOL = 1e-6


def critical_threshold(times: Sequence[float], has_hand: Sequence[bool], smoothed: Sequence[float | None],
                       start_t: float, time_limit_s: float, hold_s: float) -> float:
    """The highest threshold at which the attempt starting at ``start_t`` is imitated."""
    # the frames the judge sees: from the start up to and including the first at the limit
    frames: list[tuple[float, float | None]] = []
    for t, h, s in zip(times, has_hand, smoothed):
        t = float(t)
        if t <= start_t + START_TOL:  # the judge ignores the frame the attempt began at
            continue
        ok = bool(h) and s is not None and math.isfinite(float(s))
        frames.append((t, float(s) if ok else None))
        if t - start_t >= time_limit_s - EPS:
            break
    best = -math.inf
    n = len(frames)
    for i in range(n):
        if frames[i][1] is None:
            continue
        low = math.inf
        for j in range(i, n):
            v = frames[j][1]
            if v is None:
                break
            low = min(low, v)
            if low <= best:
                break  # this stretch can no longer beat the best one
            if frames[j][0] - frames[i][0] >= hold_s - EPS:
                best = max(best, low)
                break  # longer stretches from i only have lower minima
    return best
