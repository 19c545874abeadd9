"""Support of the GUI tests (no tests in here): scorers, sources, sessions, fixtures.

The window never computes a score; these tests feed it through the real controller and
ScoringWorker with the real ``core.runtime.scorer.FrameScorer`` on tests/support.py's
tiny random model. ``SpyScorer`` wraps it and remembers every result it handed out, so a
test can compare what the window shows with what the scorer produced.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from capture.frame import DepthFrame
from core.runtime.results import FrameResult
from support import FakeSource, pose_frames, tiny_model, wall_frames

W, H = 320, 288  # Azure Kinect NFOV 2x2 binned: small frames keep the tests fast


def hand_frames(n: int, start: int = 0) -> list[DepthFrame]:
    """Frames with two hands at W x H (support.pose_frames)."""
    return pose_frames(n, width=W, height=H, start=start)


def write_session(path: Path, frames: list[DepthFrame], subject_id: str = "T-0001") -> Path:
    from capture.session import SessionMeta, SessionWriter

    w = SessionWriter.create(path, SessionMeta(sensor="test", unit_mm=1.0, fps=30.0, subject_id=subject_id))
    for f in frames:
        w.append(f)
    w.close()
    return path


class SpyScorer:
    """Wraps a scorer and keeps every result it returned; ``delay_s`` makes each frame
    that much slower to score."""

    def __init__(self, inner, delay_s: float = 0.0) -> None:
        self.inner = inner
        self.delay_s = delay_s
        self.results: list[FrameResult] = []
        self._lock = threading.Lock()

    def __getattr__(self, name):
        return getattr(self.inner, name)

    @property
    def device(self):
        return self.inner.device

    @property
    def model(self):
        return self.inner.model

    def score_frames(self, frames):
        if self.delay_s:
            time.sleep(self.delay_s * len(frames))
        res = self.inner.score_frames(frames)
        with self._lock:
            self.results.extend(res)
        return res


def make_scorer_factory(spies: list, delay_s: float = 0.0):
    """A Controller scorer factory: the real FrameScorer, wrapped in a SpyScorer that is
    appended to ``spies``."""

    def factory(model, device):
        from core.runtime.scorer import FrameScorer

        spy = SpyScorer(FrameScorer(model, device="cpu"), delay_s)
        spies.append(spy)
        return spy

    return factory


def flaky_camera(fps: float = 30.0) -> FakeSource:
    """A live camera whose cable a test pulls (``unplug``) and plugs back (``plug_back``)."""
    return FakeSource(hand_frames(30), forever=True, fps=fps, live=True, paced=True, sensor="fake camera", width=W, height=H)


def no_app_threads() -> bool:
    names = {"capture", "scoring-worker", "session-recorder"}
    return not [t for t in threading.enumerate() if t.name in names and t.is_alive()]


# -- fixtures (imported by the test_app_* modules) ----------------------------------------------
import pytest  # noqa: E402


@pytest.fixture
def dialogs_seen(monkeypatch):
    """Every QMessageBox the app opens, recorded instead of shown (never blocks)."""
    from PySide6.QtWidgets import QMessageBox

    seen: list[tuple[str, str, str]] = []

    def record(kind):
        def fn(parent, title, text, *a, **k):
            seen.append((kind, title, text))
            return QMessageBox.Ok

        return staticmethod(fn)

    monkeypatch.setattr(QMessageBox, "critical", record("critical"))
    monkeypatch.setattr(QMessageBox, "information", record("information"))
    monkeypatch.setattr(QMessageBox, "warning", record("warning"))
    return seen


@pytest.fixture
def make_window(qtbot, qapp, tmp_path, dialogs_seen):
    """make(model=..., score_delay_s=..., list_cameras=..., demo_path=..., settings_path=...)
    -> (window, controller, spies). Every window is shut down (threads joined) afterwards."""
    from app import theme
    from app.controller import Controller
    from app.main_window import MainWindow
    from app.settings import AppSettings

    theme.apply_theme(qapp)
    created = []

    def make(model="tiny", score_delay_s=0.0, list_cameras=lambda: [], demo_path=None, settings_path=None, **kw):
        spies: list = []
        m = tiny_model() if model == "tiny" else model
        ctrl = Controller(m, scorer_factory=make_scorer_factory(spies, score_delay_s), threads=1, **kw)
        settings = AppSettings(settings_path or tmp_path / "settings.ini")
        win = MainWindow(ctrl, settings, list_cameras=list_cameras, demo_path=demo_path or tmp_path / "no-demo")
        qtbot.addWidget(win)
        win.resize(1200, 780)
        win.show()
        created.append(win)
        return win, ctrl, spies

    yield make
    for w in created:
        w.shutdown()
        w.close()
    assert no_app_threads(), "a capture, scoring or recorder thread outlived its window"


@pytest.fixture(scope="module")
def small_session(tmp_path_factory) -> Path:
    """45 frames with a hand, then 20 of an empty wall (30 fps, 2.2 s)."""
    path = tmp_path_factory.mktemp("sessions") / "small"
    return write_session(path, hand_frames(45) + wall_frames(20, start=45))


def grab(widget):
    """The widget as drawn now (QImage)."""
    from PySide6.QtWidgets import QApplication

    QApplication.processEvents()
    return widget.grab().toImage()


def image_array(img) -> np.ndarray:
    from PySide6.QtGui import QImage

    img = img.convertToFormat(QImage.Format_RGB32)
    ptr = img.constBits()
    return np.frombuffer(ptr, np.uint8, img.sizeInBytes()).reshape(img.height(), img.bytesPerLine())[:, : img.width() * 4].copy()
