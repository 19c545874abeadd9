"""Training-time augmentation of model inputs: the small changes a real camera makes.

Why: on real Kinect frames of a few people, the networks learned the training people's
hands (their angle, size and place in the crop), not the pose: with 40 normal frames the
VAE's loss on an unseen person ranked the fist *below* the other gestures, and the
regressor's f(x) was the same for every class (docs/results.md, "Real Kinect frames of
several people"). Each training batch is therefore drawn through a random similarity
transform (rotation, scale, shift) and a depth offset of the foreground, so the networks
see each frame at many angles, sizes and places. Validation frames are never augmented.

Inputs are model inputs (N, 1, H, W) in [0, 1] with 0 = background; the transform keeps
that: the border that comes into view is background, and the depth offset moves only the
foreground. Deterministic for a given generator state.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Augmentation:
    rotate_deg: float = 20.0  # uniform in +-this
    scale: float = 0.10  # zoom uniform in 1 +- this
    shift: float = 0.08  # translation uniform in +-this share of the side
    depth: float = 0.05  # foreground level offset uniform in +-this (model-input units)

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"augmentation {name} must be a number of at least 0, got {value!r}")
        if self.scale >= 1:
            raise ValueError(f"augmentation scale must be below 1, got {self.scale}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Augmentation":
        return cls(**d)

    def __call__(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return augment(x, self, gen)


def augment(x: torch.Tensor, a: Augmentation, gen: torch.Generator) -> torch.Tensor:
    """``x`` (N, C, H, W) with one random transform per image (drawn from ``gen`` on the CPU)."""
    n = len(x)
    if n == 0:
        return x

    def uniform(half: float) -> torch.Tensor:
        return (torch.rand(n, generator=gen) * 2 - 1) * half

    angle = uniform(math.radians(a.rotate_deg))
    zoom = 1 + uniform(a.scale)
    tx, ty = uniform(2 * a.shift), uniform(2 * a.shift)  # affine_grid's units: the side is 2
    offset = uniform(a.depth)
    # affine_grid maps output to input coordinates: the inverse of "zoom by s, turn by t"
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    theta = theta.to(device=x.device, dtype=x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    foreground = out > 0
    out = torch.where(foreground, out + offset.to(x.device, x.dtype).view(n, 1, 1, 1), out)
    return out.clamp_(0.0, 1.0)
