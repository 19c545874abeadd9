"""The rule for failed reads, shared by the capture thread and the read-ahead reader.

Every failed read is reported and the reader goes on with the next read (file sources
step past a frame they cannot decode); ``MAX_CONSECUTIVE_READ_ERRORS`` failures in a row
mean the source has failed and reading stops.
"""

from __future__ import annotations

from capture.errors import CaptureError

MAX_CONSECUTIVE_READ_ERRORS = 3


def error_message(exc: BaseException) -> str:
    """A CaptureError's own plain message; any other exception with its type in front."""
    return str(exc) if isinstance(exc, CaptureError) else f"{type(exc).__name__}: {exc}"


class ReadFailures:
    """Counts the failed reads of one source."""

    def __init__(self, max_in_a_row: int = MAX_CONSECUTIVE_READ_ERRORS) -> None:
        self.max_in_a_row = max(1, int(max_in_a_row))
        self.total = 0
        self.in_a_row = 0

    def succeeded(self) -> None:
        self.in_a_row = 0

    def failed(self, exc: BaseException) -> str:
        """Count one failed read; returns its message for the report."""
        self.total += 1
        self.in_a_row += 1
        return error_message(exc)

    @property
    def given_up(self) -> bool:
        """True once ``max_in_a_row`` reads in a row have failed."""
        return self.in_a_row >= self.max_in_a_row
