"""Append-only, crash-safe session writer.

The folder is built under a hidden name and renamed into place once its header and index
exist, so no kill leaves a session without ``session.json``. Per frame: the PNG is written to ``NNNNNN.png.tmp`` and renamed into place, then its
index row is appended and handed to the OS. A process killed at any instant therefore
leaves only complete PNGs and at most one partial last index line, which the reader
ignores. Once per ``sync_interval_s`` the new files, the index and the folder are
fsynced, so even a power cut loses at most about that last interval.

Device times in the index only increase. A replayed source that loops or is sought while
it is being recorded starts its device time over; the writer then continues the time line
one frame step after the last written frame, so the recording replays as one take (a
plot or verdict tracker would otherwise see time run backwards mid-session).
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from capture.errors import BadFrame, CaptureError, SessionExists
from capture.frame import DepthFrame, Intrinsics
from capture.pngio import encode_png16
from capture.session.format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    FRAMES_DIR,
    HEADER_FILE,
    INDEX_COLUMNS,
    index_row,
    INDEX_FILE,
    SessionMeta,
    app_version,
    frame_name,
    fsync_dir,
    utc_now_iso,
    write_json_atomic,
)
from capture.subject import check_subject_id


def public_intrinsics(intr: Intrinsics | None) -> Intrinsics | None:
    """Intrinsics as a session keeps them: the pinhole to 0.01 px, the distortion to 4
    decimals. Factory values at full precision identify the camera unit (a near-serial);
    scoring uses only fx, fy, cx, cy (to size the crop in mm), where 0.01 px is 0.002 %."""
    if intr is None:
        return None
    dist = None if intr.distortion is None else tuple(round(float(v), 4) for v in intr.distortion)
    return dataclasses.replace(intr, fx=round(float(intr.fx), 2), fy=round(float(intr.fy), 2),
                               cx=round(float(intr.cx), 2), cy=round(float(intr.cy), 2), distortion=dist)


class SessionWriter:
    """``SessionWriter.create(path, meta)``, then ``append(frame)`` ..., then ``close()``."""

    def __init__(self, path: Path, meta: SessionMeta, sync_interval_s: float = 1.0) -> None:
        self.path = Path(path)
        self.meta = meta
        self.sync_interval_s = sync_interval_s
        self._frames_dir = self.path / FRAMES_DIR
        self._next_index = 0
        self._unsynced: list[Path] = []
        self._last_sync = time.monotonic()
        self._closed = False
        self._start_monotonic_ns = time.monotonic_ns()
        self._index_fd = -1
        self._dev_last_raw_us: int | None = None  # device time of the last frame as it came
        self._dev_step_us = 1  # the last forward step between frames
        self._dev_offset_us = 0  # added to the incoming device time

    # -- creation --------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike[str], meta: SessionMeta | None = None, **kw: Any) -> "SessionWriter":
        """Create a new session folder; refuses to touch an existing non-empty one, and a
        subject id that is not a pseudonym (``capture.subject``); a session may have none."""
        path = Path(path)
        meta = meta or SessionMeta()
        if meta.subject_id is not None:
            meta.subject_id = check_subject_id(meta.subject_id)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise SessionExists(f"{path} already exists; choose a new session folder")
        if not meta.unit_mm > 0:
            raise CaptureError(f"session depth unit must be positive, got {meta.unit_mm}")
        meta.start_time = meta.start_time or utc_now_iso()
        meta.app_version = meta.app_version or app_version()
        meta.intrinsics = public_intrinsics(meta.intrinsics)
        # Built under a hidden name and renamed into place: a process killed at any instant
        # leaves either no session folder or one whose header and index are complete.
        building = path.with_name(f".{path.name}.creating-{os.getpid()}-{secrets.token_hex(4)}")
        writer = cls(building, meta, **kw)
        try:
            # health data: the folders 700 and every file 600, whatever the umask
            path.parent.mkdir(parents=True, exist_ok=True)
            building.mkdir(mode=0o700)
            os.chmod(building, 0o700)
            (building / FRAMES_DIR).mkdir(mode=0o700)
            os.chmod(building / FRAMES_DIR, 0o700)
            writer._write_header()
            writer._index_fd = os.open(building / INDEX_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.fchmod(writer._index_fd, 0o600)
            os.write(writer._index_fd, (",".join(INDEX_COLUMNS) + "\n").encode())
            os.fsync(writer._index_fd)
            fsync_dir(building)
            os.rename(building, path)  # onto nothing, or onto the empty folder the caller made
            fsync_dir(path.parent)
        except OSError as exc:
            if writer._index_fd >= 0:
                os.close(writer._index_fd)
            shutil.rmtree(building, ignore_errors=True)
            raise CaptureError(f"cannot create session {path}: {exc.strerror or exc}") from exc
        writer.path, writer._frames_dir = path, path / FRAMES_DIR
        return writer

    def _header(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            **self.meta.to_dict(),
            "start_monotonic_ns": self._start_monotonic_ns,
            "closed": self._closed,
            "frame_count": self._next_index if self._closed else None,
            "end_time": utc_now_iso() if self._closed else None,
        }

    def _write_header(self) -> None:
        write_json_atomic(self.path / HEADER_FILE, self._header())

    # -- appending -------------------------------------------------------------------
    @property
    def frame_count(self) -> int:
        return self._next_index

    def append(self, frame: DepthFrame) -> int:
        """Write one frame durably enough to survive a crash of this process; return its index."""
        if self._closed:
            raise CaptureError("session writer is closed")
        self._check(frame)
        i = self._next_index
        name = frame_name(i)
        final = self._frames_dir / name
        tmp = final.with_name(name + ".tmp")
        data = encode_png16(frame.depth)
        try:
            with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
                f.write(data)
            os.replace(tmp, final)
            row = index_row(i, f"{FRAMES_DIR}/{name}", self._device_time(frame.device_ts_us), int(frame.host_ts_ns))
            os.write(self._index_fd, row.encode())
        except OSError as exc:
            raise CaptureError(f"cannot write frame {i} to {self.path}: {exc.strerror or exc}") from exc
        self._next_index = i + 1
        self._unsynced.append(final)
        if time.monotonic() - self._last_sync >= self.sync_interval_s:
            self.sync()
        return i

    def _device_time(self, raw: int | None) -> int | None:
        """The frame's device time on the session's increasing time line (see the module doc)."""
        if raw is None:
            return None
        raw, last = int(raw), self._dev_last_raw_us
        if last is not None:
            if raw <= last:  # a loop or a seek in the source: one step after the last frame written
                self._dev_offset_us += last + self._dev_step_us - raw
            else:
                self._dev_step_us = raw - last
        self._dev_last_raw_us = raw
        return raw + self._dev_offset_us

    def _check(self, frame: DepthFrame) -> None:
        m = self.meta
        if abs(frame.unit_mm - m.unit_mm) > 1e-9:
            raise BadFrame(f"frame unit {frame.unit_mm} mm differs from the session's {m.unit_mm} mm")
        if m.width is None or m.height is None:
            m.width, m.height = frame.width, frame.height
            if m.intrinsics is None:
                m.intrinsics = public_intrinsics(frame.intrinsics)
            self._write_header()
        elif (frame.width, frame.height) != (m.width, m.height):
            raise BadFrame(f"frame is {frame.width}x{frame.height}, the session is {m.width}x{m.height}")

    def sync(self) -> None:
        """fsync frames written since the last sync, the index and the folders."""
        try:
            for p in self._unsynced:
                fd = os.open(p, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            os.fsync(self._index_fd)
        except OSError as exc:
            raise CaptureError(f"cannot sync session {self.path}: {exc.strerror or exc}") from exc
        if self._unsynced:
            fsync_dir(self._frames_dir)
        self._unsynced.clear()
        self._last_sync = time.monotonic()

    def close(self) -> None:
        """Sync everything and mark the session as closed in its header."""
        if self._closed:
            return
        self.sync()
        os.close(self._index_fd)
        self._closed = True
        self._write_header()

    def __enter__(self) -> "SessionWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
