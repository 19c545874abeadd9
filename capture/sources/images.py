"""A folder of 16-bit depth PNGs, read in natural order (2.png before 10.png)."""

from __future__ import annotations

import json
import math
import os
import re
import time
from pathlib import Path

from capture.errors import CaptureError
from capture.frame import DepthFrame, Intrinsics
from capture.pngio import read_png16
from capture.sources.base import EndOfStream, FrameSource, SourceInfo


def _natural_key(name: str) -> list[object]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def list_depth_pngs(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise CaptureError(f"image folder not found: {folder}")
    files = [p for p in folder.iterdir() if p.suffix.lower() == ".png" and p.is_file()]
    if not files:
        raise CaptureError(f"no .png depth images in {folder}")
    return sorted(files, key=lambda p: _natural_key(p.name))


def png_size(path: Path) -> tuple[int, int] | None:
    """(height, width) from a PNG's header without decoding it; None when it is no PNG."""
    try:
        with open(path, "rb") as f:
            head = f.read(24)
    except OSError:
        return None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return int.from_bytes(head[20:24], "big"), int.from_bytes(head[16:20], "big")


def folder_unit_mm(folder: Path | str) -> float | None:
    """The depth unit of an image folder when a data set says it: ``unit_mm`` in a
    ``dataset.json`` (docs/dataset-format.md) in the folder itself or, for one class folder
    of a data set, in its parent. None when neither gives a positive number (then whoever
    opens the folder has to ask or assume)."""
    folder = Path(folder)
    for root in (folder, folder.parent):
        try:
            meta = json.loads((root / "dataset.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        unit = meta.get("unit_mm") if isinstance(meta, dict) else None
        if isinstance(unit, (int, float)) and not isinstance(unit, bool) and unit > 0:
            return float(unit)
    return None


class ImageFolderSource(FrameSource):
    """Depth PNGs of any sensor; ``unit_mm`` says what one raw unit is (SR305: 0.125).

    There are no timestamps in a folder, so frames are spaced at ``fps``. A folder of hand
    crops holds images of many sizes: each frame keeps its own size (``info`` gives the
    first one's, and ``info.extra["sizes_vary"]`` says so; such a stream can be scored but
    not recorded as one session). A bad image raises CaptureError when it is reached, and
    the next read moves on.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        unit_mm: float = 1.0,
        fps: float = 30.0,
        sensor: str = "image folder",
        intrinsics: Intrinsics | None = None,
    ) -> None:
        super().__init__()
        if not unit_mm > 0 or not fps > 0:
            raise CaptureError("image folder needs a positive unit (mm) and fps")
        self.folder = Path(folder)
        self.unit_mm, self.fps, self.sensor = float(unit_mm), float(fps), sensor
        self.intrinsics = intrinsics
        self.files: list[Path] = []
        self._shape: tuple[int, int] | None = None
        self._sizes_vary = False
        self._pos = 0

    def _open(self) -> None:
        self.files = list_depth_pngs(self.folder)
        self._shape = read_png16(self.files[0]).shape  # type: ignore[assignment]
        sizes = {png_size(p) for p in self.files}
        sizes.discard(None)  # unreadable files are reported when they are reached
        self._sizes_vary = len(sizes) > 1
        self._pos = 0

    def _close(self) -> None:
        pass

    @property
    def info(self) -> SourceInfo:
        n = len(self.files)
        h, w = self._shape if self._shape else (None, None)
        return SourceInfo(
            sensor=self.sensor,
            unit_mm=self.unit_mm,
            depth_mode=None if w is None else ("sizes vary" if self._sizes_vary else f"{w}x{h}"),
            fps=self.fps,
            width=w,
            height=h,
            frame_count=n,
            duration_s=n / self.fps,
            can_seek=True,
            intrinsics=self.intrinsics,
            extra={"sizes_vary": True} if self._sizes_vary else {},
        )

    def seek(self, t_s: float) -> None:
        self._pos = max(0, math.ceil(t_s * self.fps - 1e-9))

    def seek_index(self, index: int) -> None:
        self._pos = max(0, int(index))

    def read(self, timeout_s: float = 0.1) -> DepthFrame | None:
        if self._pos >= len(self.files):
            raise EndOfStream
        i = self._pos
        self._pos += 1  # a bad image is reported once; the next read moves on
        depth = read_png16(self.files[i])
        return DepthFrame(
            depth=depth,
            unit_mm=self.unit_mm,
            index=i,
            device_ts_us=None,
            host_ts_ns=time.monotonic_ns(),
            intrinsics=self.intrinsics,
        )
