"""Rates (frames per second) from a counter that only grows."""

from __future__ import annotations

import time
from collections import deque


class RateMeter:
    """Events per second over the last ``window_s`` from a monotonically growing counter."""

    def __init__(self, window_s: float = 1.0) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, int]] = deque()

    def update(self, count: int, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        s = self._samples
        s.append((now, count))
        while len(s) > 2 and now - s[1][0] >= self.window_s:
            s.popleft()
        if len(s) < 2 or s[-1][0] - s[0][0] <= 0:
            return 0.0
        return max(0, s[-1][1] - s[0][1]) / (s[-1][0] - s[0][0])

    def reset(self) -> None:
        self._samples.clear()
