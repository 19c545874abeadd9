"""The seven scorers of the paper (eqs. 4-10) and the per-frame maps a viewer needs.

Sign convention everywhere: higher score = more normal.

Definitions used here (maps at model resolution; x in [0, 1]):
    loss      = sum over the M samples of |x_hat_m - x|   (per pixel; Algorithm 1 accumulates it)
    g_x       = GradCAM(x)  (signed),  g_r = mean_m ReLU(GradCAM(x_hat_m))
    cam       = Abs(g_x) + g_r                                            (SPADE's ROI)
    VAE                 = -mean(loss)
    naive VAE+GradCAM   = -mean(loss * ReLU(g_x))
    SPADE w/o norm      = -mean(loss * cam)
    SPADE               = -sum(loss * cam) / ||cam||      (||cam|| = sum(cam), cam >= 0)
    CNN-Reg             = f(x)
    VAE+CNN-Reg         = -mean(loss) + f(x)
    SPADER              = SPADE + f(x)
The norm of the cam is its L1 norm, so the SPADE term is the cam-weighted average of the
loss: independent of the input size and of the cam's overall magnitude, and on a scale
(M times a mean absolute error) comparable to f(x). The L2 norm would scale the term with
the side of the image and drown f(x) at 128x128. Plain sums in the VAE-only scorers are
per-pixel means here, which changes no ranking (and no AUROC) of those rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence, Union

import numpy as np
import torch
from torch import nn

from core.spader.gradcam import gradcam
from core.spader.regressor import GapLinearHead

SCORER_KEYS: tuple[str, ...] = (
    "vae",
    "vae_gradcam_naive",
    "spade_wo_norm",
    "spade",
    "cnn_reg",
    "vae_cnn_reg",
    "spader",
)
SCORER_LABELS: dict[str, str] = {
    "vae": "VAE",
    "vae_gradcam_naive": "naive VAE+GradCAM",
    "spade_wo_norm": "SPADE w/o norm",
    "spade": "SPADE",
    "cnn_reg": "CNN-Reg",
    "vae_cnn_reg": "VAE+CNN-Reg",
    "spader": "SPADER",
}
_EPS = 1e-8


Array = Union[torch.Tensor, np.ndarray]


@dataclass
class ScoreBatch:
    """Scores (N,) for every scorer and maps (N, H, W) at model resolution.

    Fields are torch tensors as scored; ``numpy()`` gives the same batch as numpy arrays.
    """

    scores: dict[str, Array]
    recon: Array  # mean of the M reconstructions
    loss_map: Array
    cam: Array
    weighted_loss: Array  # loss * cam / mean(cam): where the SPADE term comes from

    def numpy(self) -> "ScoreBatch":
        def conv(t: Array) -> np.ndarray:
            return t.detach().float().cpu().numpy() if isinstance(t, torch.Tensor) else t

        return ScoreBatch(
            scores={k: conv(v) for k, v in self.scores.items()},
            recon=conv(self.recon),
            loss_map=conv(self.loss_map),
            cam=conv(self.cam),
            weighted_loss=conv(self.weighted_loss),
        )


M_SAMPLES = 5  # VAE samples per frame (the paper's M): the one place every caller takes it from
_MASK64 = (1 << 64) - 1


def frame_seed(seed: int, index: int) -> int:
    """A well-mixed 63-bit seed for frame ``index`` (splitmix64 of the pair)."""
    z = ((int(seed) & 0xFFFFFFFF) << 32 ^ (int(index) & 0xFFFFFFFF)) + 0x9E3779B97F4A7C15
    z &= _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return (z ^ (z >> 31)) & 0x7FFFFFFFFFFFFFFF


def frame_noise(indices: Sequence[int], latent_dim: int, *, seed: int, m: int = M_SAMPLES) -> torch.Tensor:
    """The standard-normal draws (N, M, latent_dim) behind each frame's M VAE samples.

    Drawn on the CPU from a generator seeded by (seed, frame index), so a frame's samples
    do not depend on its batch, on what was scored before, or on the device."""
    out = torch.empty((len(indices), m, latent_dim))
    gen = torch.Generator()
    for row, idx in enumerate(indices):
        gen.manual_seed(frame_seed(seed, idx))
        torch.randn((m, latent_dim), generator=gen, out=out[row])
    return out


def reconstruct_with_noise(vae: nn.Module, x: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """M reconstructions (N, M, C, H, W) of x (N, C, H, W) from the standard-normal draws
    eps (N, M, latent_dim), and the loss map sum_m |x_hat_m - x| (N, H, W).

    No randomness inside: the noise is an input, so an exported graph of this function
    (``core.runtime.graph``) gives the same samples as eager PyTorch."""
    n, m = eps.shape[0], eps.shape[1]
    mu, logvar = vae.encode(x)
    std = torch.exp(0.5 * logvar)
    z = (mu[:, None] + eps * std[:, None]).reshape(n * m, mu.shape[1])
    out = vae.decode(z)
    recons = out.reshape(n, m, out.shape[1], out.shape[2], out.shape[3])
    loss = (recons - x[:, None]).abs().sum(dim=1).mean(dim=1)  # sum over M, mean over channels
    return recons, loss


def reconstruct(
    vae: nn.Module, x: torch.Tensor, indices: Sequence[int], *, seed: int, m: int = M_SAMPLES
) -> tuple[torch.Tensor, torch.Tensor]:
    """M reconstructions (N, M, C, H, W) of x (N, C, H, W) and the loss map
    sum_m |x_hat_m - x| (N, H, W); frame ``indices[i]`` seeds the samples of ``x[i]``."""
    if m < 1:
        raise ValueError(f"M (VAE samples per frame) must be at least 1, got {m}")
    if len(indices) != len(x):
        raise ValueError("one frame index per image is needed")
    with torch.no_grad():
        eps = frame_noise(indices, vae.config.latent_dim, seed=seed, m=m).to(device=x.device, dtype=x.dtype)
        return reconstruct_with_noise(vae, x, eps)


def uses_fast_gradcam(regressor: nn.Module, gradcam_method: str = "auto") -> bool:
    """Whether Grad-CAM takes the path without a backward pass (then no autograd at all)."""
    return isinstance(getattr(regressor, "head", None), GapLinearHead) and gradcam_method != "autograd"


def score_inputs(
    vae: nn.Module,
    regressor: nn.Module,
    x: torch.Tensor,
    indices: Sequence[int],
    *,
    seed: int = 0,
    m: int = M_SAMPLES,
    gradcam_method: str = "auto",
) -> ScoreBatch:
    """THE scoring function: model inputs x (N, C, H, W) in [0, 1] -> every scorer and map.

    VAE samples seeded per frame (``frame_noise``), then ``score_with_noise``: the
    reconstructions, and the regressor and Grad-CAM on x and all N*M reconstructions
    together. The app, `spader score`, `spader evaluate`, training's threshold, the
    experiments and the benchmark all score through this function or through the exported
    graph of ``score_with_noise`` (``core.runtime.graph``), which takes the same noise;
    ``score_dataset`` shares one set of reconstructions between several regressors."""
    if m < 1:
        raise ValueError(f"M (VAE samples per frame) must be at least 1, got {m}")
    if len(indices) != len(x):
        raise ValueError("one frame index per image is needed")
    eps = frame_noise(indices, vae.config.latent_dim, seed=seed, m=m).to(device=x.device, dtype=x.dtype)
    return score_with_noise(vae, regressor, x, eps, gradcam_method=gradcam_method)


def score_with_noise(
    vae: nn.Module, regressor: nn.Module, x: torch.Tensor, eps: torch.Tensor, *, gradcam_method: str = "auto"
) -> ScoreBatch:
    """Every scorer and map of x (N, C, H, W) from the VAE noise eps (N, M, latent_dim)."""
    fast = uses_fast_gradcam(regressor, gradcam_method)
    with torch.inference_mode() if fast else torch.no_grad():
        recons, loss = reconstruct_with_noise(vae, x, eps)
        if fast:
            return score_reconstructions(regressor, x, recons, loss, gradcam_method=gradcam_method)
    return score_reconstructions(regressor, x, recons, loss, gradcam_method=gradcam_method)


def score_dataset(
    vae: nn.Module,
    regressors: Mapping[str, nn.Module],
    x: torch.Tensor,
    *,
    seed: int = 0,
    m: int = M_SAMPLES,
    batch: int = 32,
) -> dict[str, dict[str, np.ndarray]]:
    """Scores (N,) of every scorer for the images x (N, C, H, W) under each regressor;
    image i is frame i. The VAE samples are drawn once per batch and shared by all
    regressors, so each regressor's scores equal ``score_inputs`` on the same frames.
    Regressors are scored with their BatchNorms folded away, as the app scores them."""
    device = next(vae.parameters()).device
    vae.eval()
    folded = {name: reg.to(device).eval().folded() for name, reg in regressors.items()}
    parts: dict[str, dict[str, list[np.ndarray]]] = {name: {k: [] for k in SCORER_KEYS} for name in folded}
    for i in range(0, len(x), batch):
        xb = x[i : i + batch].to(device).contiguous(memory_format=torch.channels_last)
        idx = range(i, i + len(xb))
        with torch.inference_mode():
            recons, loss = reconstruct(vae, xb, idx, seed=seed, m=m)
        for name, reg in folded.items():
            if uses_fast_gradcam(reg):
                with torch.inference_mode():
                    sb = score_reconstructions(reg, xb, recons, loss)
            else:  # autograd Grad-CAM cannot reuse inference tensors: the same samples, drawn again
                sb = score_inputs(vae, reg, xb, idx, seed=seed, m=m)
            for k in SCORER_KEYS:
                parts[name][k].append(sb.scores[k].detach().float().cpu().numpy())
    return {name: {k: (np.concatenate(v) if v else np.zeros(0, np.float32)) for k, v in p.items()}
            for name, p in parts.items()}


def score_reconstructions(
    regressor: nn.Module,
    x: torch.Tensor,
    recons: torch.Tensor,
    loss: torch.Tensor,
    *,
    gradcam_method: str = "auto",
) -> ScoreBatch:
    """The scoring step after the VAE: lets several regressors share one set of reconstructions."""
    n, c, h, w = x.shape
    m = recons.shape[1]
    with torch.no_grad():
        batch = torch.cat([x, recons.reshape(n * m, c, h, w)], dim=0)
    y, cams = gradcam(regressor, batch, method=gradcam_method)
    with torch.no_grad():
        f = y[:n]
        g_x = cams[:n]
        g_r = cams[n:].view(n, m, h, w).clamp_min(0).mean(dim=1)
        cam = g_x.abs() + g_r
        weighted = loss * cam
        cam_sum = cam.sum(dim=(1, 2))
        mean_loss = loss.mean(dim=(1, 2))
        # a cam that is zero everywhere carries no spatial weight: fall back to the mean loss
        spade = torch.where(
            cam_sum > _EPS, weighted.sum(dim=(1, 2)) / cam_sum.clamp_min(_EPS), mean_loss
        )
        scores = {
            "vae": -mean_loss,
            "vae_gradcam_naive": -(loss * g_x.clamp_min(0)).mean(dim=(1, 2)),
            "spade_wo_norm": -weighted.mean(dim=(1, 2)),
            "spade": -spade,
            "cnn_reg": f,
            "vae_cnn_reg": -mean_loss + f,
            "spader": -spade + f,
        }
        cam_mean = (cam_sum / (h * w)).clamp_min(_EPS)[:, None, None]
        return ScoreBatch(
            scores=scores,
            recon=recons.mean(dim=1)[:, 0],
            loss_map=loss,
            cam=cam,
            weighted_loss=weighted / cam_mean,
        )
