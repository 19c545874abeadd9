"""Test support shared by the suite (no tests in here): one tiny model, one frame maker,
and (below) one fake frame source. Production code never imports this module."""

from __future__ import annotations

import numpy as np
import torch

from capture.frame import DepthFrame
from core.spader.checkpoint import SpaderModel, build_model
from core.spader.regressor import RegressorConfig
from core.spader.vae import VAEConfig

TINY_SIZE = 32


def tiny_model(name: str = "tiny-test", threshold: float | None = 0.0, seed: int = 0, **regressor: object) -> SpaderModel:
    """A random-weight model at 32 px: the smallest architecture that runs every scorer.
    ``regressor`` overrides RegressorConfig fields (e.g. ``members=3``, ``norm="batch"``)."""
    torch.manual_seed(seed)
    return build_model(
        VAEConfig(input_size=TINY_SIZE, widths=(8, 16), latent_dim=8),
        RegressorConfig(input_size=TINY_SIZE, widths=(4, 8), **regressor),  # type: ignore[arg-type]
        threshold=threshold,
        name=name,
    )


def pose_frames(n: int = 30, seed: int = 0, width: int = 640, height: int = 576, start: int = 0) -> list[DepthFrame]:
    """Depth frames (mm) of a torso at ~1.3 m with two hand blobs at ~0.6 m moving a
    little: enough for the preprocessing to find a hand, so the model runs on every frame.
    Frame k has index ``start + k`` and a device time of 30 frames/s."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    frames = []
    for k in range(n):
        i = start + k
        mm = np.full((height, width), 2500.0, np.float32)
        torso = ((xx - width / 2) / (width * 0.22)) ** 2 + ((yy - height * 0.75) / (height * 0.45)) ** 2 < 1
        mm[torso] = 1300.0
        dx = 0.0125 * width * np.sin(2 * np.pi * i / 30)
        rx, ry, cy = 0.045 * width, 0.07 * height, 0.42 * height
        for cx in (width * 0.42 + dx, width * 0.58 - dx):
            hand = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 < 1
            step = max(2.0, 0.017 * width)
            fingers = (np.abs(xx - cx) < 0.8 * rx) & (yy > cy - 2.1 * ry) & (yy < cy) & ((xx - cx) % step < step / 2)
            mm[hand | fingers] = 600.0 + 10 * np.sin(i)
        mm += rng.normal(0, 2.0, mm.shape).astype(np.float32)
        mm[rng.random(mm.shape) < 0.01] = 0
        frames.append(DepthFrame(np.clip(mm, 0, 65535).astype(np.uint16), 1.0, i, round(i * 1e6 / 30)))
    return frames


def wall_frames(n: int, width: int = 320, height: int = 288, start: int = 0) -> list[DepthFrame]:
    """A flat wall at 2.5 m: no hand."""
    rng = np.random.default_rng(1)
    out = []
    for k in range(n):
        i = start + k
        mm = np.full((height, width), 2500.0, np.float32) + rng.normal(0, 2.0, (height, width)).astype(np.float32)
        out.append(DepthFrame(mm.astype(np.uint16), 1.0, i, round(i * 1e6 / 30)))
    return out


# -- one fake frame source ---------------------------------------------------------------------
import threading  # noqa: E402
import time  # noqa: E402
from typing import Any, Collection, Sequence  # noqa: E402

from capture.events import EventKind  # noqa: E402
from capture.sources.base import EndOfStream, FrameSource, SourceInfo  # noqa: E402


class FakeSource(FrameSource):
    """A stand-in for a camera or a recording, configured by its arguments.

    Delivers ``n`` frames (default ``len(frames)``; ``forever`` for a camera), taking
    ``frames`` in turn and cycling them, then raises EndOfStream. They are renumbered: the
    k-th frame delivered has index k and a device time of k / ``fps``.

    Behaviour on demand: ``delay_s`` per read; ``paced`` delivers at most ``fps`` frames a
    second, like a camera; read number r (1-based, failed reads count) raises ``error``
    when r is in ``fail_at`` or r >= ``fail_from`` (pass KeyboardInterrupt to act like
    Ctrl-C); ``fail_open`` is raised by open; ``silent`` reads wait their timeout and
    deliver nothing; ``unplug()`` / ``plug_back()`` pull and reconnect the cable
    (DEVICE_LOST / RECONNECTED events, like capture.sources.kinect.KinectSource).
    ``info`` overrides SourceInfo fields (``live``, ``sensor``, ...). ``reads`` counts the
    reads; ``closed_from`` is the name of the thread that closed the source.
    """

    def __init__(
        self,
        frames: Sequence[DepthFrame] = (),
        *,
        n: int | None = None,
        forever: bool = False,
        fps: float = 30.0,
        live: bool = False,
        paced: bool = False,
        delay_s: float = 0.0,
        fail_at: Collection[int] = (),
        fail_from: int | None = None,
        error: BaseException | type[BaseException] = OSError("simulated read failure"),
        fail_open: BaseException | None = None,
        silent: bool = False,
        **info: Any,
    ) -> None:
        super().__init__()
        self.frames = list(frames)
        self.n: int | None = None if forever else len(self.frames) if n is None else n
        if not self.frames and not silent and self.n != 0:
            raise ValueError("a FakeSource that delivers frames needs some")
        self.fps, self.live, self.paced, self.delay_s = fps, live or silent, paced, delay_s
        self.fail_at, self.fail_from, self.error, self.fail_open = set(fail_at), fail_from, error, fail_open
        self.silent = silent
        self._info = info
        self.reads = 0
        self.delivered = 0
        self.closed_from: str | None = None
        self._unplugged = threading.Event()
        self._lost = False
        self._next_t = 0.0

    # -- the cable -----------------------------------------------------------------------------
    def unplug(self) -> None:
        self._unplugged.set()

    def plug_back(self) -> None:
        self._unplugged.clear()

    # -- FrameSource ---------------------------------------------------------------------------
    def _open(self) -> None:
        if self.fail_open is not None:
            raise self.fail_open
        self.delivered = 0
        self._next_t = time.monotonic()

    def _close(self) -> None:
        self.closed_from = threading.current_thread().name

    @property
    def info(self) -> SourceInfo:
        first = self.frames[0] if self.frames else None
        fields: dict[str, Any] = dict(
            sensor="fake",
            unit_mm=first.unit_mm if first is not None else 1.0,
            fps=self.fps,
            width=first.width if first is not None else None,
            height=first.height if first is not None else None,
            frame_count=self.n,
            live=self.live,
        )
        fields.update(self._info)
        return SourceInfo(**fields)

    def read(self, timeout_s: float = 0.1) -> DepthFrame | None:
        self.reads += 1
        if self.reads in self.fail_at or (self.fail_from is not None and self.reads >= self.fail_from):
            raise self.error
        if self.silent or self._cable_out(timeout_s):
            time.sleep(timeout_s)
            return None
        if self.n is not None and self.delivered >= self.n:
            raise EndOfStream
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.paced and not self._wait_for_next(timeout_s):
            return None
        k = self.delivered
        f = self.frames[k % len(self.frames)]
        self.delivered += 1
        return DepthFrame(f.depth, f.unit_mm, k, round(k * 1e6 / self.fps))

    def _cable_out(self, timeout_s: float) -> bool:
        """Announce an unplug or a reconnection; True while the cable is out."""
        if self._unplugged.is_set() and not self._lost:
            self._lost = True
            self._emit(EventKind.DEVICE_LOST, "fake camera unplugged; reconnecting")
        elif self._lost and not self._unplugged.is_set():
            self._lost = False
            self._emit(EventKind.RECONNECTED, "fake camera is back; streaming again")
        return self._lost

    def _wait_for_next(self, timeout_s: float) -> bool:
        wait = self._next_t - time.monotonic()
        if wait > timeout_s:
            time.sleep(timeout_s)
            return False
        if wait > 0:
            time.sleep(wait)
        self._next_t = max(self._next_t + 1.0 / self.fps, time.monotonic() - 0.1)
        return True
