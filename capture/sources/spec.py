"""What a source spec names: the one parser of the strings users type for a source.

``kinect`` / ``kinect:N`` (camera index, up to 2 digits) / ``kinect:SERIAL`` name a live
camera, ``synthetic`` the moving-shapes stream; anything else is a path: an ``.mkv``
file, a session folder (it has session.json) or a folder of depth PNGs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

SourceKind = Literal["camera", "synthetic", "mkv", "session", "images", "unknown"]


def is_camera_spec(spec: str) -> bool:
    return spec == "kinect" or spec.startswith("kinect:")


def source_kind(spec: str | os.PathLike[str]) -> SourceKind:
    """What ``spec`` names; "unknown" for a path that is none of the recordings (or absent)."""
    s = os.fspath(spec)
    if is_camera_spec(s):
        return "camera"
    if s == "synthetic":
        return "synthetic"
    path = Path(s)
    if path.suffix.lower() == ".mkv":
        return "mkv"
    if (path / "session.json").is_file():
        return "session"
    if path.is_dir():
        return "images"
    return "unknown"


def kinect_device(spec: str) -> int | str:
    """The camera a ``kinect`` spec names: an index (``kinect`` = 0) or a serial number."""
    dev = spec.partition(":")[2] or "0"
    # Serial numbers are all digits too (12 of them); a camera index is short.
    return int(dev) if dev.isdigit() and len(dev) <= 2 else dev


def public_source_label(label: str) -> str:
    """A source's label as records keep it: no camera serial number. "kinect:001514394512"
    and "Azure Kinect 001514394512 (NFOV)" become "kinect" and "Azure Kinect (NFOV)";
    a recording's file name stays."""
    import re

    text = re.sub(r"(?i)\b(kinect|k4a)\s*[:=]\s*[^\s()]+", r"\1", str(label))
    text = re.sub(r"\b\d{6,}\b", "", text)  # a serial (camera indices are small numbers)
    return " ".join(text.split())
