"""The one path from depth frames to results: preprocess -> VAE (M samples) -> regressor +
Grad-CAM -> the seven scores and the maps, packed as ``FrameResult``.

The live worker, batch re-scoring and the benchmark all go through ``FrameScorer``, so a
score shown live is the score written by ``spader score`` for the same frame.

The networks run the one scoring step (``core.spader.scorers.score_with_noise``, which
training, evaluation and the experiments use too) on a backend (``core.runtime.backends``):
eager PyTorch or the exported graph of that same step. A frame's M VAE samples are seeded
by (seed, frame index), so its scores do not depend on which batch it was scored in, on
what was scored before, or (up to float rounding) on the device or the backend.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Sequence

import numpy as np
import torch

from capture.frame import DepthFrame
from core.spader.checkpoint import SpaderModel
from core.device import pick_device
from core.errors import DataError, SpaderError
from core.runtime.results import FrameResult
from core.runtime.backends import DEFAULT_BACKEND, make_backend
from core.spader.scorers import M_SAMPLES, SCORER_KEYS, ScoreBatch, frame_noise


def model_preprocess_config(model: SpaderModel) -> Any:
    """The preprocessing a model was trained with (``meta["preprocess"]``), else the
    defaults at the model's input size."""
    from core.preprocess import PreprocessConfig

    d = model.meta.get("preprocess")
    if isinstance(d, dict):
        try:
            cfg = PreprocessConfig.from_dict(d)
        except (TypeError, ValueError, KeyError) as exc:
            raise SpaderError(f"model {model.name!r}: its preprocessing settings are invalid ({exc})") from None
    else:
        cfg = PreprocessConfig(size=model.input_size)
    if cfg.size != model.input_size:
        raise SpaderError(
            f"model {model.name!r}: preprocessing size {cfg.size} does not match the "
            f"model's input size {model.input_size}"
        )
    return cfg


def _check_frame(frame: DepthFrame) -> None:
    d = getattr(frame, "depth", None)
    if not isinstance(d, np.ndarray) or d.ndim != 2 or d.dtype != np.uint16:
        desc = "no array" if not isinstance(d, np.ndarray) else f"{d.dtype} array of shape {d.shape}"
        raise DataError(f"frame {getattr(frame, 'index', '?')}: expected a 2-D uint16 depth image, got {desc}")


