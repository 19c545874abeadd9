"""Where the scoring step runs: eager PyTorch (the reference), or the exported graph of the
same step (``core.runtime.graph``) on onnxruntime or OpenVINO.

Every backend takes the model input x (N, C, S, S) and the VAE noise eps (N, M, L) that
``scorers.frame_noise`` draws from (seed, frame index), and returns the same ScoreBatch,
so a frame's scores do not depend on the backend (tests hold them to 1e-4 of PyTorch's).

``make_backend`` picks one: "auto" takes the first of ``AUTO_ORDER`` that is installed
and can run the model on the chosen device, and otherwise PyTorch, with a one-line note
saying why. On CUDA, PyTorch runs the networks (the graph backends here are CPU builds).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from core.errors import SpaderError
from core.spader.checkpoint import SpaderModel
from core.spader.scorers import M_SAMPLES, SCORER_KEYS, ScoreBatch, score_with_noise, uses_fast_gradcam

BACKEND_CHOICES: tuple[str, ...] = ("auto", "torch", "onnxruntime", "openvino")
DEFAULT_BACKEND = "auto"
# the order "auto" tries on the CPU: fastest first, as measured by `spader bench` (docs/results.md)
AUTO_ORDER: tuple[str, ...] = ("onnxruntime", "openvino")
LABELS = {"torch": "PyTorch", "onnxruntime": "onnxruntime", "openvino": "OpenVINO"}


class Backend(Protocol):
    key: str

    @property
    def label(self) -> str: ...

    def score(self, x: torch.Tensor, eps: torch.Tensor) -> ScoreBatch: ...

    def set_threads(self, threads: int | None) -> None: ...


class TorchBackend:
    """Eager PyTorch on the model's device: the reference every other backend must equal."""

    key = "torch"

    def __init__(self, model: SpaderModel, device: torch.device, gradcam_method: str = "auto") -> None:
        model.to(device).eval()
        self.vae = model.vae
        self.regressor = model.regressor.folded()  # what scores: BatchNorms folded away
        self.device = device
        self.gradcam_method = gradcam_method

    @property
    def label(self) -> str:
        return f"PyTorch {self.device.type.upper()}"

    def score(self, x: torch.Tensor, eps: torch.Tensor) -> ScoreBatch:
        xd = x.to(self.device).contiguous(memory_format=torch.channels_last)
        return score_with_noise(self.vae, self.regressor, xd, eps.to(self.device, x.dtype),
                                gradcam_method=self.gradcam_method)

    def set_threads(self, threads: int | None) -> None:
        """Torch's intra-op threads are per calling thread: the worker sets them itself."""


def _batch_from_outputs(out: list[np.ndarray]) -> ScoreBatch:
    scores, recon, loss, cam, weighted = out
    return ScoreBatch(scores={k: scores[:, i] for i, k in enumerate(SCORER_KEYS)},
                      recon=recon, loss_map=loss, cam=cam, weighted_loss=weighted)


class _GraphBackend:
    """What the two runtimes of the exported graph share: the graph, the thread count, the
    label and the numpy feeds; each builds its own session in ``_build``."""

    key = ""
    name = ""

    def __init__(self, graph: Path, threads: int | None = None) -> None:
        self.graph = Path(graph)
        self.threads: int | None = None
        self._runner: Any = None
        self.set_threads(threads)

    @property
    def label(self) -> str:
        return f"{self.name} CPU, {self.threads or 'default'} thread{'s' if self.threads != 1 else ''}"

    def set_threads(self, threads: int | None) -> None:
        if self._runner is not None and threads == self.threads:
            return
        self._runner = self._build(threads)
        self.threads = threads

    def _build(self, threads: int | None) -> Any:
        raise NotImplementedError

    def _run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        raise NotImplementedError

    def score(self, x: torch.Tensor, eps: torch.Tensor) -> ScoreBatch:
        feeds = {"x": np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32),
                 "eps": np.ascontiguousarray(eps.detach().cpu().numpy(), dtype=np.float32)}
        return _batch_from_outputs(self._run(feeds))


