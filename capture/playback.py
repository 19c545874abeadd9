"""A capture thread for playback: also steps to one frame and changes the speed."""

from __future__ import annotations

from capture.events import EventKind
from capture.read_errors import error_message
from capture.sources.base import EndOfStream
from capture.thread import CaptureThread, State


class PlaybackThread(CaptureThread):
    """CaptureThread plus single-frame stepping and a live speed change (both run on the
    capture thread, between reads, like every other call into the source)."""

    def step_to(self, position: int) -> None:
        """Go to ``position`` and hand on exactly that one frame (used while paused)."""
        self._commands.put(lambda: self._step(position))

    def set_speed(self, speed: float | None) -> None:
        self._commands.put(lambda: self._set_speed(speed))

    def _set_speed(self, speed: float | None) -> None:
        if hasattr(self.source, "speed"):
            self.source.speed = speed
            self.source.resync()

    def _step(self, position: int) -> None:
        try:
            self.source.seek_index(max(0, int(position)))
            self.source.resync()
            frame = self.source.read(max(self.read_timeout_s, 0.5))
        except EndOfStream:
            self.state = State.ENDED
            self._emit(EventKind.END_OF_STREAM)
            return
        except Exception as exc:
            self._emit(EventKind.ERROR, error_message(exc))
            return
        finally:
            for ev in self.source.poll_events():
                self.post_event(ev)
        if self.state == State.ENDED:
            self.state = State.PAUSED if self._paused else State.RUNNING
        if frame is not None:
            self._publish(frame)
