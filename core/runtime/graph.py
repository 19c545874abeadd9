"""The whole scoring step as one exported ONNX graph, made from a model and cached.

``ScoringGraph`` wraps ``core.spader.scorers.score_with_noise`` (the function eager
PyTorch scores with): inputs ``x`` (N, 1, S, S) and the VAE noise ``eps`` (N, M, L),
outputs the seven scores (N, 7, in ``SCORER_KEYS`` order) and the four maps. The noise
stays an input, so the graph gives the same samples, hence the same scores, as PyTorch.

A graph is keyed by the model's content digest (``model_digest``), the graph version and
M, and carries them in its metadata: ``load_or_export`` reads them back and exports again
when any differs or the file is damaged, so a stale or foreign file is never used.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from core.errors import SpaderError
from core.spader.checkpoint import SpaderModel, model_digest
from core.spader.scorers import M_SAMPLES, SCORER_KEYS, score_with_noise, uses_fast_gradcam

GRAPH_VERSION = "1"  # bump when the exported computation or its inputs/outputs change
OPSET = 17
INPUTS = ("x", "eps")
OUTPUTS = ("scores", "recon", "loss_map", "cam", "weighted_loss")
CACHE_ENV = "SPADER_CACHE_DIR"


class DepthwiseSumConv(nn.Module):
    """A 3x3 convolution with one output channel, computed as a depthwise convolution and a
    sum over the channels: the same numbers up to float rounding. onnxruntime's convolution
    kernels work in blocks of 8 output channels, so one output channel at full resolution
    ran at 1/6 of the speed of the depthwise form (the VAE's last layer: 8.3 -> 1.4 ms for
    5 samples at 128 px, one thread)."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        cin = conv.in_channels
        self.depthwise = nn.Conv2d(cin, cin, conv.kernel_size, stride=conv.stride, padding=conv.padding,
                                   dilation=conv.dilation, groups=cin, bias=False)
        with torch.no_grad():
            self.depthwise.weight.copy_(conv.weight.reshape(cin, 1, *conv.kernel_size))
        bias = conv.bias.detach().clone() if conv.bias is not None else torch.zeros(1)
        self.register_buffer("bias", bias.view(1, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.depthwise(x).sum(dim=1, keepdim=True) + self.bias


class UpsampleConvAsTransposed(nn.Module):
    """Nearest 2x upsampling followed by a 3x3 convolution (padding 1), as one transposed
    convolution (stride 2, 4x4 kernel, padding 1) whose taps are sums of the 3x3 kernel's:
    output row 2i + a sees input rows i - 1, i (a = 0) or i, i + 1 (a = 1). The same numbers
    up to float rounding with 4/9 of the multiplications and no upsampled copy."""

    # 4x4 kernel index -> the 3x3 kernel indices (offsets -1, 0, +1 = 0, 1, 2) summed into it
    TAPS = ((2,), (1, 2), (0, 1), (0,))

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        w = conv.weight.detach()  # (Cout, Cin, 3, 3)
        k = torch.zeros(w.shape[1], w.shape[0], 4, 4, dtype=w.dtype)  # ConvTranspose: (Cin, Cout, kH, kW)
        for ky, rows in enumerate(self.TAPS):
            for kx, cols in enumerate(self.TAPS):
                k[:, :, ky, kx] = w[:, :, list(rows)][:, :, :, list(cols)].sum(dim=(2, 3)).t()
        self.conv = nn.ConvTranspose2d(w.shape[1], w.shape[0], 4, stride=2, padding=1, bias=conv.bias is not None)
        with torch.no_grad():
            self.conv.weight.copy_(k)
            if conv.bias is not None:
                self.conv.bias.copy_(conv.bias.detach())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class _TransposedUpBlock(nn.Module):
    """An ``UpBlock`` whose upsampling is exactly 2x, its first conv as ``UpsampleConvAsTransposed``."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.up = UpsampleConvAsTransposed(block.conv)
        self.extra = block.extra

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.nn.functional.leaky_relu(self.up(x), 0.2)
        for conv in self.extra:
            x = torch.nn.functional.leaky_relu(conv(x), 0.2)
        return x


def _for_export(vae: nn.Module) -> nn.Module:
    """The VAE (a copy) with layers rewritten into forms the graph runtimes run faster, with
    the same maths: decoder blocks that upsample exactly 2x, and a one-channel last layer."""
    from core.spader.vae import UpBlock

    sizes = getattr(vae, "feature_sizes", None)
    if sizes is not None:
        for i, block in enumerate(vae.decoder):
            if not isinstance(block, UpBlock):
                continue
            size_in = sizes[-(i + 1)]
            conv = block.conv
            if (block.size == 2 * size_in and conv.kernel_size == (3, 3) and conv.padding == (1, 1)
                    and conv.stride == (1, 1) and conv.dilation == (1, 1) and conv.groups == 1):
                vae.decoder[i] = _TransposedUpBlock(block)
    conv = getattr(vae, "to_image", None)
    if isinstance(conv, nn.Conv2d) and conv.out_channels == 1 and conv.groups == 1 and conv.in_channels > 1:
        vae.to_image = DepthwiseSumConv(conv)
    return vae


class ScoringGraph(nn.Module):
    """x (N, C, S, S), eps (N, M, L) -> (scores (N, 7), recon, loss_map, cam, weighted_loss).

    Made from a copy of the model: its layers may be rewritten for the runtimes (``_for_export``)."""

    def __init__(self, model: SpaderModel) -> None:
        super().__init__()
        self.vae = _for_export(model.vae)
        self.regressor = model.regressor.folded()  # what scores: BatchNorms folded away

    def forward(self, x: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, ...]:
        sb = score_with_noise(self.vae, self.regressor, x, eps, gradcam_method="fast")
        scores = torch.stack([sb.scores[k] for k in SCORER_KEYS], dim=1)
        return scores, sb.recon, sb.loss_map, sb.cam, sb.weighted_loss  # type: ignore[return-value]


def cache_dir() -> Path:
    """Where exported graphs are kept: $SPADER_CACHE_DIR, else the user cache."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "spader" / "graphs"


def code_digest() -> str:
    """SHA-256 of the code an exported graph is made of (the scoring step, the networks, the
    rewrites) and of the exporter's versions: a change to any of them makes cached graphs stale
    without anyone having to remember to bump GRAPH_VERSION."""
    import inspect

    import core.runtime.graph as graph_mod
    import core.spader.gradcam as gradcam_mod
    import core.spader.regressor as regressor_mod
    import core.spader.scorers as scorers_mod
    import core.spader.vae as vae_mod

    h = hashlib.sha256()
    for mod in (scorers_mod, gradcam_mod, regressor_mod, vae_mod, graph_mod):
        h.update(inspect.getsource(mod).encode("utf-8"))
    h.update(f"torch {torch.__version__} opset {OPSET}".encode())
    return h.hexdigest()


def graph_metadata(model: SpaderModel, m: int = M_SAMPLES) -> dict[str, str]:
    """What a graph file must say about itself to be used for ``model``."""
    return {
        "spader_graph_version": GRAPH_VERSION,
        "code_digest": code_digest(),
        "model_digest": model_digest(model),
        "m_samples": str(int(m)),
        "input_size": str(model.input_size),
        "latent_dim": str(model.vae.config.latent_dim),
        "outputs": ",".join(OUTPUTS),
        "scorers": ",".join(SCORER_KEYS),
    }


def graph_path(model: SpaderModel, m: int = M_SAMPLES, folder: Path | None = None) -> Path:
    meta = graph_metadata(model, m)
    return (folder or cache_dir()) / f"{meta['model_digest'][:24]}-g{GRAPH_VERSION}-m{int(m)}.onnx"


def check_exportable(model: SpaderModel) -> None:
    if not uses_fast_gradcam(model.regressor):
        raise SpaderError(f"model {model.name!r}: its regressor needs the autograd Grad-CAM, which is not exported")


def export_graph(model: SpaderModel, path: str | os.PathLike[str], m: int = M_SAMPLES) -> Path:
    """Export the scoring graph of ``model`` (on the CPU, float32) to ``path``, atomically."""
    check_exportable(model)
    try:
        import onnx
    except ImportError:
        raise SpaderError("exporting the scoring graph needs the onnx package (pip install onnx)") from None
    import copy

    cpu = copy.deepcopy(model).to("cpu").eval()
    for p in list(cpu.vae.parameters()) + list(cpu.regressor.parameters()):
        p.requires_grad_(False)
    graph = ScoringGraph(cpu).eval()
    s, c, lat = cpu.input_size, cpu.vae.config.in_channels, cpu.vae.config.latent_dim
    x = torch.rand((2, c, s, s), generator=torch.Generator().manual_seed(0))
    eps = torch.randn((2, m, lat), generator=torch.Generator().manual_seed(1))
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=out.name + ".", suffix=".part", dir=out.parent)
    except OSError as exc:
        raise SpaderError(f"cannot write the scoring graph to {out}: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notes
            torch.onnx.export(
                graph, (x, eps), tmp, dynamo=False, opset_version=OPSET,
                input_names=list(INPUTS), output_names=list(OUTPUTS),
                dynamic_axes={name: {0: "n"} for name in (*INPUTS, *OUTPUTS)},
            )
        proto = onnx.load(tmp)
        for k, v in graph_metadata(model, m).items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = k, v
        onnx.save(proto, tmp)
        os.replace(tmp, out)
    except SpaderError:
        raise
    except Exception as exc:
        raise SpaderError(f"could not export the scoring graph of model {model.name!r}: "
                          f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def read_graph_metadata(path: str | os.PathLike[str]) -> dict[str, str] | None:
    """The metadata of a graph file, or None when it is missing or not a readable graph
    (read with onnx, which every graph backend needs to export anyway)."""
    try:
        import onnx

        proto = onnx.load(str(path))
        onnx.checker.check_model(proto)
        return {p.key: p.value for p in proto.metadata_props}
    except Exception:
        return None


def load_or_export(model: SpaderModel, m: int = M_SAMPLES, folder: Path | None = None) -> tuple[Path, str]:
    """The graph file for ``model``: the cached one when its metadata matches, else a new
    export. Returns (path, what happened: "cached", "exported" or "re-exported (why)")."""
    path = graph_path(model, m, folder)
    want = graph_metadata(model, m)
    if path.exists():
        have = read_graph_metadata(path)
        if have is not None and all(have.get(k) == v for k, v in want.items()):
            return path, "cached"
        why = "damaged" if have is None else "made for another model or version"
        export_graph(model, path, m)
        return path, f"re-exported (the cached file was {why})"
    export_graph(model, path, m)
    return path, "exported"


def describe(meta: dict[str, Any]) -> str:
    return f"graph v{meta.get('spader_graph_version')} of model {str(meta.get('model_digest', ''))[:12]}, M={meta.get('m_samples')}"
