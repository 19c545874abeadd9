"""Reading a finite source ahead of its consumer, on a thread of its own.

``ReadAhead(source)`` reads into a bounded lossless queue, so decoding overlaps whatever
the consumer does with the frames (batch re-scoring). Failed reads follow
``capture.read_errors``: each becomes a ``ReadError`` item in the stream, in order, and
after too many in a row a last ``ReadError`` says so and the stream ends. An exception
that must stop the run (KeyboardInterrupt raised while reading) is raised in the
consumer once the frames read before it have been taken.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from capture.frame import DepthFrame
from capture.frame_queue import FrameQueue
from capture.read_errors import MAX_CONSECUTIVE_READ_ERRORS, ReadFailures
from capture.sources.base import EndOfStream, FrameSource


@dataclass(frozen=True)
class ReadError:
    """A read that failed (the stream goes on), or, with ``final``, the reason it stopped."""

    message: str
    final: bool = False


@dataclass(frozen=True)
class _Abort:
    exc: BaseException


class ReadAhead:
    """``with ReadAhead(source, maxsize) as reader: while items := reader.get_many(n): ...``

    The source must be open; the reader never closes it."""

    def __init__(
        self,
        source: FrameSource,
        maxsize: int = 8,
        max_consecutive_errors: int = MAX_CONSECUTIVE_READ_ERRORS,
        read_timeout_s: float = 0.5,
    ) -> None:
        self.source = source
        self.read_timeout_s = read_timeout_s
        self.failures = ReadFailures(max_consecutive_errors)
        self._queue = FrameQueue(maxsize)
        self._stop = threading.Event()
        self._abort: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="read-ahead", daemon=True)

    def start(self) -> "ReadAhead":
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop reading (a read in progress finishes) and join the thread."""
        self._stop.set()
        self._queue.close()
        if self._thread.ident is not None:
            self._thread.join(timeout)

    def __enter__(self) -> "ReadAhead":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def get_many(self, max_n: int) -> list[DepthFrame | ReadError]:
        """Up to ``max_n`` items in order, waiting for the first; [] at the end. Raises the
        exception that stopped the reader once every item before it was taken."""
        if self._abort is not None:
            exc, self._abort = self._abort, None
            raise exc
        items: list[DepthFrame | ReadError] = []
        for it in self._queue.get_many(max_n, timeout=None):
            if isinstance(it, _Abort):
                self._abort = it.exc
                break
            items.append(it)
        if not items and self._abort is not None:
            return self.get_many(max_n)
        return items

    def _put(self, item: object) -> bool:
        return self._queue.put(item)  # type: ignore[arg-type]

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    frame = self.source.read(self.read_timeout_s)
                except EndOfStream:
                    return
                except Exception as exc:
                    self._put(ReadError(self.failures.failed(exc)))
                    if self.failures.given_up:
                        self._put(ReadError(f"stopped reading after {self.failures.in_a_row} failed reads in a row", final=True))
                        return
                    continue
                self.failures.succeeded()
                if frame is not None and not self._put(frame):
                    return
        except BaseException as exc:  # KeyboardInterrupt and the like: hand it to the consumer
            self._put(_Abort(exc))
        finally:
            self._queue.close()
