"""Convolutional VAE trained on normal images only (seed paper eqs. 1-2).

The decoder mirrors the encoder's feature-map sizes exactly (nearest upsample to the
recorded size, then a 3x3 conv), so any input size works, 84x84 and 128x128 included,
without checkerboard artefacts from transposed convolutions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class VAEConfig:
    input_size: int = 128
    in_channels: int = 1
    widths: tuple[int, ...] = (16, 32, 64, 64)  # one stride-2 conv layer per entry
    latent_dim: int = 256
    # 3x3 convs per scale, on each side. 1 = the original light model (older model files
    # have no key and load as 1); 2 gives the decoder the capacity to draw finger edges.
    convs_per_level: int = 1

    def to_dict(self) -> dict:
        d = asdict(self)
        if d["convs_per_level"] == 1:  # the light model: files that older versions can still read
            del d["convs_per_level"]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "VAEConfig":
        return cls(**{**d, "widths": tuple(d["widths"])})

    def __post_init__(self) -> None:
        if not isinstance(self.convs_per_level, int) or self.convs_per_level < 1:
            raise ValueError(f"convs_per_level must be a whole number of at least 1, got {self.convs_per_level!r}")


def _feature_sizes(size: int, n_layers: int) -> list[int]:
    """Spatial size after each stride-2 conv (k=4, p=1): floor(s/2)."""
    sizes = [size]
    for _ in range(n_layers):
        sizes.append(sizes[-1] // 2)
    return sizes


class VAE(nn.Module):
    """Gaussian-latent VAE; ``reconstruct(x, m)`` returns M samples per input as one batch."""

    def __init__(self, config: VAEConfig = VAEConfig()) -> None:
        super().__init__()
        self.config = config
        c = config
        sizes = _feature_sizes(c.input_size, len(c.widths))
        if sizes[-1] < 2:
            raise ValueError(f"input_size {c.input_size} too small for {len(c.widths)} layers")
        self._sizes = sizes
        enc: list[nn.Module] = []
        ch = c.in_channels
        for w in c.widths:
            enc += [nn.Conv2d(ch, w, 4, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True)]
            for _ in range(c.convs_per_level - 1):
                enc += [nn.Conv2d(w, w, 3, padding=1), nn.LeakyReLU(0.2, inplace=True)]
            ch = w
        self.encoder = nn.Sequential(*enc)
        flat = ch * sizes[-1] * sizes[-1]
        self.fc_mu = nn.Linear(flat, c.latent_dim)
        self.fc_logvar = nn.Linear(flat, c.latent_dim)
        self.fc_dec = nn.Linear(c.latent_dim, flat)
        dec: list[nn.Module] = []
        rev = list(reversed(c.widths))
        for i, w in enumerate(rev):
            out = rev[i + 1] if i + 1 < len(rev) else max(rev[-1] // 2, 8)
            dec.append(UpBlock(w, out, sizes[-(i + 2)], c.convs_per_level - 1))
        self.decoder = nn.Sequential(*dec)
        self.to_image = nn.Conv2d(dec[-1].out_channels, c.in_channels, 3, padding=1)

    @property
    def feature_sizes(self) -> list[int]:
        """Spatial size of the input and after each encoder level (the decoder mirrors them)."""
        return list(self._sizes)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x).flatten(1)
        return self.fc_mu(h), self.fc_logvar(h).clamp(-12.0, 8.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        c = self.config
        h = self.fc_dec(z).view(z.shape[0], c.widths[-1], self._sizes[-1], self._sizes[-1])
        h = F.leaky_relu(h, 0.2)
        return torch.sigmoid(self.to_image(self.decoder(h)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One sampled reconstruction per input plus (mu, logvar), for training."""
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decode(z), mu, logvar

    def reconstruct(
        self, x: torch.Tensor, m: int = 5, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """M sampled reconstructions per input, decoded as one batch: shape (N, M, C, H, W)."""
        mu, logvar = self.encode(x)
        std = torch.exp(0.5 * logvar)
        n, d = mu.shape
        eps = torch.randn((n, m, d), generator=generator, device=mu.device, dtype=mu.dtype)
        z = (mu[:, None] + eps * std[:, None]).reshape(n * m, d)
        out = self.decode(z)
        return out.view(n, m, *out.shape[1:])


class UpBlock(nn.Module):
    """Nearest upsampling to ``size``, then a 3x3 conv (+ ``extra_convs`` more), LeakyReLU.
    The exported scoring graph computes the exact-2x case as one transposed convolution
    (``core.runtime.graph``)."""

    def __init__(self, cin: int, cout: int, size: int, extra_convs: int = 0) -> None:
        super().__init__()
        self.size = size
        self.out_channels = cout
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        # empty for the light model: no state-dict keys, so old files load as before
        self.extra = nn.ModuleList(nn.Conv2d(cout, cout, 3, padding=1) for _ in range(extra_convs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=(self.size, self.size), mode="nearest")
        x = F.leaky_relu(self.conv(x), 0.2)
        for conv in self.extra:
            x = F.leaky_relu(conv(x), 0.2)
        return x


def vae_loss(
    x: torch.Tensor, recon: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, beta: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Negative ELBO per image (Bernoulli likelihood on [0,1] pixels + KL), batch mean.

    Returns (total, reconstruction, kl).
    """
    rec = F.binary_cross_entropy(recon, x, reduction="none").flatten(1).sum(1).mean()
    kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)).mean()
    return rec + beta * kl, rec, kl
