"""The protocol file: an ordered list of tasks a screening runs (format ``spader-protocol``,
version 1; docs/protocol-format.md has every key).

A task names its model, the operator's instruction, an optional subject-facing text and
picture, the time limit of one attempt, the success rule (the pose held, the smoothed
score at or above the threshold, for ``hold_s`` seconds within the limit) and the number of
attempts. The numbers of the bundled protocol are settings, not clinical norms.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import SpaderError, shown

FORMAT = "spader-protocol"
FORMAT_VERSION = 1
BUNDLED_PROTOCOL = Path(__file__).resolve().parents[2] / "assets" / "protocols" / "pigeon.json"
_TASK_ID = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


class ProtocolError(SpaderError):
    """A protocol file that cannot be used: the message names the file and the problem."""


@dataclass(frozen=True)
class Task:
    id: str  # short and stable: "pigeon", later "fox"
    title: str
    model: str  # "bundled" or a model file path, relative to the protocol file
    instruction: str  # what the operator says or shows
    time_limit_s: float = 10.0  # one attempt ends at success or after this
    hold_s: float = 1.0  # the success rule: the pose held this long within the limit
    attempts: int = 2  # attempts offered (a retry is offered after a failure)
    subject_text: str = ""  # optional text for a subject-facing screen
    subject_picture: str | None = None  # optional picture, relative to the protocol file
    countdown_s: int = 3  # the 3-2-1 before an attempt starts

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Protocol:
    name: str
    version: str  # the protocol's own version ("1.0"), recorded with every screening
    tasks: tuple[Task, ...]
    note: str = ""
    path: Path | None = field(default=None, compare=False)

    def task(self, task_id: str) -> Task:
        for t in self.tasks:
            if t.id == task_id:
                return t
        raise ProtocolError(f"protocol {self.name!r} has no task {task_id!r}")

    def resolve(self, relative: str) -> Path:
        """A path named in the protocol, relative to the protocol file."""
        p = Path(relative)
        if p.is_absolute() or self.path is None:
            return p
        return self.path.parent / p

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "name": self.name, "version": self.version,
                "note": self.note, "tasks": [t.to_dict() for t in self.tasks]}


def _number(where: str, d: dict[str, Any], key: str, default: float, lo: float, hi: float) -> float:
    v = d.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and not math.isfinite(v)):
        raise ProtocolError(f"{where}: {key} must be a number, got {shown(v)}")
    if not lo <= v <= hi:  # exact for an int of any length (float(v) would overflow)
        raise ProtocolError(f"{where}: {key} must be between {lo:g} and {hi:g}, got {shown(v)}")
    return float(v)


def _text(where: str, d: dict[str, Any], key: str, default: str | None = None, *, required: bool = False) -> str:
    v = d.get(key, default)
    if v is None and required:
        raise ProtocolError(f"{where}: {key} is missing")
    if v is None:
        return ""
    if not isinstance(v, str):
        raise ProtocolError(f"{where}: {key} must be text, got {type(v).__name__}")
    if required and not v.strip():
        raise ProtocolError(f"{where}: {key} is empty")
    return v


def parse_protocol(d: Any, source: str = "protocol", path: Path | None = None) -> Protocol:
    """A Protocol from its JSON object; every problem is a ProtocolError naming the place."""
    if not isinstance(d, dict):
        raise ProtocolError(f"{source}: expected a JSON object, got {type(d).__name__}")
    if d.get("format") != FORMAT:
        raise ProtocolError(f"{source}: not a protocol file (format {shown(d.get('format'))}, expected {FORMAT!r})")
    ver = d.get("format_version")
    if ver != FORMAT_VERSION or isinstance(ver, bool) or not isinstance(ver, int):
        raise ProtocolError(f"{source}: protocol format version {shown(ver)} is not supported (this version reads {FORMAT_VERSION})")
    known = {"format", "format_version", "name", "version", "note", "tasks"}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ProtocolError(f"{source}: unknown key(s) {', '.join(unknown)}")
    name = _text(source, d, "name", required=True)
    version = _text(source, d, "version", required=True)
    tasks_raw = d.get("tasks")
    if not isinstance(tasks_raw, list) or not tasks_raw:
        raise ProtocolError(f"{source}: tasks must be a non-empty list")
    tasks: list[Task] = []
    task_keys = set(Task.__dataclass_fields__)
    for i, t in enumerate(tasks_raw):
        where = f"{source}: task {i + 1}"
        if not isinstance(t, dict):
            raise ProtocolError(f"{where}: expected a JSON object")
        unknown = sorted(set(t) - task_keys)
        if unknown:
            raise ProtocolError(f"{where}: unknown key(s) {', '.join(unknown)}")
        tid = _text(where, t, "id", required=True)
        if not _TASK_ID.match(tid):
            raise ProtocolError(f"{where}: id {shown(tid)} must be 1-32 lowercase letters, digits, '_' or '-', starting with a letter")
        if any(x.id == tid for x in tasks):
            raise ProtocolError(f"{where}: id {tid!r} is used twice")
        limit = _number(where, t, "time_limit_s", 10.0, 1.0, 600.0)
        hold = _number(where, t, "hold_s", 1.0, 0.0, 600.0)
        if hold >= limit:
            raise ProtocolError(f"{where}: hold_s ({hold:g} s) must be shorter than time_limit_s ({limit:g} s)")
        attempts = t.get("attempts", 2)
        if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 10:
            raise ProtocolError(f"{where}: attempts must be a whole number from 1 to 10, got {shown(attempts)}")
        countdown = t.get("countdown_s", 3)
        if isinstance(countdown, bool) or not isinstance(countdown, int) or not 0 <= countdown <= 10:
            raise ProtocolError(f"{where}: countdown_s must be a whole number from 0 to 10, got {shown(countdown)}")
        picture = t.get("subject_picture")
        if picture is not None and not isinstance(picture, str):
            raise ProtocolError(f"{where}: subject_picture must be a file name or null")
        tasks.append(Task(
            id=tid, title=_text(where, t, "title", required=True), model=_text(where, t, "model", required=True),
            instruction=_text(where, t, "instruction", required=True), time_limit_s=limit, hold_s=hold,
            attempts=attempts, subject_text=_text(where, t, "subject_text", ""), subject_picture=picture,
            countdown_s=countdown,
        ))
    return Protocol(name=name, version=version, tasks=tuple(tasks), note=_text(source, d, "note", ""), path=path)


def load_protocol(path: str | Path | None = None) -> Protocol:
    """The protocol in ``path`` (the bundled one when None), checked; clear errors otherwise."""
    p = Path(path) if path is not None else BUNDLED_PROTOCOL
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProtocolError(f"protocol file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"cannot read the protocol file {p}: {exc}") from None
    try:
        d = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"{p}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except (ValueError, RecursionError) as exc:  # a number of 5000 digits, lists nested 100 000 deep
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ProtocolError(f"{p}: not a usable protocol file ({reason})") from None
    return parse_protocol(d, str(p), p.resolve())
