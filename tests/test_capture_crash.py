"""A recording process killed with SIGKILL keeps every frame written before the last second."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from capture.session import SessionReader
from capture.sources.synthetic import SyntheticSource

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import sys
from capture.mailbox import LatestFrameMailbox
from capture.recorder import Recorder
from capture.session import SessionMeta, SessionWriter
from capture.sources.pacing import Paced
from capture.sources.synthetic import SyntheticSource
from capture.thread import CaptureThread

class Reporting:
    # the real writer, reporting each frame once append() has returned
    def __init__(self, w):
        self.w, self.path = w, w.path
    def append(self, frame):
        i = self.w.append(frame)
        sys.stdout.write(f"{i}\n"); sys.stdout.flush()
        return i
    def close(self):
        self.w.close()

writer = SessionWriter.create(sys.argv[1], SessionMeta(sensor="synthetic", fps=30.0, subject_id="CRASH"))
source = Paced(SyntheticSource(320, 288, fps=30.0, seed=11), speed=1.0)
recorder = Recorder(Reporting(writer)).start()
thread = CaptureThread(source, LatestFrameMailbox(), recorder).start()
thread.join()  # records until killed
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
@pytest.mark.timeout(60)
def test_sigkilled_recording_reopens_with_every_frame_before_the_last_second(tmp_path):
    session = tmp_path / "crash"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(session)], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    reported: list[tuple[int, float]] = []  # (frame index, time the parent saw it written)

    def watch():
        for line in proc.stdout:
            reported.append((int(line), time.monotonic()))

    reader_thread = threading.Thread(target=watch, daemon=True)
    reader_thread.start()
    deadline = time.monotonic() + 40
    while len(reported) < 60 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    assert len(reported) >= 60, f"recorder did not start: {proc.stderr.read() if proc.poll() is not None else ''}"
    time.sleep(0.013)  # kill at an arbitrary instant, not right after a frame
    kill_time = time.monotonic()
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    reader_thread.join(5)
    assert proc.returncode == -signal.SIGKILL

    r = SessionReader(session)
    assert not r.closed and r.recovered  # interrupted, index rebuilt
    before_last_second = [i for i, t in reported if t <= kill_time - 1.0]
    assert len(before_last_second) >= 20  # the stream really ran at ~30 fps for > 1 s
    indices = [e.index for e in r.entries]
    assert indices == list(range(len(r)))  # no holes
    assert set(before_last_second) <= set(indices)
    assert set(i for i, _ in reported) <= set(indices)  # in fact every frame written survives
    with SyntheticSource(320, 288, fps=30.0, seed=11) as truth:
        for k in (0, len(r) // 2, len(r) - 1):
            truth.seek_index(k)
            expected = truth.read()
            got = r[k]
            assert np.array_equal(got.depth, expected.depth)
            assert got.device_ts_us == expected.device_ts_us
    assert r.meta.subject_id == "CRASH"