class OnnxRuntimeBackend(_GraphBackend):
    """The exported graph on onnxruntime's CPU provider."""

    key = "onnxruntime"
    name = "onnxruntime"

    def _build(self, threads: int | None) -> Any:
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.log_severity_level = 3
        so.intra_op_num_threads = int(threads or 0)  # 0 = one per physical core
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle helper threads would spin on the core that capture and the GUI need.
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # Work split in shrinking blocks that idle threads take, instead of one fixed share
        # per thread: a helper that the window's thread holds up no longer holds up the
        # frame (live window, 2 cores: capture->score p95 33-56 ms over 8 runs without,
        # 24-38 ms over 6 with; docs/results.md).
        so.add_session_config_entry("session.dynamic_block_base", "4")
        return ort.InferenceSession(str(self.graph), so, providers=["CPUExecutionProvider"])

    def _run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return self._runner.run(None, feeds)


class OpenVinoBackend(_GraphBackend):
    """The exported graph on OpenVINO's CPU plugin, in float32 (no bf16 or int8 downcast)."""

    key = "openvino"
    name = "OpenVINO"

    def _build(self, threads: int | None) -> Any:
        import openvino as ov

        config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        return ov.Core().compile_model(str(self.graph), "CPU", config).create_infer_request()

    def _run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        res = self._runner.infer(feeds)
        return [np.array(res[i]) for i in range(5)]


def live_threads(key: str, cpus: int | None = None) -> int | None:
    """Threads of the live scoring worker for backend ``key``. A graph backend gets every
    core: its helper threads sleep instead of spinning, so capture and the window still
    run (2 cores, `spader app --source synthetic --benchmark 12`: 2 threads scored 30.0 of
    30 frames/s with p95 28 ms, 1 thread 28.7 with p95 68 ms). PyTorch's OpenMP threads
    spin and starve the window, so it gets one thread on 2 cores, its own choice above."""
    n = cpus or os.cpu_count() or 1
    if key == "torch":
        return 1 if n <= 2 else None
    return n


def installed(key: str) -> bool:
    """Whether a backend's runtime (and the exporter it needs) can be imported."""
    import importlib.util

    if key == "torch":
        return True
    mods = {"onnxruntime": ("onnxruntime", "onnx"), "openvino": ("openvino", "onnx")}[key]
    return all(importlib.util.find_spec(m) is not None for m in mods)


@dataclass
class Choice:
    backend: Backend
    note: str = ""  # why the backend asked for is not the one in use ("" when it is)


def _graph_backend(key: str, model: SpaderModel, m: int, threads: int | None, cache: Path | None) -> Backend:
    from core.runtime.graph import load_or_export

    path, _ = load_or_export(model, m, cache)
    cls = OnnxRuntimeBackend if key == "onnxruntime" else OpenVinoBackend
    return cls(path, threads)


def make_backend(
    model: SpaderModel,
    device: torch.device,
    choice: str = DEFAULT_BACKEND,
    *,
    m: int = M_SAMPLES,
    threads: int | None = None,
    gradcam_method: str = "auto",
    cache: Path | None = None,
) -> Choice:
    """The backend for ``choice`` (one of BACKEND_CHOICES). An explicit graph backend that
    cannot run raises SpaderError; "auto" falls back to PyTorch and says why in the note."""
    if choice not in BACKEND_CHOICES:
        raise SpaderError(f"unknown scoring backend {choice!r} (choose from {', '.join(BACKEND_CHOICES)})")
    if choice == "torch":
        return Choice(TorchBackend(model, device, gradcam_method))
    why = ""
    if device.type != "cpu":
        why = f"the graph backends run on the CPU; {device.type.upper()} scores with PyTorch"
    elif not uses_fast_gradcam(model.regressor, gradcam_method):
        why = "this model's Grad-CAM needs autograd, which only PyTorch runs"
    if why:
        if choice != "auto":
            raise SpaderError(f"cannot score with {LABELS[choice]}: {why}")
        return Choice(TorchBackend(model, device, gradcam_method), "" if device.type != "cpu" else why)
    keys = AUTO_ORDER if choice == "auto" else (choice,)
    notes = []
    for key in keys:
        if not installed(key):
            notes.append(f"{LABELS[key]} is not installed")
            continue
        try:
            return Choice(_graph_backend(key, model, m, threads, cache))
        except SpaderError as exc:
            notes.append(str(exc))
        except Exception as exc:  # a runtime that cannot load the graph
            notes.append(f"{LABELS[key]} could not load the scoring graph ({type(exc).__name__}: {exc})"[:300])
    if choice != "auto":
        raise SpaderError(f"cannot score with {LABELS[choice]}: {'; '.join(notes)}")
    return Choice(TorchBackend(model, device, gradcam_method),
                  f"{'; '.join(notes[:1]) or 'no graph backend'}: scoring with PyTorch (slower)")
