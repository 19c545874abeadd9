"""Names, header fields and low-level helpers of the session format (version 1)."""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capture.errors import CaptureError, CorruptFile
from capture.frame import Intrinsics

FORMAT_NAME = "spader-session"
FORMAT_VERSION = 1
HEADER_FILE = "session.json"
INDEX_FILE = "index.csv"
FRAMES_DIR = "frames"
INDEX_COLUMNS = ("index", "file", "device_ts_us", "host_ts_ns")
FRAME_NAME_RE = re.compile(r"^(\d{6,})\.png$")


def frame_name(index: int) -> str:
    return f"{index:06d}.png"


def app_version() -> str:
    try:
        from importlib.metadata import version

        return version("spader-yfpit")
    except Exception:  # not installed (running from a checkout)
        return "unknown"


def utc_now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class SessionMeta:
    """Everything a session records besides the frames. ``settings`` is free-form JSON."""

    sensor: str = "unknown"
    depth_mode: str | None = None
    unit_mm: float = 1.0
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    intrinsics: Intrinsics | None = None
    subject_id: str | None = None  # pseudonymous: never a name or a device serial
    operator: str | None = None
    start_time: str | None = None  # ISO 8601 UTC; set when the session is created
    app_version: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sensor": self.sensor,
            "depth_mode": self.depth_mode,
            "unit_mm": float(self.unit_mm),
            "width": self.width,
            "height": self.height,
            "fps": self.fps,
            "intrinsics": None if self.intrinsics is None else self.intrinsics.to_dict(),
            "subject_id": self.subject_id,
            "operator": self.operator,
            "start_time": self.start_time,
            "app_version": self.app_version,
            "settings": self.settings,
        }

    @classmethod
    def from_stream(cls, info: Any, **fields: Any) -> "SessionMeta":
        """The stream's own facts (a ``capture.sources.base.SourceInfo``: sensor, depth mode,
        unit, size, fps, intrinsics) plus the session's ``fields`` (subject id, operator, ...)."""
        stream = {k: getattr(info, k) for k in ("sensor", "depth_mode", "unit_mm", "width", "height", "fps", "intrinsics")}
        return cls(**stream, **fields)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SessionMeta":
        try:
            return cls(
                sensor=str(d.get("sensor", "unknown")),
                depth_mode=d.get("depth_mode"),
                unit_mm=float(d.get("unit_mm", 1.0)),
                width=d.get("width"),
                height=d.get("height"),
                fps=d.get("fps"),
                intrinsics=Intrinsics.from_dict(d.get("intrinsics")),
                subject_id=d.get("subject_id"),
                operator=d.get("operator"),
                start_time=d.get("start_time"),
                app_version=d.get("app_version"),
                settings=dict(d.get("settings") or {}),
            )
        except (TypeError, ValueError, KeyError) as exc:
            raise CorruptFile(f"session header has an invalid field: {exc}") from exc


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable (no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write to a temporary file, fsync, rename over ``path``: readers see old or new, never half."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # health data: 600 whatever the umask
    os.fchmod(fd, 0o600)
    with open(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def read_header(folder: Path) -> dict[str, Any]:
    path = folder / HEADER_FILE
    if not folder.is_dir():
        raise CaptureError(f"session folder not found: {folder}")
    if not path.is_file():
        raise CorruptFile(f"{folder} is not a session: {HEADER_FILE} is missing")
    try:
        header = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptFile(f"session header {path} is damaged: {exc}") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise CorruptFile(f"{path} is not a {FORMAT_NAME} header")
    version = header.get("version")
    if not isinstance(version, int) or version < 1:
        raise CorruptFile(f"{path} has no valid format version")
    if version > FORMAT_VERSION:
        raise CaptureError(
            f"session {folder} uses format version {version}; this program reads up to "
            f"{FORMAT_VERSION}. Update the app to open it."
        )
    return header
