"""ReadAhead: a finite source read on its own thread, with the capture thread's rule for
failed reads (capture.read_errors)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from capture.errors import CorruptFile
from capture.frame import DepthFrame
from capture.read_ahead import ReadAhead, ReadError
from capture.read_errors import MAX_CONSECUTIVE_READ_ERRORS, ReadFailures, error_message
from support import FakeSource


def frames(n: int) -> list[DepthFrame]:
    return [DepthFrame(np.full((2, 2), i, np.uint16), index=i) for i in range(n)]


def read_all(reader: ReadAhead, batch: int = 3) -> list[int | ReadError]:
    out: list[int | ReadError] = []
    while items := reader.get_many(batch):
        out += [it if isinstance(it, ReadError) else it.index for it in items]
    return out


def no_reader_threads() -> bool:
    return not any(t.name == "read-ahead" for t in threading.enumerate())


def test_every_frame_in_order_and_a_failed_read_in_its_place() -> None:
    src = FakeSource(frames(6), fail_at={3}, error=CorruptFile("frame 2 is damaged"))
    with src, ReadAhead(src, maxsize=2) as reader:
        got = read_all(reader)
    assert got == [0, 1, ReadError("frame 2 is damaged"), 2, 3, 4, 5]
    assert no_reader_threads()


def test_it_stops_after_too_many_failed_reads_in_a_row() -> None:
    src = FakeSource(frames(6), fail_from=3, error=OSError("disk gone"))
    with src, ReadAhead(src) as reader:
        got = read_all(reader)
    errors = [g for g in got if isinstance(g, ReadError)]
    assert got[:2] == [0, 1] and len(errors) == MAX_CONSECUTIVE_READ_ERRORS + 1
    assert errors[0].message == "OSError: disk gone" and not errors[0].final
    assert errors[-1].final and "3 failed reads in a row" in errors[-1].message
    assert src.reads == 2 + MAX_CONSECUTIVE_READ_ERRORS


def test_an_interrupt_while_reading_reaches_the_consumer_after_the_frames_before_it() -> None:
    src = FakeSource(frames(10), fail_at={6}, error=KeyboardInterrupt)
    got: list[int] = []
    with src, ReadAhead(src, maxsize=4) as reader:
        with pytest.raises(KeyboardInterrupt):
            while items := reader.get_many(4):
                got += [it.index for it in items]
    assert got == [0, 1, 2, 3, 4]
    assert no_reader_threads()


def test_stop_returns_while_the_queue_is_full() -> None:
    src = FakeSource(frames(3), forever=True)
    with src:
        reader = ReadAhead(src, maxsize=2).start()
        time.sleep(0.05)  # the reader is blocked on the full queue
        t0 = time.monotonic()
        reader.stop()
        assert time.monotonic() - t0 < 1.0 and no_reader_threads()


def test_the_rule_counts_failures_in_a_row() -> None:
    rule = ReadFailures(2)
    assert rule.failed(CorruptFile("damaged")) == "damaged" and not rule.given_up
    rule.succeeded()
    rule.failed(ValueError("x"))
    assert not rule.given_up and rule.failed(ValueError("y")) == "ValueError: y" and rule.given_up
    assert rule.total == 3 and error_message(RuntimeError("bug")) == "RuntimeError: bug"
