"""Grad-CAM on the regressor's last conv layer, batched (Algorithm 1, lines 4-8).

Grad-CAM map = sum_k alpha_k * A_k, with alpha_k the spatial mean of dy/dA_k, returned
signed (no ReLU: the scorers apply Abs or ReLU themselves) and upsampled bilinearly to
the input size.

Fast path: when the head is global-average-pool + linear, y = w . mean_ij(A) + b, so
dy/dA_k(i,j) = w_k / (h*w) everywhere and the map is a 1x1 convolution of A with w/(h*w):
no backward pass is needed. The autograd path handles any other head and is kept as the
reference the tests compare the fast path against.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.spader.regressor import GapLinearHead


def upsample_cam(cam: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if cam.shape[-2:] == size:
        return cam
    return F.interpolate(cam[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]


def gradcam_fast(
    features: torch.Tensor, head: GapLinearHead
) -> tuple[torch.Tensor, torch.Tensor]:
    """(y, cam at feature resolution) from layer activations A (N, K, h, w); no autograd."""
    weight = head.fc.weight[0]  # (K,)
    h, w = features.shape[-2:]
    cam = torch.einsum("nkij,k->nij", features, weight) / (h * w)
    y = head(features)
    return y, cam


def gradcam_autograd(features: torch.Tensor, head: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """(y, cam at feature resolution) for any differentiable head, by autograd."""
    with torch.enable_grad():
        a = features.detach().requires_grad_(True)
        y = head(a)
        (grads,) = torch.autograd.grad(y.sum(), a)
    alpha = grads.mean(dim=(2, 3), keepdim=True)
    cam = (alpha * a.detach()).sum(dim=1)
    return y.detach(), cam


def gradcam(
    model: nn.Module, x: torch.Tensor, *, method: str = "auto"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Regressor output y (N,) and signed Grad-CAM maps (N, H, W) at the input size.

    ``model`` must expose ``features`` (conv stack; its output is the Grad-CAM layer) and
    ``head``. ``method``: "auto" (fast path when the head allows it), "fast", "autograd".
    """
    with torch.no_grad():  # Grad-CAM needs dy/dA only, never gradients into the conv stack
        features = model.features(x)
    fast_ok = isinstance(model.head, GapLinearHead)
    if method == "fast" and not fast_ok:
        raise ValueError("the fast Grad-CAM path needs a global-average-pool + linear head")
    if method == "autograd" or not fast_ok:
        y, cam = gradcam_autograd(features, model.head)
    else:
        with torch.no_grad():
            y, cam = gradcam_fast(features, model.head)
    return y, upsample_cam(cam, tuple(x.shape[-2:]))
