"""Frame sources and ``open_source``, which builds one from a user's description."""

from __future__ import annotations

from pathlib import Path

from capture.errors import CaptureError
from capture.sources.base import EndOfStream, FrameSource, SourceInfo
from capture.sources.pacing import Paced
from capture.sources.spec import SourceKind, kinect_device, source_kind

__all__ = [
    "EndOfStream",
    "FrameSource",
    "SourceInfo",
    "Paced",
    "open_source",
    "source_kind",
    "SourceKind",
    "kinect_device",
]


def open_source(
    spec: str,
    *,
    speed: float | None = 1.0,
    loop: bool = False,
    unit_mm: float = 1.0,
    depth_mode: str = "NFOV_UNBINNED",
    fps: float | None = None,
) -> FrameSource:
    """A source for ``spec`` (not yet opened); ``capture.sources.spec`` says what a spec names.

    A camera and the synthetic stream are live; a recording is file playback, paced at
    ``speed`` (None = as fast as possible) and optionally looped.
    """
    kind = source_kind(spec)
    if kind == "camera":
        from capture.sources.kinect import KinectSource

        return KinectSource(kinect_device(spec), depth_mode, None if fps is None else int(fps))
    if kind == "synthetic":
        from capture.sources.synthetic import SyntheticSource

        return Paced(SyntheticSource(fps=fps or 30.0), speed, loop)
    path = Path(spec)
    inner: FrameSource
    if kind == "mkv":
        from capture.sources.mkv import MkvSource

        inner = MkvSource(path)
    elif kind == "session":
        from capture.sources.session import SessionSource

        inner = SessionSource(path)
    elif kind == "images":
        from capture.sources.images import ImageFolderSource

        inner = ImageFolderSource(path, unit_mm=unit_mm, fps=fps or 30.0)
    else:
        raise CaptureError(f"{spec} is not a camera, an .mkv file, a session or an image folder")
    return Paced(inner, speed, loop)
