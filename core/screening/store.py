"""Where screenings are kept: one folder per screening in the data folder
(``core.screening.paths.default_data_dir``), named by time and a random id, never by the
subject's pseudonym, so a folder listing shared by mistake names nobody.

A screening folder holds ``screening.json`` (format ``spader-screening``, version 1: who,
where, the protocol, the models with their SHA-256 and thresholds, and the status),
``session/`` (the frames, ``results.csv`` and ``events.jsonl``: docs/session-format.md),
``results.json`` once it is finished, and ``screening.lock`` while it runs. A folder whose
status is still "running" without a live process holding its lock is *interrupted*: a crash
or a kill leaves everything written until then.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import SpaderError

FORMAT = "spader-screening"
FORMAT_VERSION = 1
HEADER = "screening.json"
RESULTS = "results.json"
ATTEMPTS = "attempts.csv"
LOCK = "screening.lock"
SESSION = "session"


def file_sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


ATTEMPT_COLUMNS = ("task_id", "task_result", "attempt", "start_t", "end_t", "outcome", "reached_s", "invalid_reason", "note")


def _write_attempts_csv(path: Path, summary: dict[str, Any]) -> None:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(ATTEMPT_COLUMNS)
    for t in summary.get("tasks", []):
        for a in t.get("attempts", []):
            w.writerow([t["task_id"], t["result"], a["number"], a["start_t"], "" if a.get("end_t") is None else a["end_t"],
                        a.get("outcome") or "", "" if a.get("reached_s") is None else a["reached_s"],
                        a.get("invalid_reason", ""), a.get("note", "")])
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, buf.getvalue().encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ScreeningFolder:
    """One screening on disk."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @property
    def session_path(self) -> Path:
        return self.path / SESSION

    @classmethod
    def create(cls, data_dir: str | os.PathLike[str], header: dict[str, Any]) -> "ScreeningFolder":
        """A new folder with its header (status "running") and this process's lock."""
        from capture.subject import check_subject_id

        h = dict(header)
        h["subject_id"] = check_subject_id(h.get("subject_id"))
        now = _dt.datetime.now(_dt.timezone.utc)
        sid = f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        root = Path(data_dir)
        try:
            root.mkdir(parents=True, exist_ok=True)
            os.chmod(root, 0o700)
            path = root / sid
            path.mkdir(mode=0o700)
        except OSError as exc:
            raise SpaderError(f"cannot create a screening folder in {root}: {exc.strerror or exc}") from None
        h.update(format=FORMAT, format_version=FORMAT_VERSION, id=sid, created=now.isoformat(timespec="seconds"),
                 status="running")
        folder = cls(path)
        _write_json_atomic(path / HEADER, h)
        fd = os.open(path / LOCK, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return folder

    def header(self) -> dict[str, Any]:
        try:
            h = json.loads((self.path / HEADER).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SpaderError(f"{self.path} is not a screening folder (no {HEADER})") from None
        except (OSError, ValueError) as exc:
            raise SpaderError(f"{self.path / HEADER} is damaged ({exc})") from None
        if not isinstance(h, dict) or h.get("format") != FORMAT:
            raise SpaderError(f"{self.path / HEADER} is not a screening header")
        return h

    def results(self) -> dict[str, Any] | None:
        p = self.path / RESULTS
        if not p.exists():
            return None
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def status(self) -> str:
        """complete, running (a live process holds it) or interrupted."""
        h = self.header()
        if h.get("status") in ("complete", "interrupted"):
            return str(h["status"])
        try:
            pid = int((self.path / LOCK).read_text().strip())
        except (OSError, ValueError):
            return "interrupted"
        return "running" if pid == os.getpid() or _pid_alive(pid) else "interrupted"

    def mark_interrupted(self) -> None:
        """Closed before it finished (another source, a stopped run): listed as interrupted."""
        try:
            h = self.header()
            h["status"] = "interrupted"
            _write_json_atomic(self.path / HEADER, h)
        except (OSError, SpaderError):
            pass  # a full disk: without the lock it still lists as interrupted (see ``status``)
        try:
            (self.path / LOCK).unlink()
        except OSError:
            pass

    def finish(self, summary: dict[str, Any]) -> None:
        """Write results.json and attempts.csv, mark the header complete, release the lock."""
        _write_json_atomic(self.path / RESULTS, summary)
        _write_attempts_csv(self.path / ATTEMPTS, summary)
        h = self.header()
        h["status"] = "complete"
        h["finished"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        _write_json_atomic(self.path / HEADER, h)
        try:
            (self.path / LOCK).unlink()
        except FileNotFoundError:
            pass


@dataclass
class ListedScreening:
    id: str
    path: Path
    subject_id: str
    created: str
    tasks: list[str]
    overall: str
    status: str


def list_screenings(data_dir: str | os.PathLike[str], subject: str | None = None) -> list[ListedScreening]:
    """Every screening in the data folder, newest first; damaged folders are left out."""
    root = Path(data_dir)
    out: list[ListedScreening] = []
    if not root.is_dir():
        return out
    for p in sorted(root.iterdir(), reverse=True):
        if not (p / HEADER).is_file():
            continue
        f = ScreeningFolder(p)
        try:
            h = f.header()
            status = f.status()
        except SpaderError:
            continue
        if subject is not None and h.get("subject_id") != subject:
            continue
        res = f.results() or {}
        out.append(ListedScreening(id=str(h.get("id", p.name)), path=p, subject_id=str(h.get("subject_id")),
                                   created=str(h.get("created", "")),
                                   tasks=[t.get("id", "?") for t in h.get("protocol", {}).get("tasks", [])],
                                   overall=str(res.get("overall", "—" if status != "complete" else "?")),
                                   status=status))
    return out
