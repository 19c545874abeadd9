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
from typing import Union

import numpy as np
import torch
from torch import nn

from core.spader.gradcam import gradcam

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


def reconstruct_with_loss(
    vae: nn.Module, x: torch.Tensor, *, m: int = 5, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """M reconstructions (N, M, C, H, W) and the loss map sum_m |x_hat_m - x| (N, H, W)."""
    with torch.no_grad():
        recons = vae.reconstruct(x, m, generator=generator)
        loss = (recons - x[:, None]).abs().sum(dim=1).mean(dim=1)  # sum over M, mean over channels
    return recons, loss


def score_batch(
    vae: nn.Module,
    regressor: nn.Module,
    x: torch.Tensor,
    *,
    m: int = 5,
    generator: torch.Generator | None = None,
    gradcam_method: str = "auto",
) -> ScoreBatch:
    """Score a batch x (N, C, H, W) in [0, 1] with every scorer.

    The regressor runs once on x and all N*M reconstructions together. Works inside
    ``torch.inference_mode()`` with the fast Grad-CAM path; the autograd path needs
    gradients enabled.
    """
    recons, loss = reconstruct_with_loss(vae, x, m=m, generator=generator)
    return score_reconstructions(regressor, x, recons, loss, gradcam_method=gradcam_method)


def score_reconstructions(
    regressor: nn.Module,
    x: torch.Tensor,
    recons: torch.Tensor,
    loss: torch.Tensor,
    *,
    gradcam_method: str = "auto",
    clamp_f: bool = False,
) -> ScoreBatch:
    """The scoring step after the VAE: lets several regressors share one set of reconstructions.

    ``clamp_f`` (experiments only, off everywhere else): clip f(x) to [0, 1], the range of
    its training targets, before it enters CNN-Reg, VAE+CNN-Reg and SPADER. The paper's
    formula uses the raw output; this is a measured alternative, not the method."""
    n, c, h, w = x.shape
    m = recons.shape[1]
    with torch.no_grad():
        batch = torch.cat([x, recons.reshape(n * m, c, h, w)], dim=0)
    y, cams = gradcam(regressor, batch, method=gradcam_method)
    with torch.no_grad():
        f = y[:n].clamp(0.0, 1.0) if clamp_f else y[:n]
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
