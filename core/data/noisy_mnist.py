"""The seed paper's Noisy-MNIST protocol on real MNIST digits.

Each digit is resized to a random size, placed at a random position on an 84x84 canvas,
and Gaussian noise is added with a per-image sigma drawn from N(40, 30^2) on the 0-255
scale (|sigma| is used; a negative draw means the same spread). Pixels are clipped to
0-255 and scaled to [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from core.errors import DataError

CANVAS = 84


@dataclass(frozen=True)
class NoiseProtocol:
    canvas: int = CANVAS
    min_size: int = 28
    max_size: int = 64
    sigma_mean: float = 40.0
    sigma_std: float = 30.0


def load_mnist_npz(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 28, 28), labels uint8 (N,)) from an npz with those two arrays."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"MNIST file not found: {path} (pass --data PATH/mnist10k.npz)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            images, labels = npz["images"], npz["labels"]
    except KeyError as exc:
        raise DataError(f"{path}: expected arrays 'images' and 'labels' ({exc} missing)") from None
    except (ValueError, OSError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None
    if images.ndim != 3 or images.shape[0] != labels.shape[0]:
        raise DataError(f"{path}: images must be (N, H, W) with one label each, got {images.shape}")
    if images.dtype != np.uint8:
        raise DataError(f"{path}: images must be uint8 0-255, got {images.dtype}")
    return images, labels.astype(np.int64)


def render_noisy(
    digits: np.ndarray, rng: np.random.Generator, protocol: NoiseProtocol = NoiseProtocol()
) -> np.ndarray:
    """Render digits (N, 28, 28) uint8 to noisy canvases (N, 1, canvas, canvas) float32 in [0, 1]."""
    p = protocol
    n = len(digits)
    out = np.zeros((n, p.canvas, p.canvas), np.float32)
    sizes = rng.integers(p.min_size, p.max_size + 1, size=n)
    sigmas = np.abs(rng.normal(p.sigma_mean, p.sigma_std, size=n)).astype(np.float32)
    for i in range(n):
        s = int(sizes[i])
        glyph = cv2.resize(digits[i], (s, s), interpolation=cv2.INTER_LINEAR)
        y, x = rng.integers(0, p.canvas - s + 1, size=2)
        out[i, y : y + s, x : x + s] = glyph
    out += rng.standard_normal(out.shape, dtype=np.float32) * sigmas[:, None, None]
    np.clip(out, 0.0, 255.0, out=out)
    out /= 255.0
    return out[:, None]
