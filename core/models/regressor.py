"""CNN regressor f(x): normal (target 1) vs known anomaly (target 0), L1 loss (eq. 3).

The network is ``features`` (conv blocks ending in an activation: Grad-CAM's layer A)
followed by ``head`` = global average pool + linear. With that head dy/dA is constant,
so Grad-CAM needs no backward pass (see core.gradcam).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class RegressorConfig:
    input_size: int = 128
    in_channels: int = 1
    widths: tuple[int, ...] = (16, 32, 64)  # one conv block per entry
    kind: str = "plain"  # "plain" (conv-ReLU-maxpool) or "resnet" (residual blocks)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RegressorConfig":
        return cls(**{**d, "widths": tuple(d["widths"])})


class GapLinearHead(nn.Module):
    """Global average pool over H, W then one linear unit: y = w . mean(A) + b."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.fc = nn.Linear(channels, 1)

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return self.fc(a.mean(dim=(2, 3))).squeeze(1)


class _ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1, stride=2)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.conv1(x))
        return self.act(self.conv2(h) + self.skip(x))


class Regressor(nn.Module):
    """f(x) in roughly [0, 1]: higher = more normal."""

    def __init__(self, config: RegressorConfig = RegressorConfig()) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        ch = config.in_channels
        for i, w in enumerate(config.widths):
            if config.kind == "resnet":
                layers.append(_ResBlock(ch, w))
            elif config.kind == "plain":
                layers += [nn.Conv2d(ch, w, 3, padding=1), nn.ReLU()]
                if i + 1 < len(config.widths):  # keep the last map at the highest resolution
                    layers.append(nn.MaxPool2d(2))
            else:
                raise ValueError(f"unknown regressor kind {config.kind!r} (plain, resnet)")
            ch = w
        self.features = nn.Sequential(*layers)
        self.head = GapLinearHead(ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
