import threading
import time

import numpy as np
import pytest

from capture.errors import CaptureError
from capture.events import EventKind
from capture.frame import DepthFrame
from capture.mailbox import LatestFrameMailbox
from capture.recorder import Recorder
from capture.sources.pacing import Paced
from capture.sources.synthetic import SyntheticSource
from capture.thread import CaptureThread, State
from support import FakeSource


def frame(i):
    return DepthFrame(np.full((2, 2), i, np.uint16), index=i)


def wait_for(pred, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.005)
    return False


def no_capture_threads():
    return not [t for t in threading.enumerate() if t.name in ("capture", "session-recorder")]


# -- mailbox ---------------------------------------------------------------------------
def test_mailbox_keeps_newest_and_counts_drops():
    mb = LatestFrameMailbox()
    for i in range(5):
        mb.put(frame(i))
    assert mb.get(0).index == 4 and mb.dropped == 4
    assert mb.get(timeout=0.01) is None  # nothing new
    mb.put(frame(5))
    assert mb.peek().index == 5 and mb.get().index == 5 and mb.dropped == 4


def test_mailbox_get_blocks_until_a_frame_or_close():
    mb = LatestFrameMailbox()
    threading.Timer(0.05, lambda: mb.put(frame(1))).start()
    t = time.monotonic()
    assert mb.get(timeout=2).index == 1 and time.monotonic() - t < 1.5
    threading.Timer(0.05, mb.close).start()
    assert mb.get(timeout=2) is None and mb.closed


# -- recorder ---------------------------------------------------------------------------
class SlowWriter:
    path = "slow-disk"

    def __init__(self, delay=0.0, fail_at=None):
        self.delay, self.fail_at = delay, fail_at
        self.written, self.closed = [], False

    def append(self, f):
        if f.index == self.fail_at:
            raise OSError(28, "No space left on device")
        time.sleep(self.delay)
        self.written.append(f.index)

    def close(self):
        self.closed = True


def test_recorder_never_drops_and_reports_a_slow_disk_loudly(caplog):
    events = []
    w = SlowWriter(delay=0.002)
    rec = Recorder(w, on_event=events.append, max_queued=10).start()
    for i in range(50):
        rec.submit(frame(i))
    assert rec.falling_behind  # it is happening now: the status bar says so
    assert rec.stop(timeout=10)
    assert w.written == list(range(50)) and w.closed
    assert rec.written == 50 and rec.backlog == 0 and rec.max_backlog == 10
    assert rec.slow_disk_warnings == 1 and rec.waits >= 30
    assert events[0].kind == EventKind.RECORDER_BACKLOG and "can't keep up" in events[0].message
    assert "can't keep up" in caplog.text
    assert no_capture_threads()


def test_the_recorders_queue_is_bounded_so_a_crash_loses_at_most_that_many_frames():
    """Back-pressure: the source waits for the disk instead of the queue growing."""
    w = SlowWriter(delay=0.01)
    rec = Recorder(w, max_queued=4).start()
    behind = []
    t0 = time.monotonic()
    for i in range(30):
        rec.submit(frame(i))
        behind.append(rec.backlog)
    wall = time.monotonic() - t0
    assert max(behind) <= 4  # never more than 4 frames in memory, waiting for the disk
    assert wall >= 0.2  # 26 frames at 10 ms each: the source was slowed to the disk's pace
    assert rec.wait_s > 0.1
    assert rec.stop(timeout=5) and w.written == list(range(30))


def test_recorder_disk_error_is_an_event_not_a_dead_thread():
    events = []
    w = SlowWriter(fail_at=3)
    rec = Recorder(w, on_event=events.append).start()
    for i in range(6):
        rec.submit(frame(i))
    assert rec.stop(timeout=5)
    assert w.written == [0, 1, 2] and rec.unwritten == 3
    assert [e.kind for e in events] == [EventKind.RECORDER_ERROR] and "No space" in events[0].message


