"""CNN regressor f(x): normal (target 1) vs known anomaly (target 0), L1 loss (eq. 3).

The network is ``features`` (conv blocks ending in an activation: Grad-CAM's layer A)
followed by ``head`` = global average pool + linear. With that head dy/dA is constant,
so Grad-CAM needs no backward pass (see core.spader.gradcam).

``members`` > 1 makes an ensemble that is still one network of that shape: K towers side by
side as grouped convolutions (tower k owns channel group k of every layer), and a head
whose weights are the members' heads divided by K. So f(x) is the mean of the members'
outputs, and Grad-CAM on the concatenated last layer is exactly the mean of the members'
Grad-CAMs (signed, before Abs/ReLU): the SPADER formula applies to it unchanged. Members
are trained one at a time (``from_members``); their disagreement on frames unlike any
training frame is what the mean averages away.

``halvings`` (fewer max-pools than blocks) keeps the last map, the Grad-CAM layer, finer
(16x16 instead of 8x8 at 128 px with 3 of 5); ``dilate`` lets the blocks after the last
pool see as far as if they had been pooled. ``norm="batch"`` puts a BatchNorm after every
convolution: in the probes no member sat on the constant-output plateau, and Grad-CAM
spread over the hands; scoring folds them away (``folded``). BatchNorm is the recipe's
default for new models (``FolderTrainConfig.reg_norm``): on real Kinect frames of a few
people the regressor without it stayed at the constant-output saddle. ``halvings`` and
``dilate`` measured no better and stay settings of files that have them (docs/results.md).
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import asdict, dataclass, replace

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

NORMS: tuple[str, ...] = ("none", "batch")


@dataclass(frozen=True)
class RegressorConfig:
    input_size: int = 128
    in_channels: int = 1
    widths: tuple[int, ...] = (16, 32, 64)  # one conv block per entry
    kind: str = "plain"  # "plain" (conv-ReLU-maxpool) or "resnet" (residual blocks)
    members: int = 1  # towers averaged (plain kind only); files without the key hold one
    # max-pool halvings of the plain kind, after the first blocks; None = one between every
    # two blocks (the last map is input_size / 2**(len(widths) - 1)); files without the key: None
    halvings: int | None = None
    # plain kind: the blocks after the last halving dilate 2, 4, 8, ... instead, so the last
    # map keeps its resolution while its receptive field grows as if they had been pooled
    dilate: bool = False
    # plain kind: "batch" puts a BatchNorm after every convolution (it folds into an affine
    # map at inference); "none" = conv-ReLU as in files without the key
    norm: str = "none"

    def __post_init__(self) -> None:
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {self.norm!r}")
        if self.norm != "none" and self.kind != "plain":
            raise ValueError("norm is a setting of the plain kind")
        if self.halvings is not None and not (isinstance(self.halvings, int) and 0 <= self.halvings < len(self.widths)):
            raise ValueError(f"halvings must be a whole number from 0 to {len(self.widths) - 1}, got {self.halvings!r}")
        if (self.halvings is not None or self.dilate) and self.kind != "plain":
            raise ValueError("halvings and dilate are settings of the plain kind (the resnet kind halves in every block)")
        if not isinstance(self.members, int) or self.members < 1:
            raise ValueError(f"members must be a whole number of at least 1, got {self.members!r}")
        if self.members > 1 and self.kind != "plain":
            raise ValueError("an ensemble of regressors (members > 1) needs the plain kind")

    def member(self) -> "RegressorConfig":
        """The configuration of one tower of this ensemble."""
        return replace(self, members=1)

    def to_dict(self) -> dict:
        d = asdict(self)
        if d["members"] == 1:  # one regressor: files that older versions can still read
            del d["members"]
        if d["halvings"] is None:
            del d["halvings"]
        if not d["dilate"]:
            del d["dilate"]
        if d["norm"] == "none":
            del d["norm"]
        return d

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


class _Towers(nn.Sequential):
    """The conv stack of an ensemble: grouped convolutions, run in channels-last layout
    (on CPU that halves their time: 76 -> 37 ms for 3 towers on 6 images of 128 px, one
    thread, against 26 ms for a single tower)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.contiguous(memory_format=torch.channels_last))


def _conv_stack(layers: list[nn.Module], towers: int) -> nn.Sequential:
    """The regressor's ``features``: a plain Sequential for one tower, channels-last towers for more."""
    if towers == 1:
        return nn.Sequential(*layers)
    return _Towers(*layers).to(memory_format=torch.channels_last)


class Regressor(nn.Module):
    """f(x) in roughly [0, 1]: higher = more normal."""

    def __init__(self, config: RegressorConfig = RegressorConfig()) -> None:
        super().__init__()
        self.config = config
        k = config.members
        layers: list[nn.Module] = []
        ch = config.in_channels
        halvings = len(config.widths) - 1 if config.halvings is None else config.halvings
        for i, w in enumerate(config.widths):
            if config.kind == "resnet":
                layers.append(_ResBlock(ch, w))
            elif config.kind == "plain":
                # the input is shared by every tower; after it, tower k sees only its own group
                dil = 2 ** max(0, i - halvings) if config.dilate else 1
                layers.append(nn.Conv2d(ch * (k if i else 1), w * k, 3, padding=dil, dilation=dil, groups=k if i else 1))
                if config.norm == "batch":  # per channel, so each tower keeps its own statistics
                    layers.append(nn.BatchNorm2d(w * k))
                layers.append(nn.ReLU())
                if i < halvings:  # never after the last block: keep its map at the highest resolution
                    layers.append(nn.MaxPool2d(2))
            else:
                raise ValueError(f"unknown regressor kind {config.kind!r} (plain, resnet)")
            ch = w
        self.features = _conv_stack(layers, k)
        self.head = GapLinearHead(ch * k)

    @classmethod
    def from_members(cls, members: list["Regressor"]) -> "Regressor":
        """One network whose output is the mean of the trained single-tower ``members``."""
        if not members:
            raise ValueError("an ensemble needs at least one of its members")
        base = members[0].config
        if any(m.config != base for m in members) or base.members != 1 or base.kind != "plain":
            raise ValueError("ensemble members must be single plain regressors of one configuration")
        k = len(members)
        out = cls(replace(base, members=k))
        with torch.no_grad():
            for i, layer in enumerate(out.features):
                if isinstance(layer, (nn.Conv2d, nn.BatchNorm2d)):
                    for name, t in layer.state_dict().items():
                        parts = [m.features[i].state_dict()[name] for m in members]
                        t.copy_(torch.stack(parts).max() if name == "num_batches_tracked" else torch.cat(parts))
            out.head.fc.weight.copy_(torch.cat([m.head.fc.weight for m in members], dim=1) / k)
            out.head.fc.bias.copy_(torch.stack([m.head.fc.bias for m in members]).mean(dim=0))
        return out.eval()

    def folded(self) -> "Regressor":
        """For scoring: a copy with each BatchNorm folded into the convolution before it
        (the same outputs; the regressor of a three-member ensemble on one CPU thread: 51 -> 38 ms
        for 6 images, 35 ms without BatchNorm), or this regressor itself when
        it has none. The copy has no BatchNorm layers any more, so it is never saved."""
        if self.config.norm == "none":
            return self
        copy = deepcopy(self).eval()
        layers: list[nn.Module] = []
        for layer in copy.features:
            if isinstance(layer, nn.BatchNorm2d):
                layers[-1] = fuse_conv_bn_eval(layers[-1], layer)
            else:
                layers.append(layer)
        copy.features = _conv_stack(layers, self.config.members)
        return copy

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
