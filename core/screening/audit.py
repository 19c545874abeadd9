"""The audit trail: an append-only JSON-lines log whose entries are chained by hashes
(format ``spader-audit``, version 1; docs/audit-format.md).

Each line is one JSON object: ``format``/``v`` (on every line, so any line says what it
is), ``seq`` (1, 2, ...), ``time`` (ISO 8601 UTC), ``event``, ``actor`` (the operator's
pseudonym or null), ``data`` (the event's fields), ``prev`` (the previous entry's hash;
64 zeros for the first) and ``hash`` = SHA-256 of the entry's canonical JSON without
``hash``. Editing, inserting or removing a line breaks the chain at that line; removing
lines from the end is caught by ``audit.head``, which holds the last entry's seq and hash
and is replaced atomically after every append. Written 600 in a 700 folder: it names
subjects by pseudonym and is health data.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import SpaderError

FORMAT = "spader-audit"
FORMAT_VERSION = 1
LOG_NAME = "audit.jsonl"
HEAD_NAME = "audit.head"
GENESIS = "0" * 64
_LOCKS: dict[str, threading.Lock] = {}  # one per log file in this process
_LOCKS_GUARD = threading.Lock()


def _lock_for(path: Path) -> threading.Lock:
    key = str(path.resolve())
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


def _canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_hash(entry: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical({k: v for k, v in entry.items() if k != "hash"})).hexdigest()


def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    try:
        os.chmod(path, 0o700)
    except OSError:
        pass


class AuditLog:
    """Appends chained entries to ``folder/audit.jsonl`` (thread-safe within a process)."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOG_NAME
        self.head_path = self.folder / HEAD_NAME

    def _last(self) -> tuple[int, str]:
        if not self.path.exists():
            return 0, GENESIS
        last = b""
        with open(self.path, "rb") as f:
            for line in f:
                if line.strip():
                    last = line
        if not last:
            return 0, GENESIS
        try:
            e = json.loads(last)
            return int(e["seq"]), str(e["hash"])
        except (ValueError, KeyError, TypeError):
            raise SpaderError(f"the audit log {self.path} ends in a damaged line: run `spader audit verify "
                              f"{self.folder}`; nothing more is appended until it is repaired") from None

    def append(self, event: str, data: dict[str, Any] | None = None, actor: str | None = None) -> dict[str, Any]:
        """Add one entry (flushed and synced before it returns) and return it."""
        _private_dir(self.folder)
        # every writer of this log, in this process (the lock) and in others (flock on the
        # log), reads the last entry and appends the next one as one step
        with _lock_for(self.path), _FileLock(self.folder / ".audit.lock"):
            seq, prev = self._last()
            entry = {"format": FORMAT, "v": FORMAT_VERSION, "seq": seq + 1,
                     "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds"),
                     "event": str(event), "actor": actor, "data": data or {}, "prev": prev}
            entry["hash"] = entry_hash(entry)
            line = _canonical(entry) + b"\n"
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, line)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                tmp = self.head_path.with_suffix(".tmp")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                try:
                    os.write(fd, json.dumps({"seq": entry["seq"], "hash": entry["hash"]}).encode())
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(tmp, self.head_path)
            except OSError as exc:
                raise SpaderError(f"cannot write the audit log {self.path}: {exc.strerror or exc}") from None
            return entry


class _FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = -1

    def __enter__(self) -> "_FileLock":
        import fcntl

        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        import fcntl

        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


@dataclass
class VerifyReport:
    path: Path
    entries: int
    ok: bool
    problem: str = ""  # the first broken line and why ("" when ok)
    line: int | None = None  # its 1-based line number


def verify(folder_or_file: str | os.PathLike[str]) -> VerifyReport:
    """Check the whole chain; the report names the first line that is broken or edited."""
    p = Path(folder_or_file)
    path = p / LOG_NAME if p.is_dir() else p
    head_path = path.with_name(HEAD_NAME)
    if not path.exists():
        raise SpaderError(f"no audit log at {path}")
    prev, seq, n = GENESIS, 0, 0
    try:
        raw = path.read_bytes().split(b"\n")
    except OSError as exc:
        raise SpaderError(f"cannot read the audit log {path}: {exc.strerror or exc}") from None
    for i, line in enumerate(raw, start=1):
        if not line.strip():
            if i < len(raw):
                return VerifyReport(path, n, False, f"line {i}: an empty line inside the log", i)
            continue
        try:
            e = json.loads(line)
            if not isinstance(e, dict):
                raise ValueError
        except ValueError:
            return VerifyReport(path, n, False, f"line {i}: not a JSON object (damaged or edited)", i)
        if e.get("format") != FORMAT:
            return VerifyReport(path, n, False, f"line {i}: not an audit entry", i)
        if e.get("seq") != seq + 1:
            return VerifyReport(path, n, False, f"line {i}: entry number {e.get('seq')!r} where {seq + 1} was "
                                f"expected (an entry was removed or inserted before it)", i)
        if e.get("prev") != prev:
            return VerifyReport(path, n, False, f"line {i}: does not follow the entry before it (an entry "
                                f"before it was edited, removed or inserted)", i)
        if e.get("hash") != entry_hash(e):
            return VerifyReport(path, n, False, f"line {i}: its contents were edited (hash mismatch)", i)
        prev, seq, n = e["hash"], e["seq"], n + 1
    if head_path.exists():
        try:
            head = json.loads(head_path.read_text())
        except (OSError, ValueError):
            return VerifyReport(path, n, False, f"{head_path.name}: damaged", None)
        if head.get("seq") != seq or head.get("hash") != prev:
            return VerifyReport(path, n, False, f"the log ends at entry {seq}, but {head_path.name} says the last "
                                f"entry was {head.get('seq')}: entries were removed from the end", None)
    return VerifyReport(path, n, True)
