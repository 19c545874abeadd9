"""Frame sources and ``open_source``, which builds one from a user's description."""

from __future__ import annotations

from pathlib import Path

from capture.errors import CaptureError
from capture.sources.base import EndOfStream, FrameSource, SourceInfo
from capture.sources.pacing import Paced

__all__ = ["EndOfStream", "FrameSource", "SourceInfo", "Paced", "open_source"]


def open_source(
    spec: str,
    *,
    speed: float | None = 1.0,
    loop: bool = False,
    unit_mm: float = 1.0,
    depth_mode: str = "NFOV_UNBINNED",
    fps: float | None = None,
) -> FrameSource:
    """A source for ``spec`` (not yet opened).

    ``kinect`` / ``kinect:1`` (index, up to 2 digits) / ``kinect:SERIAL`` = live camera; ``synthetic`` = moving
    shapes; a ``.mkv`` file, a session folder (has session.json) or a folder of PNGs =
    file playback, paced at ``speed`` (None = as fast as possible) and optionally looped.
    """
    if spec == "kinect" or spec.startswith("kinect:"):
        from capture.sources.kinect import KinectSource

        dev = spec.partition(":")[2] or "0"
        # Serial numbers are all digits too (12 of them); a camera index is short.
        device: int | str = int(dev) if dev.isdigit() and len(dev) <= 2 else dev
        return KinectSource(device, depth_mode, None if fps is None else int(fps))
    if spec == "synthetic":
        from capture.sources.synthetic import SyntheticSource

        return Paced(SyntheticSource(fps=fps or 30.0), speed, loop)
    path = Path(spec)
    inner: FrameSource
    if path.suffix.lower() == ".mkv":
        from capture.sources.mkv import MkvSource

        inner = MkvSource(path)
    elif (path / "session.json").is_file():
        from capture.sources.session import SessionSource

        inner = SessionSource(path)
    elif path.is_dir():
        from capture.sources.images import ImageFolderSource

        inner = ImageFolderSource(path, unit_mm=unit_mm, fps=fps or 30.0)
    else:
        raise CaptureError(f"{spec} is not a camera, an .mkv file, a session or an image folder")
    return Paced(inner, speed, loop)
