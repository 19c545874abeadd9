"""Status events that sources and the capture thread report to their owner."""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import TypeVar

E = TypeVar("E")


class EventKind(str, Enum):
    STARTED = "started"
    STOPPED = "stopped"
    END_OF_STREAM = "end_of_stream"
    LOOPED = "looped"
    ERROR = "error"  # the source failed; the thread stays alive and reports it
    NO_FRAMES = "no_frames"  # a live camera sent nothing for a while
    DEVICE_LOST = "device_lost"
    RECONNECTED = "reconnected"
    RECORDER_BACKLOG = "recorder_backlog"  # the disk is too slow for the frame rate
    RECORDER_ERROR = "recorder_error"
    TIMESTAMPS = "timestamps"  # a recording's times were damaged and repaired (capture.timestamps)


@dataclass(frozen=True)
class CaptureEvent:
    kind: EventKind
    message: str = ""
    host_ts_ns: int = field(default_factory=time.monotonic_ns)

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.message}" if self.message else self.kind.value


def drain(events: "queue.Queue[E]") -> list[E]:
    """Every event waiting in ``events``, oldest first, without blocking."""
    out: list[E] = []
    while True:
        try:
            out.append(events.get_nowait())
        except queue.Empty:
            return out
