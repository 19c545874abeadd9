"""16-bit PNG encode/decode with checks, shared by the session format and image folders."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from capture.errors import BadFrame, CorruptFile

# zlib level 1 with the RLE strategy: measured ~12 ms encode / ~5 ms decode for a
# 640x576 Kinect frame at ~140 kB, lossless.
PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]


def encode_png16(depth: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", depth, PNG_PARAMS)
    if not ok:  # pragma: no cover - cv2 encodes any uint16 2-D array
        raise BadFrame("could not encode depth frame as PNG")
    return buf.tobytes()


def read_png16(path: Path, expect_shape: tuple[int, int] | None = None) -> np.ndarray:
    """Read a single-channel 16-bit PNG; clear errors for anything else."""
    try:
        data = np.fromfile(path, dtype=np.uint8)  # also works for non-ASCII paths on Windows
    except OSError as exc:
        raise CorruptFile(f"cannot read {path}: {exc.strerror or exc}") from exc
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise CorruptFile(f"{path} is not a readable PNG image (truncated or damaged)")
    if img.dtype != np.uint16 or img.ndim != 2:
        kind = f"{img.dtype.itemsize * 8}-bit" + (f", {img.shape[2]} channels" if img.ndim == 3 else "")
        raise BadFrame(f"{path} is {kind}; a depth image must be a single-channel 16-bit PNG")
    if expect_shape is not None and img.shape != tuple(expect_shape):
        raise BadFrame(
            f"{path} is {img.shape[1]}x{img.shape[0]}, but this stream is "
            f"{expect_shape[1]}x{expect_shape[0]}"
        )
    return img
