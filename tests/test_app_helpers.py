"""Shared pieces of the GUI tests (no tests in here): models, scorers, sources, sessions.

The window never computes a score; these tests feed it through the real controller and
ScoringWorker. The scorer is the real ``core.runtime.scorer.FrameScorer`` on a tiny random
model when the preprocessing (core/preprocess.py) is in the checkout, else ``FakeScorer``,
a stand-in with FrameScorer's interface that produces real FrameResults (hand = pixels
nearer than 1 m). ``SpyScorer`` wraps either and remembers every result it handed out,
so a test can compare what the window shows with what the scorer produced.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np

from capture.events import EventKind
from capture.frame import DepthFrame
from capture.sources.base import FrameSource, SourceInfo
from core.runtime.results import FrameResult

HAVE_PREPROCESS = importlib.util.find_spec("core.preprocess") is not None
W, H = 320, 288  # Azure Kinect NFOV 2x2 binned: small frames keep the tests fast


def tiny_model(name: str = "tiny-test", threshold: float = 0.0):
    import torch

    from core.spader.checkpoint import build_model
    from core.spader import RegressorConfig, VAEConfig

    torch.manual_seed(0)
    return build_model(
        VAEConfig(input_size=32, widths=(8, 16), latent_dim=8),
        RegressorConfig(input_size=32, widths=(4, 8)),
        threshold=threshold,
        name=name,
    )


def hand_frames(n: int, start: int = 0) -> list[DepthFrame]:
    from core.runtime.bench import pose_frames

    base = pose_frames(min(n, 30), width=W, height=H)
    return [DepthFrame(base[i % len(base)].depth, 1.0, start + i, round((start + i) * 1e6 / 30)) for i in range(n)]


def wall_frames(n: int, start: int = 0) -> list[DepthFrame]:
    """A flat wall at 2.5 m: no hand."""
    rng = np.random.default_rng(1)
    out = []
    for i in range(n):
        mm = np.full((H, W), 2500.0, np.float32) + rng.normal(0, 2.0, (H, W)).astype(np.float32)
        out.append(DepthFrame(mm.astype(np.uint16), 1.0, start + i, round((start + i) * 1e6 / 30)))
    return out


def write_session(path: Path, frames: list[DepthFrame], subject_id: str = "T-0001") -> Path:
    from capture.session import SessionMeta, SessionWriter

    w = SessionWriter.create(path, SessionMeta(sensor="test", unit_mm=1.0, fps=30.0, subject_id=subject_id))
    for f in frames:
        w.append(f)
    w.close()
    return path


class FakeScorer:
    """FrameScorer's interface without core/preprocess.py: a hand is whatever is nearer
    than 1 m; the score is ``score_fn(frame)`` (default: from the hand's mean depth)."""

    def __init__(self, model, device: str = "cpu", score_fn: Callable[[DepthFrame], float] | None = None) -> None:
        self.model = model
        self.device = "cpu"
        self.size = 32
        self.score_fn = score_fn

    def set_model(self, model, preprocess=None) -> None:
        self.model = model

    def set_device(self, device) -> None:
        self.device = str(device)

    def score_frames(self, frames) -> list[FrameResult]:
        out = []
        for f in frames:
            mm = f.depth.astype(np.float32) * f.unit_mm
            near = (mm > 0) & (mm < 1000)
            base = dict(index=int(f.index), frame_shape=f.depth.shape, depth=f.depth, unit_mm=f.unit_mm,
                        device_ts_us=f.device_ts_us, captured_ns=f.host_ts_ns, scored_ns=time.monotonic_ns(),
                        model_name=self.model.name, device="cpu")
            if near.sum() < 50:
                out.append(FrameResult(has_hand=False, reason="nothing nearer than 1 m", **base))
                continue
            ys, xs = np.nonzero(near)
            cx, cy = (xs.min() + xs.max()) // 2, (ys.min() + ys.max()) // 2
            half = max(xs.max() - xs.min(), ys.max() - ys.min()) // 2 + 4
            x0, y0 = int(max(0, cx - half)), int(max(0, cy - half))
            x1, y1 = int(min(f.depth.shape[1], cx + half)), int(min(f.depth.shape[0], cy + half))
            s = self.size
            ry = np.linspace(y0, y1 - 1, s).astype(int)
            rx = np.linspace(x0, x1 - 1, s).astype(int)
            crop = mm[np.ix_(ry, rx)]
            inp = np.clip((1000 - crop) / 500, 0, 1).astype(np.float32)
            recon = (0.8 * inp + 0.1).astype(np.float32)
            loss = np.abs(recon - inp)
            yy, xx = np.mgrid[0:s, 0:s]
            cam = np.exp(-((xx - s * 0.3) ** 2 + (yy - s * 0.3) ** 2) / (2 * (s / 6) ** 2)).astype(np.float32)
            score = self.score_fn(f) if self.score_fn else float(1.0 - (mm[near].mean() - 600.0) / 100.0)
            from core.spader.scorers import SCORER_KEYS

            scores = {k: score for k in SCORER_KEYS}
            out.append(FrameResult(has_hand=True, scores=scores, box=(x0, y0, x1, y1),
                                   maps={"input": inp, "recon": recon, "loss": loss, "cam": cam,
                                         "weighted_loss": loss * cam}, **base))
        return out


class SpyScorer:
    """Wraps a scorer and keeps every result it returned (index -> result)."""

    def __init__(self, inner) -> None:
        self.inner = inner
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
        res = self.inner.score_frames(frames)
        with self._lock:
            self.results.extend(res)
        return res


def make_scorer_factory(spies: list, score_fn=None):
    """A Controller scorer factory: the real FrameScorer when possible, else FakeScorer;
    every scorer made is wrapped in a SpyScorer and appended to ``spies``."""

    def factory(model, device):
        if HAVE_PREPROCESS and score_fn is None:
            from core.runtime.scorer import FrameScorer

            inner = FrameScorer(model, device="cpu")
        else:
            inner = FakeScorer(model, score_fn=score_fn)
        spy = SpyScorer(inner)
        spies.append(spy)
        return spy

    return factory


class FlakyCamera(FrameSource):
    """A live camera whose cable the test pulls (``lose``) and plugs back (``back``);
    announces DEVICE_LOST / RECONNECTED like capture.sources.kinect.KinectSource."""

    def __init__(self, fps: float = 30.0) -> None:
        super().__init__()
        self.frames = hand_frames(30)
        self.fps = fps
        self.lose = threading.Event()
        self.back = threading.Event()
        self.i = 0
        self.lost = False
        self._next_t = 0.0

    def _open(self) -> None:
        self._next_t = time.monotonic()

    def _close(self) -> None:
        pass

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(sensor="fake camera", unit_mm=1.0, fps=self.fps, width=W, height=H, live=True)

    def read(self, timeout_s: float = 0.1) -> DepthFrame | None:
        if self.lose.is_set() and not self.lost and not self.back.is_set():
            self.lost = True
            self._emit(EventKind.DEVICE_LOST, "fake camera unplugged; reconnecting")
        if self.lost:
            if self.back.is_set():
                self.lost = False
                self._emit(EventKind.RECONNECTED, "fake camera is back; streaming again")
            else:
                time.sleep(timeout_s)
                return None
        wait = self._next_t - time.monotonic()
        if wait > timeout_s:
            time.sleep(timeout_s)
            return None
        if wait > 0:
            time.sleep(wait)
        self._next_t = max(self._next_t + 1.0 / self.fps, time.monotonic() - 0.1)
        f = self.frames[self.i % len(self.frames)]
        out = DepthFrame(f.depth, 1.0, self.i, round(self.i * 1e6 / self.fps))
        self.i += 1
        return out


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
    """make(model=..., score_fn=..., list_cameras=..., demo_path=..., settings_path=...)
    -> (window, controller, spies). Every window is shut down (threads joined) afterwards."""
    from app import theme
    from app.controller import Controller
    from app.main_window import MainWindow
    from app.settings import AppSettings

    theme.apply_theme(qapp)
    created = []

    def make(model="tiny", score_fn=None, list_cameras=lambda: [], demo_path=None, settings_path=None, **kw):
        spies: list = []
        m = tiny_model() if model == "tiny" else model
        ctrl = Controller(m, scorer_factory=make_scorer_factory(spies, score_fn), threads=1, **kw)
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
