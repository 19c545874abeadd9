"""What the clinician saw, recorded beside the frames of a session, append-only and
crash-safe (docs/session-format.md, "Screening files"):

- ``results.csv``: one row per scored frame: the seven scores, the verdict, the smoothed
  score and the threshold in force, the hand box and the no-hand reason;
- ``events.jsonl``: one JSON object per event (attempt start and end, outcome,
  invalidation, threshold or model change, notes), each synced before ``write`` returns.

Rows are handed to the OS as they come and synced at least every ``sync_interval_s``
(0.5 s), so a SIGKILL loses nothing the OS got and a power cut at most that interval.
A reader ignores a cut last line. Files are 600: they are health data.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from core.errors import SpaderError
from core.spader.scorers import SCORER_KEYS

RESULTS_FILE = "results.csv"
EVENTS_FILE = "events.jsonl"
RESULTS_VERSION = 1
RESULT_COLUMNS: tuple[str, ...] = (
    "index", "t_s", "device_ts_us", "host_ts_ns", "has_hand", "reason", "x0", "y0", "x1", "y1",
    *SCORER_KEYS, "smoothed", "verdict", "threshold", "phase",
)


class WriteFailed(SpaderError):
    """A write that failed; ``written``: the line reached the OS all the same (only the
    sync to the disk failed), so it must not be written again."""

    written = False


class _AppendFile:
    def __init__(self, path: Path, header: bytes | None, sync_interval_s: float) -> None:
        self.path = Path(path)
        self.sync_interval_s = float(sync_interval_s)
        self._lock = threading.Lock()
        new = not self.path.exists() or self.path.stat().st_size == 0
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            if new and header:
                os.write(self._fd, header)
                os.fsync(self._fd)
        except OSError as exc:
            raise SpaderError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        self._last_sync = time.monotonic()
        self._cut = False  # the file ends in a part of a line

    def _write(self, data: bytes, sync: bool = False) -> None:
        with self._lock:
            if self._fd < 0:
                raise SpaderError(f"{self.path} is closed")
            if self._cut:  # a line cut by an earlier failed write stays a line of its own
                data = b"\n" + data
            try:
                view = memoryview(data)
                while view:  # a nearly full disk takes part of a write and refuses the rest
                    n = os.write(self._fd, view)
                    if n <= 0:
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                    view = view[n:]
                self._cut = False
                now = time.monotonic()
                if sync or now - self._last_sync >= self.sync_interval_s:
                    os.fsync(self._fd)
                    self._last_sync = now
            except OSError as exc:  # a full disk: the caller shows it; what was written stays
                err = WriteFailed(f"cannot write {self.path}: {exc.strerror or exc}")
                err.written = len(view) == 0  # the whole line reached the OS; only its sync failed
                self._cut = self._cut or 0 < len(view) < len(data)
                raise err from None

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                try:
                    os.fsync(self._fd)
                finally:
                    os.close(self._fd)
                    self._fd = -1


def _num(v: Any, digits: int = 6) -> str:
    if v is None:
        return ""
    f = float(v)
    return "" if not math.isfinite(f) else f"{f:.{digits}f}"


class ResultsLog(_AppendFile):
    """``results.csv`` of a session folder."""

    def __init__(self, session: str | os.PathLike[str], sync_interval_s: float = 0.5) -> None:
        super().__init__(Path(session) / RESULTS_FILE, (",".join(RESULT_COLUMNS) + "\n").encode(), sync_interval_s)

    def write(self, result: Any, t_s: float, threshold: float, phase: str = "") -> None:
        """One scored frame (a ``core.runtime.results.FrameResult``, its verdict state set);
        ``phase``: where the screening stood (instruction, running, outcome, done): outside
        "running" the window showed WAITING, whatever the verdict."""
        st = getattr(result, "verdict", None)
        box = result.box or (None, None, None, None)
        row = [str(int(result.index)), _num(t_s), "" if result.device_ts_us is None else str(int(result.device_ts_us)),
               str(int(result.captured_ns)), "1" if result.has_hand else "0", result.reason or "",
               *("" if v is None else str(int(v)) for v in box),
               *(_num(result.scores.get(k)) for k in SCORER_KEYS),
               _num(None if st is None else st.smoothed), "" if st is None else str(st.verdict.value), _num(threshold),
               phase]
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(row)
        self._write(buf.getvalue().encode("utf-8"))


class EventsLog(_AppendFile):
    """``events.jsonl`` of a session folder; every event is synced at once."""

    def __init__(self, session: str | os.PathLike[str]) -> None:
        super().__init__(Path(session) / EVENTS_FILE, None, 0.0)

    def write(self, event: dict[str, Any]) -> dict[str, Any]:
        from capture.session.format import utc_now_iso

        e = {"v": RESULTS_VERSION, "time": utc_now_iso(), **event}
        self._write((json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"), sync=True)
        return e


def read_results(session: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every complete row of ``results.csv`` (a cut last line, from a crash, is left out)."""
    path = Path(session) / RESULTS_FILE
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8", errors="replace")
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    rows = []
    reader = csv.DictReader(io.StringIO(text))
    for r in reader:
        # a row as long as the file's own header (a file may lack later optional columns)
        if None in r or any(v is None for v in r.values()):
            continue
        for k in RESULT_COLUMNS:
            r.setdefault(k, "")
        rows.append(r)
    return rows


def read_events(session: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Every complete event of ``events.jsonl``; a cut or damaged line is skipped."""
    path = Path(session) / EVENTS_FILE
    if not path.exists():
        return
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if isinstance(e, dict):
            yield e
