import numpy as np
import pytest

from capture.errors import CaptureError
from capture.events import EventKind
from capture.sources.base import EndOfStream
from capture.sources.pacing import Paced
from capture.sources.synthetic import SyntheticSource


class FakeClock:
    def __init__(self):
        self.t = 100.0
        self.slept = []

    def __call__(self):
        return self.t

    def sleep(self, s):
        self.slept.append(s)
        self.t += s


def paced(n=10, fps=10.0, **kw):
    clock = FakeClock()
    src = Paced(SyntheticSource(8, 6, fps=fps, n_frames=n), clock=clock, sleep=clock.sleep, **kw)
    return src, clock


def read_all(src, limit=1000):
    out = []
    with src:
        for _ in range(limit):
            try:
                f = src.read(timeout_s=1.0)
            except EndOfStream:
                break
            if f is not None:
                out.append(f)
    return out


@pytest.mark.parametrize("speed, expected", [(1.0, 0.9), (2.0, 0.45), (0.25, 3.6)])
def test_frames_come_at_recorded_times_scaled_by_speed(speed, expected):
    src, clock = paced(n=10, fps=10.0, speed=speed)
    start = clock.t
    got = read_all(src)
    assert [f.index for f in got] == list(range(10))
    assert clock.t - start == pytest.approx(expected)


def test_as_fast_as_possible_never_sleeps():
    src, clock = paced(n=10, speed=None)
    assert len(read_all(src)) == 10
    assert clock.slept == []


def test_long_waits_are_sliced_by_the_read_timeout():
    src, clock = paced(n=3, fps=1.0, speed=1.0)  # 1 s between frames
    with src:
        assert src.read(0.2).index == 0
        results = [src.read(0.2) for _ in range(5)]
    assert results[:4] == [None] * 4 and results[4].index == 1
    assert max(clock.slept) <= 0.2 + 1e-9


def test_loop_restarts_and_reports_it():
    src, clock = paced(n=3, speed=None, loop=True)
    with src:
        idx = [src.read().index for _ in range(7)]
        events = src.poll_events()
    assert idx == [0, 1, 2, 0, 1, 2, 0]
    assert [e.kind for e in events] == [EventKind.LOOPED, EventKind.LOOPED]


def test_seek_then_pacing_restarts_from_there():
    src, clock = paced(n=30, fps=10.0, speed=1.0)
    with src:
        src.read()
        src.seek(2.0)
        t = clock.t
        f = src.read()
        g = src.read()
    assert f.index == 20 and g.index == 21
    assert clock.t - t == pytest.approx(0.1)  # no wait for the 2 s jump itself


def test_frames_are_restamped_on_delivery():
    src, _ = paced(n=2, speed=None)
    with src:
        f = src.read()
    inner = SyntheticSource(8, 6, n_frames=2)
    with inner:
        g = inner.read()
    assert np.array_equal(f.depth, g.depth) and f.host_ts_ns >= g.host_ts_ns - 10**9


def test_bad_speed():
    with pytest.raises(CaptureError, match="speed"):
        Paced(SyntheticSource(8, 6), speed=0)