class FrameScorer:
    """Scores depth frames with a SPADER model. Thread-safe: a lock serialises scoring and
    model/device switches (the worker switches between batches, so it never waits)."""

    def __init__(
        self,
        model: SpaderModel,
        device: str | torch.device = "auto",
        m: int = M_SAMPLES,
        seed: int = 0,
        preprocess: Any | None = None,
        gradcam_method: str = "auto",
        backend: str = DEFAULT_BACKEND,
        threads: int | None = None,
    ) -> None:
        """``backend``: "auto" (the fastest installed, else PyTorch), "torch",
        "onnxruntime" or "openvino". ``threads``: CPU threads of a graph backend (None = its
        default; PyTorch's threads are set per calling thread, as the worker does)."""
        if m < 1:
            raise SpaderError(f"M (VAE samples per frame) must be at least 1, got {m}")
        self.m = int(m)
        self.seed = int(seed)
        self.gradcam_method = gradcam_method
        self.backend_choice = backend
        self.threads = threads
        self.backend_note = ""
        self._lock = threading.RLock()
        self._preprocess_override = preprocess
        self._device = pick_device(str(device))
        self._model = model
        self._preprocess = None
        self.set_model(model, preprocess)

    # -- configuration ----------------------------------------------------------------
    @property
    def model(self) -> SpaderModel:
        return self._model

    @property
    def device(self) -> torch.device:
        return self._device

    @property
    def preprocess(self) -> Any:
        """The PreprocessConfig in use."""
        return self._preprocess

    @property
    def input_size(self) -> int:
        return self._model.input_size

    def set_model(self, model: SpaderModel, preprocess: Any | None = None) -> None:
        """Score with ``model`` from now on (moved to this scorer's device). Its own
        preprocessing is used unless ``preprocess`` (or the one given at construction) says otherwise."""
        with self._lock:
            if preprocess is not None:
                self._preprocess_override = preprocess
            cfg = self._preprocess_override
            if cfg is None:
                cfg = model_preprocess_config(model)
            elif cfg.size != model.input_size:
                raise SpaderError(
                    f"preprocessing size {cfg.size} does not match the input size "
                    f"{model.input_size} of model {model.name!r}"
                )
            chosen = make_backend(model, self._device, self.backend_choice, m=self.m, threads=self.threads,
                                  gradcam_method=self.gradcam_method)
            self._model, self._preprocess = model, cfg
            self._backend, self.backend_note = chosen.backend, chosen.note

    def set_preprocess(self, preprocess: Any | None) -> None:
        """Override the preprocessing (None = back to the model's own)."""
        with self._lock:
            self._preprocess_override = None
            cfg = preprocess if preprocess is not None else model_preprocess_config(self._model)
            if cfg.size != self._model.input_size:
                raise SpaderError(f"preprocessing size {cfg.size} does not match the model ({self._model.input_size})")
            self._preprocess_override = preprocess
            self._preprocess = cfg

    def set_device(self, device: str | torch.device) -> None:
        """'auto', 'cpu', 'cuda' or 'cuda:N'; raises SpaderError when unavailable."""
        dev = pick_device(str(device))
        with self._lock:
            chosen = make_backend(self._model, dev, self.backend_choice, m=self.m, threads=self.threads,
                                  gradcam_method=self.gradcam_method)
            self._backend, self.backend_note, self._device = chosen.backend, chosen.note, dev

    def set_threads(self, threads: int | None) -> None:
        """CPU threads of a graph backend (the worker calls it from its own thread)."""
        with self._lock:
            self.threads = threads
            self._backend.set_threads(threads)

    @property
    def backend(self) -> str:
        """The key of the backend in use: "torch", "onnxruntime" or "openvino"."""
        return self._backend.key

    @property
    def backend_label(self) -> str:
        """What the status bar and the bench show, e.g. "onnxruntime CPU, 1 thread"."""
        return self._backend.label

    def warmup(self, batch_sizes: Sequence[int] = (1,)) -> None:
        """Run the networks once per batch size so the first real frame is not slow."""
        s = self.input_size
        for n in batch_sizes:
            self.score_arrays(np.zeros((n, s, s), np.float32))

    # -- scoring ----------------------------------------------------------------------
    def _score_tensor(self, x: torch.Tensor, indices: Sequence[int]) -> ScoreBatch:
        """x (N, C, S, S) on the CPU: the one scoring step on the backend, with this scorer's
        seed and M (the same noise whatever the backend)."""
        eps = frame_noise(indices, self._model.vae.config.latent_dim, seed=self.seed, m=self.m)
        return self._backend.score(x, eps)

    def _to_input(self, x: np.ndarray | torch.Tensor) -> torch.Tensor:
        t = torch.as_tensor(x, dtype=torch.float32)
        if t.ndim == 3:
            t = t[:, None]
        s = self.input_size
        if t.ndim != 4 or t.shape[1] != self._model.vae.config.in_channels or t.shape[-2:] != (s, s):
            raise DataError(f"expected preprocessed images of shape (N, {s}, {s}), got {tuple(t.shape)}")
        return t

    def score_arrays(self, x: np.ndarray | torch.Tensor, indices: Sequence[int] | None = None) -> ScoreBatch:
        """Score preprocessed images x (N, S, S) or (N, 1, S, S) in [0, 1]; ``indices`` seed
        each image's VAE samples (default 0..N-1). Returns numpy arrays."""
        with self._lock:
            t = self._to_input(x)
            idx = list(range(t.shape[0])) if indices is None else [int(i) for i in indices]
            if len(idx) != t.shape[0]:
                raise ValueError("one index per image is needed")
            if t.shape[0] == 0:
                s = self.input_size
                empty = np.zeros((0, s, s), np.float32)
                return ScoreBatch({k: np.zeros(0, np.float32) for k in SCORER_KEYS}, empty, empty, empty, empty)
            return self._score_tensor(t, idx).numpy()

    def score_frame(self, frame: DepthFrame) -> FrameResult:
        return self.score_frames([frame])[0]

    def score_frames(self, frames: Sequence[DepthFrame]) -> list[FrameResult]:
        """Preprocess each frame, score the ones with a hand as one batch, one result each.

        Raises on a malformed frame or a failing model (the caller decides what to do).
        """
        from core.preprocess import preprocess_frame

        with self._lock:
            cfg, model, device = self._preprocess, self._model, str(self._device)
            pre = []
            for f in frames:
                _check_frame(f)
                pre.append(preprocess_frame(f, cfg))
            hand = [i for i, p in enumerate(pre) if p.has_hand]
            sb: ScoreBatch | None = None
            if hand:
                x = np.stack([np.asarray(pre[i].image, dtype=np.float32) for i in hand])
                sb = self.score_arrays(x, [frames[i].index for i in hand])
            scored_ns = time.monotonic_ns()
            results = []
            row_of = {i: r for r, i in enumerate(hand)}
            for i, (f, p) in enumerate(zip(frames, pre)):
                res = FrameResult(
                    index=int(f.index),
                    frame_shape=(int(f.depth.shape[0]), int(f.depth.shape[1])),
                    has_hand=bool(p.has_hand),
                    reason="" if p.has_hand else (p.reason or "no hand"),
                    box=None if p.box is None else tuple(int(v) for v in p.box),  # type: ignore[arg-type]
                    maps={"input": np.asarray(p.image, dtype=np.float32)},
                    depth=f.depth,
                    unit_mm=float(f.unit_mm),
                    device_ts_us=f.device_ts_us,
                    captured_ns=int(f.host_ts_ns),
                    scored_ns=scored_ns,
                    model_name=model.name,
                    device=device,
                    ref_depth_mm=None if p.ref_depth_mm is None else float(p.ref_depth_mm),
                )
                if sb is not None and i in row_of:
                    r = row_of[i]
                    res.scores = {k: float(sb.scores[k][r]) for k in SCORER_KEYS}
                    res.maps.update(
                        recon=np.ascontiguousarray(sb.recon[r], dtype=np.float32),
                        loss=np.ascontiguousarray(sb.loss_map[r], dtype=np.float32),
                        cam=np.ascontiguousarray(sb.cam[r], dtype=np.float32),
                        weighted_loss=np.ascontiguousarray(sb.weighted_loss[r], dtype=np.float32),
                    )
                results.append(res)
            return results


def results_equal(a: FrameResult, b: FrameResult, atol: float = 1e-5) -> bool:
    """Same frame, same hand decision and the same scores within ``atol`` (for tests and checks)."""
    if a.index != b.index or a.has_hand != b.has_hand or a.box != b.box:
        return False
    if a.scores.keys() != b.scores.keys():
        return False
    return all(abs(a.scores[k] - b.scores[k]) <= atol for k in a.scores)

