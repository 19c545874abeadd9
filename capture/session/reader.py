"""Session reader: opens closed and interrupted sessions, tolerates a damaged index.

The index is rebuilt in memory from what is on disk: every well-formed index row whose
PNG exists, plus any complete PNG the index does not list (its timestamps are then
unknown). Anything odd is listed in ``problems`` instead of failing the whole session.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from capture.errors import CaptureError, CorruptFile
from capture.frame import DepthFrame
from capture.pngio import read_png16
from capture.session.format import (FRAME_NAME_RE, FRAMES_DIR, INDEX_COLUMNS, INDEX_COLUMNS_V1, INDEX_FILE, SessionMeta,
                                    read_header, row_checksum_ok)


@dataclass(frozen=True)
class FrameEntry:
    index: int  # the frame's number as recorded
    file: str  # relative to the session folder
    device_ts_us: int | None
    host_ts_ns: int | None


def _parse_row(line: str, checked: bool = False) -> FrameEntry | None:
    """A row, or None when it is damaged. A row with a CRC-32 must match it; ``checked``
    (format version 2): a row without one is damaged too."""
    parts = line.split(",")
    if len(parts) == len(INDEX_COLUMNS):
        if not row_checksum_ok(parts):
            return None
        parts = parts[:4]
    elif len(parts) != len(INDEX_COLUMNS_V1) or checked:
        return None
    try:
        index = int(parts[0])
        dev = int(parts[2]) if parts[2] else None
        host = int(parts[3]) if parts[3] else None
    except ValueError:
        return None
    m = FRAME_NAME_RE.match(parts[1].removeprefix(FRAMES_DIR + "/"))
    if index < 0 or m is None or int(m.group(1)) != index:
        return None
    return FrameEntry(index, parts[1], dev, host)


def _read_index(path: Path, problems: list[str], version: int) -> dict[int, FrameEntry]:
    """The index's rows by frame; from format version 2 on every row must carry its CRC-32
    (whatever the index's own header row says: it may be the damaged line)."""
    entries: dict[int, FrameEntry] = {}
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        problems.append(f"{INDEX_FILE} is missing; frames listed from the {FRAMES_DIR} folder")
        return entries
    except OSError as exc:
        problems.append(f"{INDEX_FILE} cannot be read ({exc.strerror}); frames listed from the folder")
        return entries
    lines = text.split("\n")
    tail = lines.pop()  # text after the last newline: a row cut off by a crash
    if tail.strip():
        problems.append(f"{INDEX_FILE} ends with an incomplete row (recording was interrupted)")
    head = lines[0].strip() if lines else ""
    checked = version >= 2
    if head != ",".join(INDEX_COLUMNS if checked else INDEX_COLUMNS_V1):
        problems.append(f"{INDEX_FILE} has no valid header row")
        lines = lines[1:] if lines and _parse_row(head, checked) is None else lines
    else:
        lines = lines[1:]
    bad = 0
    for line in lines:
        entry = _parse_row(line.strip(), checked)
        if entry is None:
            bad += 1 if line.strip() else 0
        else:
            entries[entry.index] = entry
    if bad:
        problems.append(f"{INDEX_FILE} has {bad} damaged row(s); those frames have no timestamps")
    return entries


class SessionReader:
    """Random access to a session's frames, timestamps and metadata."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        header = read_header(self.path)
        self.header: dict[str, Any] = header
        self.meta = SessionMeta.from_dict(header)
        self.version: int = header["version"]
        self.closed: bool = header.get("closed") is True
        self.problems: list[str] = []
        if not self.closed:
            self.problems.append("session was not closed (recording interrupted); index rebuilt")
        self._entries = self._scan()
        self._shape = (self.meta.height, self.meta.width) if self.meta.width and self.meta.height else None

    def _scan(self) -> list[FrameEntry]:
        listed = _read_index(self.path / INDEX_FILE, self.problems, self.version)
        frames_dir = self.path / FRAMES_DIR
        try:
            names = os.listdir(frames_dir)
        except OSError:
            names = []
            self.problems.append(f"the {FRAMES_DIR} folder is missing")
        on_disk: dict[int, str] = {}
        for name in names:
            m = FRAME_NAME_RE.match(name)
            if m:
                on_disk[int(m.group(1))] = f"{FRAMES_DIR}/{name}"
        missing = sorted(set(listed) - set(on_disk))
        if missing:
            self.problems.append(f"{len(missing)} indexed frame file(s) are missing, e.g. {listed[missing[0]].file}")
        unlisted = sorted(set(on_disk) - set(listed))
        if unlisted:
            self.problems.append(f"{len(unlisted)} frame file(s) were not in the index; timestamps unknown")
        entries = [listed[i] for i in listed if i in on_disk]
        entries += [FrameEntry(i, on_disk[i], None, None) for i in unlisted]
        entries.sort(key=lambda e: e.index)
        expected = self.header.get("frame_count")
        if self.closed and isinstance(expected, int) and expected != len(entries):
            self.problems.append(f"header says {expected} frames, {len(entries)} found")
        return entries

    # -- access ----------------------------------------------------------------------
    @property
    def recovered(self) -> bool:
        """True when the session was interrupted or damaged and the index was rebuilt."""
        return bool(self.problems)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def entries(self) -> list[FrameEntry]:
        return list(self._entries)

    @property
    def device_ts_us(self) -> list[int | None]:
        return [e.device_ts_us for e in self._entries]

    @property
    def host_ts_ns(self) -> list[int | None]:
        return [e.host_ts_ns for e in self._entries]

    def time_s(self, position: int) -> float:
        """Seconds from the first frame to frame ``position`` (device time, else nominal fps)."""
        e0, e = self._entries[0], self._entries[position]
        if e.device_ts_us is not None and e0.device_ts_us is not None:
            return (e.device_ts_us - e0.device_ts_us) / 1e6
        return (e.index - e0.index) / (self.meta.fps or 30.0)

    def position_at(self, t_s: float) -> int:
        """Position of the first frame at or after ``t_s`` seconds (len() when past the end)."""
        lo, hi = 0, len(self._entries)
        while lo < hi:  # times are non-decreasing in a valid session
            mid = (lo + hi) // 2
            if self.time_s(mid) < t_s - 1e-9:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def __getitem__(self, position: int) -> DepthFrame:
        if not isinstance(position, int):
            raise TypeError("session positions are integers")
        n = len(self._entries)
        if position < 0:
            position += n
        if not 0 <= position < n:
            raise IndexError(f"frame {position} out of range (session has {n})")
        e = self._entries[position]
        try:
            depth = read_png16(self.path / e.file, self._shape)
        except CaptureError as exc:
            raise CorruptFile(f"session frame {e.index} is damaged: {exc}") from exc
        return DepthFrame(
            depth=depth,
            unit_mm=self.meta.unit_mm,
            index=e.index,
            device_ts_us=e.device_ts_us,
            host_ts_ns=e.host_ts_ns if e.host_ts_ns is not None else 0,
            intrinsics=self.meta.intrinsics,
        )

    def __iter__(self) -> Iterator[DepthFrame]:
        return self.iter_frames()

    def iter_frames(self, start: int = 0, prefetch: int = 2) -> Iterator[DepthFrame]:
        """Frames from ``start`` in order; ``prefetch`` > 0 decodes ahead on worker threads."""
        if prefetch <= 0:
            for i in range(start, len(self)):
                yield self[i]
            return
        with ThreadPoolExecutor(max_workers=prefetch, thread_name_prefix="session-read") as pool:
            ahead = prefetch * 2
            futures = [pool.submit(self.__getitem__, i) for i in range(start, min(start + ahead, len(self)))]
            nxt = start + len(futures)
            while futures:
                frame = futures.pop(0).result()
                if nxt < len(self):
                    futures.append(pool.submit(self.__getitem__, nxt))
                    nxt += 1
                yield frame

    def describe(self) -> str:
        m = self.meta
        state = "closed" if self.closed else "interrupted"
        return f"{len(self)} frames, {m.width}x{m.height} {m.sensor} ({m.unit_mm} mm/unit), {state}"
