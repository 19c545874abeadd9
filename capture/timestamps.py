"""Device times a verdict can trust: a replayed stream's timestamps checked frame by frame.

A verdict tracker restarts when time runs backwards (that is how it sees a seek), counts a
long gap as time a condition held, and paces playback by the timestamps. Damaged or
foreign timestamps therefore hide verdicts: a backward jump resets an ANOMALY to PENDING,
a one-hour gap makes playback wait an hour, shuffled times keep every frame PENDING.

``TimestampGuard`` sits where a file source is read (``Paced``). A frame whose time does not
move forward, or jumps ahead by more than ``MAX_GAP_S``, is placed one frame step after
the previous one and the rest of the stream keeps its own spacing from there. After
``UNTRUSTED_AFTER`` such repairs (and at least 1 % of the frames) the stream's times are no
longer used at all: every later frame is one nominal step after the last. Each kind of
repair is described once in ``problems`` (with counts), so it can be shown and reported.
A seek or a loop is not damage: the owner calls ``reset`` first.
"""

from __future__ import annotations

import dataclasses

from capture.frame import DepthFrame

MAX_GAP_S = 2.0  # longer than any USB hiccup of a camera streaming at 5 fps or more
UNTRUSTED_AFTER = 3
DEFAULT_STEP_US = 33_333


class TimestampGuard:
    def __init__(self, fps: float | None = None, max_gap_s: float = MAX_GAP_S) -> None:
        self.nominal_step_us = int(round(1e6 / fps)) if fps and fps > 0 else DEFAULT_STEP_US
        self.max_gap_us = int(max_gap_s * 1e6)
        self.backward = 0  # frames whose time did not move forward
        self.gaps = 0  # frames after a gap longer than max_gap_s
        self.longest_gap_s = 0.0
        self.frames = 0
        self.untrusted = False
        self._offset_us = 0
        self._last_us: int | None = None  # the last time handed on (repaired)
        self._step_us = self.nominal_step_us

    def reset(self) -> None:
        """After a seek or a loop: the next frame's time is taken as it is."""
        self._last_us = None
        self._offset_us = 0

    @property
    def repairs(self) -> int:
        return self.backward + self.gaps

    def check(self, frame: DepthFrame) -> tuple[DepthFrame, str | None]:
        """The frame with a usable device time, and a message when this frame was the first
        repaired one or the one after which the stream's times are no longer used."""
        raw = frame.device_ts_us
        if raw is None:
            return frame, None
        self.frames += 1
        raw = int(raw)
        last = self._last_us
        if last is None:
            self._last_us = raw + self._offset_us
            return frame if self._offset_us == 0 else dataclasses.replace(frame, device_ts_us=self._last_us), None
        message: str | None = None
        if self.untrusted:
            t = last + self.nominal_step_us
        else:
            t = raw + self._offset_us
            step = t - last
            if step <= 0 or step > self.max_gap_us:
                if step <= 0:
                    self.backward += 1
                    what = f"goes back {-step / 1e6:.3f} s" if step < 0 else "repeats the previous frame's time"
                else:
                    self.gaps += 1
                    self.longest_gap_s = max(self.longest_gap_s, step / 1e6)
                    what = f"jumps {step / 1e6:.1f} s ahead"
                repaired = last + self._step_us
                self._offset_us += repaired - t
                t = repaired
                if self.repairs == 1:  # the first repair is described in an event
                    message = (
                        f"the timestamps of this recording are damaged: frame {frame.index}'s time {what}; "
                        f"it is placed one frame step after the frame before and playback goes on")
                if self.repairs >= UNTRUSTED_AFTER and self.repairs * 100 >= self.frames:
                    self.untrusted = True
                    message = (f"the timestamps of this recording cannot be trusted ({self.repairs} jumps in "
                               f"{self.frames} frames): from frame {frame.index} on, frames are spaced at the "
                               f"nominal {1e6 / self.nominal_step_us:.3g} frames/s")
            else:
                self._step_us = step
        self._last_us = t
        return (frame if t == raw else dataclasses.replace(frame, device_ts_us=t)), message

    @property
    def problems(self) -> list[str]:
        """What was repaired, for a report (empty when every time was usable)."""
        out: list[str] = []
        if self.backward:
            out.append(f"{self.backward} frame time(s) did not move forward (placed one frame step on)")
        if self.gaps:
            out.append(f"{self.gaps} gap(s) in the timestamps longer than {self.max_gap_us / 1e6:g} s "
                       f"(longest {self.longest_gap_s:.1f} s) were closed to one frame step")
        if self.untrusted:
            out.append(f"the timestamps were not used after {self.repairs} jumps: frames spaced at the "
                       f"nominal {1e6 / self.nominal_step_us:.3g} frames/s")
        return out
