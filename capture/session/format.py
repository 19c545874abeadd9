"""Names, header fields and low-level helpers of the session format (version 1)."""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capture.errors import CaptureError, CorruptFile
from capture.frame import Intrinsics

FORMAT_NAME = "spader-session"
FORMAT_VERSION = 2  # 2: each index row ends with its CRC-32 (version 1 rows have none)
HEADER_FILE = "session.json"
INDEX_FILE = "index.csv"
FRAMES_DIR = "frames"
INDEX_COLUMNS_V1 = ("index", "file", "device_ts_us", "host_ts_ns")
INDEX_COLUMNS = (*INDEX_COLUMNS_V1, "crc32")


def _row_crc(body: str) -> str:
    return f"{zlib.crc32(body.encode('utf-8', errors='surrogatepass')):08x}"


def index_row(index: int, file: str, device_ts_us: int | None, host_ts_ns: int | None) -> str:
    """One index row with its newline: the four fields, then the CRC-32 of their text (8 hex
    digits), so that a changed digit is found rather than read as another timestamp."""
    body = f"{index},{file},{'' if device_ts_us is None else device_ts_us},{'' if host_ts_ns is None else host_ts_ns}"
    return f"{body},{_row_crc(body)}\n"


def row_checksum_ok(fields: list[str]) -> bool:
    """Whether a five-field row's CRC-32 matches its first four fields."""
    return fields[4] == _row_crc(",".join(fields[:4]))


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
        """The header's fields, each checked: a damaged value (a number that is text, NaN,
        a negative size, a list for an object) is a CorruptFile naming the field, never
        a crash later or a frame with a wrong unit."""
        settings = d.get("settings")
        if settings is not None and not isinstance(settings, dict):
            raise CorruptFile(f"session header: settings must be a JSON object, got {_kind(settings)}")
        return cls(
            sensor=_text(d, "sensor", "unknown"),
            depth_mode=_text(d, "depth_mode"),
            unit_mm=_number(d, "unit_mm", 1.0, 0.0, 100.0),
            width=_size(d, "width"),
            height=_size(d, "height"),
            fps=_number(d, "fps", None, 0.0, 1000.0),
            intrinsics=_intrinsics(d.get("intrinsics")),
            subject_id=_text(d, "subject_id"),
            operator=_text(d, "operator"),
            start_time=_text(d, "start_time"),
            app_version=_text(d, "app_version"),
            settings=dict(settings or {}),
        )


def _kind(v: Any) -> str:
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 10 ** 18:
        return "a whole number of more than 18 digits"
    return {dict: "an object", list: "a list", str: "text", bool: "true/false"}.get(type(v), repr(v)[:40])


def _real(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _text(d: dict[str, Any], key: str, default: str | None = None) -> str | None:
    v = d.get(key, default)
    if v is not None and not isinstance(v, str):
        raise CorruptFile(f"session header: {key} must be text, got {_kind(v)}")
    return v


def _number(d: dict[str, Any], key: str, default: float | None, above: float, most: float) -> Any:
    v = d.get(key, default)
    if v is None and default is None:
        return None
    try:
        ok = _real(v) and above < float(v) <= most
    except OverflowError:  # an integer too large for a float
        ok = False
    if not ok:
        raise CorruptFile(f"session header: {key} must be a number above {above:g} and at most {most:g}, got {_kind(v)}")
    return float(v)


def _size(d: dict[str, Any], key: str, where: str = "session header") -> int | None:
    v = d.get(key)
    if v is None:
        return None
    if not _real(v) or not isinstance(v, int) or not 1 <= v <= 65535:
        raise CorruptFile(f"{where}: {key} must be a whole number of pixels from 1 to 65535, got {_kind(v)}")
    return v


def _intrinsics(d: Any) -> Intrinsics | None:
    if d is None:
        return None
    where = "session header: intrinsics"
    if not isinstance(d, dict):
        raise CorruptFile(f"{where} must be a JSON object, got {_kind(d)}")
    vals = {}
    for key, positive in (("fx", True), ("fy", True), ("cx", False), ("cy", False)):
        v = d.get(key)
        try:
            ok = _real(v) and math.isfinite(v) and abs(v) <= 1e6 and (v > 0 or not positive)
        except OverflowError:
            ok = False
        if not ok:
            raise CorruptFile(f"{where}: {key} must be a finite number{' above 0' if positive else ''} (pixels), got {_kind(v)}")
        vals[key] = float(v)
    dist = d.get("distortion")
    if dist is not None:
        # abs(v) <= 1e6: false for NaN and the infinities, exact for an int of any length
        if not isinstance(dist, list) or len(dist) > 16 or not all(_real(v) and abs(v) <= 1e6 for v in dist):
            raise CorruptFile(f"{where}: distortion must be a list of up to 16 finite numbers")
        dist = tuple(float(v) for v in dist)
    w, h = _size(d, "width", where), _size(d, "height", where)
    if w is None or h is None:
        raise CorruptFile(f"{where}: width and height are missing")
    return Intrinsics(width=w, height=h, distortion=dist, **vals)


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
    except (OSError, ValueError) as exc:  # ValueError: bad JSON, bad UTF-8, a 5000-digit number
        raise CorruptFile(f"session header {path} is damaged: {exc}") from exc
    except RecursionError:
        raise CorruptFile(f"session header {path} is damaged: nested too deeply to be a header") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise CorruptFile(f"{path} is not a {FORMAT_NAME} header")
    version = header.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CorruptFile(f"{path} has no valid format version")
    if version > FORMAT_VERSION:
        raise CaptureError(
            f"session {folder} uses format version {version}; this program reads up to "
            f"{FORMAT_VERSION}. Update the app to open it."
        )
    return header
