"""ScoringWorker, ResultMailbox and the lossless FrameQueue."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from capture.frame import DepthFrame
from capture.frame_queue import FrameQueue
from capture.mailbox import LatestFrameMailbox
from capture.thread import CaptureThread, State
from core.errors import SpaderError
from core.runtime.scorer import FrameScorer
from core.runtime.results import FrameResult
from core.runtime.verdict import VerdictSettings, VerdictState, VerdictTracker
from core.runtime.worker import ResultMailbox, ScoringWorker, WorkerEventKind
from support import FakeSource, pose_frames, tiny_model


W, H = 160, 144
BASE = pose_frames(8, width=W, height=H)


def fast_source(n: int | None, fail_at: set[int] = frozenset(), delay_s: float = 0.0) -> FakeSource:
    """BASE's frames as fast as they are read (forever when ``n`` is None)."""
    return FakeSource(BASE, n=n, forever=n is None, fail_at=fail_at, delay_s=delay_s, sensor="fast")


class BrokenFeatures(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("simulated model failure")


def wait_for(cond, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.005)
    return cond()


def no_worker_threads() -> bool:
    return not any(t.name in ("scoring-worker", "capture") for t in threading.enumerate())


@pytest.fixture
def scorer() -> FrameScorer:
    return FrameScorer(tiny_model("tiny"), device="cpu")


# -- mailboxes --------------------------------------------------------------------------------
def test_result_mailbox_keeps_the_newest_and_stamps_publication() -> None:
    mb = ResultMailbox()
    assert mb.get(timeout=0.01) is None and mb.take() is None and mb.latest is None
    r1, r2 = FrameResult(1, (2, 2), False), FrameResult(2, (2, 2), False)
    mb.put(r1)
    mb.put(r2)
    assert mb.overwritten == 1 and mb.posted == 2
    assert mb.peek() is r2 and r2.published_ns > 0
    assert mb.get(timeout=0) is r2 and mb.take() is None and mb.latest is r2 and mb.taken == 1
    got = []
    t = threading.Thread(target=lambda: got.append(mb.get(timeout=5)))
    t.start()
    mb.close()
    t.join(2)
    assert not t.is_alive() and got == [None] and mb.closed


def test_frame_queue_is_lossless_blocks_the_producer_and_close_wakes_it() -> None:
    q = FrameQueue(maxsize=2)
    frames = [DepthFrame(np.zeros((2, 2), np.uint16), index=i) for i in range(5)]
    assert q.put(frames[0]) and q.put(frames[1])
    assert not q.put(frames[2], timeout=0.05)  # full: times out instead of dropping silently
    assert q.get_many(5, timeout=0) == frames[:2] and q.taken == 2
    done = []

    def producer() -> None:
        for f in frames:
            done.append(q.put(f))

    t = threading.Thread(target=producer)
    t.start()
    got = []
    while len(got) < 5:
        f = q.get(timeout=2)
        assert f is not None
        got.append(f.index)
    t.join(2)
    assert got == [0, 1, 2, 3, 4] and done == [True] * 5 and q.dropped == 1
    # a producer blocked on a full queue is released by close
    q.put(frames[0])
    q.put(frames[1])
    t = threading.Thread(target=lambda: done.append(q.put(frames[2])))
    t.start()
    time.sleep(0.05)
    assert t.is_alive()
    q.close()
    t.join(2)
    assert not t.is_alive() and done[-1] is False
    assert [q.get(0).index, q.get(0).index, q.get(0)] == [0, 1, None]  # queued frames still come out


# -- the worker ---------------------------------------------------------------------------------
class SlowScorer:
    """A real FrameScorer that takes at least ``delay_s`` per call, so the source is surely faster."""

    def __init__(self, inner: FrameScorer, delay_s: float = 0.01) -> None:
        self.inner, self.delay_s = inner, delay_s

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def score_frames(self, frames):
        time.sleep(self.delay_s)
        return self.inner.score_frames(frames)


def test_live_mode_keeps_up_without_a_backlog(scorer: FrameScorer) -> None:
    scorer = SlowScorer(scorer)  # ~10 ms a frame: a 500 frames/s source outruns it on any machine
    src = fast_source(n=None, delay_s=0.002)
    mailbox = LatestFrameMailbox()
    cap = CaptureThread(src, mailbox)
    lags: list[int] = []
    indices: list[int] = []

    def on_result(r: FrameResult) -> None:
        indices.append(r.index)
        lags.append(cap.frames - 1 - r.index)

    w = ScoringWorker(mailbox, ResultMailbox(), scorer, mode="live", on_result=on_result, threads=1).start()
    cap.start()
    assert wait_for(lambda: len(indices) >= 15 and cap.frames > 100)
    cap.stop()
    assert w.wait_idle(5)
    produced = cap.frames
    assert w.stop() and no_worker_threads()
    assert indices == sorted(set(indices))  # never an old frame after a newer one
    assert indices[-1] == produced - 1  # the newest frame is always scored
    assert len(indices) < produced  # frames were skipped, not queued
    st = w.stats
    assert st.dropped == produced - len(indices)
    # each result was at most a few scoring-times old (frames made while one frame was scored)
    per_score = produced / max(1, len(indices))
    assert np.median(lags) <= 3 * per_score + 5


def test_replay_mode_scores_every_frame_exactly_once_in_order(scorer: FrameScorer) -> None:
    n = 60
    q = FrameQueue(maxsize=4)
    cap = CaptureThread(fast_source(n=n), q)
    seen: list[int] = []
    results = ResultMailbox()
    w = ScoringWorker(q, results, scorer, mode="replay", max_batch=8, on_result=lambda r: seen.append(r.index), threads=1)
    w.start()
    cap.start()
    assert wait_for(lambda: len(seen) >= n)
    assert seen == list(range(n))
    assert w.stats.dropped == 0 and q.dropped == 0 and cap.frames == n
    assert w.stats.scored == n and results.latest.index == n - 1
    assert w.stats.batches < n  # it batched when the producer was ahead
    cap.stop()
    assert w.stop() and no_worker_threads()


def test_bad_frames_and_a_broken_model_become_events(scorer: FrameScorer) -> None:
    q = FrameQueue(maxsize=32)
    events = []
    seen: list[int] = []
    w = ScoringWorker(q, ResultMailbox(), scorer, mode="replay", on_event=events.append, on_result=lambda r: seen.append(r.index))
    bad = replace(BASE[1], index=1)
    bad.depth = np.zeros((3, 4, 5), np.uint16)  # a frame of the wrong shape
    for f in (replace(BASE[0], index=0), bad, replace(BASE[2], index=2)):
        q.put(f)
    w.start()
    assert wait_for(lambda: len(seen) == 2)
    assert seen == [0, 2]  # the good frames of the batch were still scored
    errs = [e for e in events if e.kind == WorkerEventKind.ERROR]
    assert len(errs) == 1 and errs[0].index == 1 and "frame 1" in errs[0].message
    # a model that raises: every frame fails, the worker stays alive and reports it
    broken = tiny_model("broken")
    broken.regressor.features = BrokenFeatures()
    w.set_model(broken)
    for i in range(3, 6):
        q.put(replace(BASE[0], index=i))
    assert wait_for(lambda: w.stats.errors >= 4)
    assert w.alive and seen == [0, 2]
    assert any("simulated model failure" in str(e) for e in events)
    # a good model again: scoring resumes
    w.set_model(tiny_model("good"))
    q.put(replace(BASE[0], index=6))
    assert wait_for(lambda: seen[-1] == 6)
    assert w.stop() and no_worker_threads()
    kinds = [e.kind for e in w.drain_events()]
    assert kinds[0] == WorkerEventKind.STARTED and kinds[-1] == WorkerEventKind.STOPPED
    assert WorkerEventKind.MODEL_CHANGED in kinds


def test_source_errors_do_not_stop_capture_or_scoring(scorer: FrameScorer) -> None:
    q = FrameQueue(maxsize=8)
    cap = CaptureThread(fast_source(n=20, fail_at={3, 9}), q, max_consecutive_errors=5)
    seen: list[int] = []
    w = ScoringWorker(q, ResultMailbox(), scorer, mode="replay", on_result=lambda r: seen.append(r.index)).start()
    cap.start()
    assert wait_for(lambda: len(seen) == 20)
    assert seen == list(range(20)) and cap.errors == 2
    assert any(e.kind.value == "error" for e in cap.drain_events())
    cap.stop()
    assert w.stop() and no_worker_threads()


def test_switching_model_at_run_time_takes_effect(scorer: FrameScorer) -> None:
    mailbox = LatestFrameMailbox()
    cap = CaptureThread(fast_source(n=None, delay_s=0.005), mailbox)
    names: list[str] = []
    w = ScoringWorker(mailbox, ResultMailbox(), scorer, on_result=lambda r: names.append(r.model_name), threads=1).start()
    cap.start()
    assert wait_for(lambda: len(names) >= 3)
    w.set_model(tiny_model("second", seed=3))
    assert wait_for(lambda: names[-1] == "second")
    w.set_device("cpu")
    with pytest.raises(SpaderError):
        if torch.cuda.is_available():
            raise SpaderError("skip: CUDA present")
        w.set_device("cuda")
    w.set_mode("replay")
    assert wait_for(lambda: w.mode == "replay")
    with pytest.raises(ValueError):
        w.set_mode("fast")
    n = len(names)
    assert wait_for(lambda: len(names) > n + 2)
    assert all(x == "second" for x in names[n:])
    st = w.stats
    assert st.model_name == "second" and st.device == "cpu" and st.mode == "replay" and st.running
    assert 0 <= st.busy <= 1 and st.fps > 0 and st.last_latency_ms is not None and st.last_latency_ms >= 0
    cap.stop()
    assert w.stop() and no_worker_threads()
    assert not w.stats.running


def test_verdict_tracker_runs_on_every_result(scorer: FrameScorer) -> None:
    q = FrameQueue(maxsize=64)
    tr = VerdictTracker(VerdictSettings(threshold=-1e9, normal_hold_s=0.1))
    got: list[FrameResult] = []
    w = ScoringWorker(q, ResultMailbox(), scorer, mode="replay", tracker=tr, on_result=got.append).start()
    for i in range(12):
        q.put(replace(BASE[i % len(BASE)], index=i, device_ts_us=round(i * 1e6 / 30)))
    assert wait_for(lambda: len(got) == 12)
    assert all(isinstance(r.verdict, VerdictState) for r in got)
    assert got[-1].verdict.verdict.value == "NORMAL" and got[0].verdict.verdict.value == "PENDING"
    assert w.stop()


def test_stopping_the_worker_releases_a_producer_blocked_on_a_full_queue() -> None:
    slow = FrameScorer(tiny_model("tiny"), device="cpu")
    q = FrameQueue(maxsize=2)
    cap = CaptureThread(fast_source(n=None), q)
    w = ScoringWorker(q, ResultMailbox(), slow, mode="replay", max_batch=1)
    cap.start()  # the worker is not running: the queue fills and the producer blocks
    assert wait_for(lambda: len(q) == 2)
    time.sleep(0.05)
    assert cap.alive and cap.state == State.RUNNING
    w.start()
    assert wait_for(lambda: w.stats.scored >= 2)
    t0 = time.monotonic()
    assert w.stop(timeout=5)
    assert cap.stop(timeout=5)
    assert time.monotonic() - t0 < 5
    assert no_worker_threads()