# -- capture thread ------------------------------------------------------------------------
def test_finite_source_every_frame_to_recorder_latest_to_mailbox():
    w = SlowWriter()
    rec = Recorder(w).start()
    th = CaptureThread(SyntheticSource(16, 12, n_frames=40), recorder=rec).start()
    assert wait_for(lambda: th.state == State.ENDED)
    assert th.stop() and rec.stop()
    assert w.written == list(range(40))
    assert th.mailbox.get(0).index == 39 and th.mailbox.dropped == 39
    kinds = [e.kind for e in th.drain_events()]
    assert kinds == [EventKind.STARTED, EventKind.END_OF_STREAM, EventKind.STOPPED]
    assert no_capture_threads()


def test_stop_is_seen_within_200ms_and_source_closed_on_its_thread():
    src = FakeSource(silent=True)  # a live camera that never delivers
    th = CaptureThread(src, read_timeout_s=0.1).start()
    assert wait_for(lambda: th.state == State.RUNNING)
    t = time.monotonic()
    assert th.stop(timeout=1.0)
    assert time.monotonic() - t < 0.2
    assert src.closed_from == "capture" and not th.alive and no_capture_threads()


def test_pause_resume_and_seek_after_end():
    src = Paced(SyntheticSource(16, 12, fps=100.0, n_frames=30), speed=1.0)
    th = CaptureThread(src).start()
    try:
        assert wait_for(lambda: th.frames >= 5)
        th.pause()
        assert wait_for(lambda: th.state == State.PAUSED)
        n = th.frames
        time.sleep(0.1)
        assert th.frames == n  # paused file playback reads nothing
        th.resume()
        assert wait_for(lambda: th.state == State.ENDED)
        assert th.mailbox.get(0).index == 29
        th.seek_index(25)
        assert wait_for(lambda: th.frames >= 35 and th.state == State.ENDED)
        assert th.mailbox.get(0).index == 29
    finally:
        assert th.stop()


def failing(exc: Exception, fail_open: bool = False) -> FakeSource:
    """Two frames, then every read raises ``exc`` (or already opening does)."""
    return FakeSource([frame(1), frame(2)], fail_from=3, error=exc, fail_open=exc if fail_open else None)


@pytest.mark.parametrize("exc", [CaptureError("file damaged after frame 2"), RuntimeError("bug")])
def test_source_errors_become_events_and_thread_survives(exc):
    th = CaptureThread(failing(exc), max_consecutive_errors=3).start()
    assert wait_for(lambda: th.state == State.FAILED)
    assert th.alive and th.frames == 2
    errors = [e for e in th.drain_events() if e.kind == EventKind.ERROR]
    assert len(errors) == 3 and str(exc) in errors[0].message
    assert th.stop() and no_capture_threads()


def test_open_failure_is_an_event():
    seen = []
    th = CaptureThread(failing(CaptureError("no camera"), fail_open=True), on_event=seen.append).start()
    assert wait_for(lambda: th.state == State.FAILED and not th.alive)
    assert [(e.kind, e.message) for e in seen] == [(EventKind.ERROR, "no camera"), (EventKind.STOPPED, "")]
    assert th.stop()


def test_a_step_back_from_the_end_of_a_recording_shows_that_frame_and_stays_paused(tmp_path):
    """Found under load: a pause while the thread had ended was forgotten, so the next step
    played on to the end again instead of showing its frame."""
    from app_support import write_session

    from capture.playback import PlaybackThread
    from capture.sources import open_source

    frames = [DepthFrame(np.full((8, 8), 500 + i, np.uint16), index=i, device_ts_us=i * 33_333) for i in range(10)]
    src = open_source(str(write_session(tmp_path / "S", frames)), speed=None, loop=False)
    th = PlaybackThread(src).start()
    try:
        assert wait_for(lambda: th.state == State.ENDED)
        th.pause()
        th.step_to(5)
        assert wait_for(lambda: (f := th.mailbox.latest) is not None and f.index == 5)
        time.sleep(0.3)  # long enough to play on to the end if it were running
        assert th.state == State.PAUSED and th.mailbox.latest.index == 5
    finally:
        th.stop()
