"""Labels of a recorded session (``labels.json`` beside its frames; docs/labels-format.md).

An operator marks frame ranges of a replayed session as ``normal``, as a named anomaly
class or as ``ignore``, and a screening's attempts as imitated or not imitated (the
clinician's own judgement). Ranges are by session frame number, inclusive at both ends;
a later range overrides an earlier one where they overlap. Written 600, atomically.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import SpaderError, shown
from core.private_files import write_private_json

LABELS_FILE = "labels.json"
FORMAT = "spader-labels"
FORMAT_VERSION = 1
NORMAL = "normal"
IGNORE = "ignore"
JUDGEMENTS = ("imitated", "not_imitated")
MAX_FRAME = 2 ** 31 - 1  # 2.3 years at 30 frames/s: no session is longer
_CLASS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_class(name: str) -> str:
    name = str(name).strip()
    if not _CLASS.match(name):
        raise SpaderError(f"label {name!r}: use letters, digits, '_', '-' or '.' (up to 64), e.g. normal, uncrossed")
    return name


@dataclass
class LabelRange:
    start: int
    end: int  # inclusive
    label: str

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "label": self.label}


@dataclass
class SessionLabels:
    ranges: list[LabelRange] = field(default_factory=list)
    attempts: dict[str, str] = field(default_factory=dict)  # "task_id:number" -> imitated | not_imitated
    labeller: str | None = None

    def add(self, start: int, end: int, label: str) -> LabelRange:
        a, b = sorted((int(start), int(end)))
        if a < 0:
            raise SpaderError("a label range starts at frame 0 or later")
        if b > MAX_FRAME:
            raise SpaderError(f"a label range ends at frame {MAX_FRAME} at the latest, not {shown(b)}")
        r = LabelRange(a, b, check_class(label))
        self.ranges.append(r)
        return r

    def remove_at(self, index: int) -> bool:
        """Drop the newest range holding frame ``index``; True when one was dropped."""
        for i in range(len(self.ranges) - 1, -1, -1):
            if self.ranges[i].start <= index <= self.ranges[i].end:
                del self.ranges[i]
                return True
        return False

    def judge_attempt(self, task_id: str, number: int, judgement: str | None) -> None:
        key = f"{task_id}:{int(number)}"
        if judgement is None:
            self.attempts.pop(key, None)
            return
        if judgement not in JUDGEMENTS:
            raise SpaderError(f"an attempt is judged {' or '.join(JUDGEMENTS)}, not {judgement!r}")
        self.attempts[key] = judgement

    def label_of(self, index: int) -> str:
        """The frame's label ("" when none); the newest range wins."""
        for r in reversed(self.ranges):
            if r.start <= index <= r.end:
                return r.label
        return ""

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "labeller": self.labeller,
                "updated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "ranges": [r.to_dict() for r in self.ranges],
                "attempts": [{"task_id": k.rsplit(":", 1)[0], "attempt": int(k.rsplit(":", 1)[1]), "judgement": v}
                             for k, v in sorted(self.attempts.items())]}


def labels_path(session: str | os.PathLike[str]) -> Path:
    return Path(session) / LABELS_FILE


def read_labels(session: str | os.PathLike[str]) -> SessionLabels:
    """The session's labels (empty when it has none); a damaged file is a clear error."""
    p = labels_path(session)
    if not p.exists():
        return SessionLabels()
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SpaderError(f"{p}: not a readable labels file ({exc})") from None
    except RecursionError:
        raise SpaderError(f"{p}: not a readable labels file (nested too deeply)") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise SpaderError(f"{p}: not a labels file (format {FORMAT!r} expected)")
    version = d.get("format_version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version > FORMAT_VERSION:
        raise SpaderError(f"{p}: labels format version {shown(version)} is not one this app reads ({FORMAT_VERSION})")
    labeller = d.get("labeller")
    if labeller is not None and not isinstance(labeller, str):
        raise SpaderError(f"{p}: the labeller {shown(labeller)} is not text")
    out = SessionLabels(labeller=labeller)
    # Each value has its own type: a number is never read from text, nor a whole number
    # from 2.5, nor a label from null (which str() would make the class "None").
    for r in _entries(p, d, "ranges"):
        start, end, label = _field(p, r, "start", int), _field(p, r, "end", int), _field(p, r, "label", str)
        out.add(start, end, label)
    for a in _entries(p, d, "attempts"):
        task, number = _field(p, a, "task_id", str), _field(p, a, "attempt", int)
        if not task or number < 1:
            raise SpaderError(f"{p}: a damaged attempt entry {shown(a)} (a task id and an attempt number from 1)")
        out.judge_attempt(task, number, _field(p, a, "judgement", str))
    return out


def _entries(p: Path, d: dict[str, Any], key: str) -> list[dict[str, Any]]:
    v = d.get(key, [])
    if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
        raise SpaderError(f"{p}: {key} must be a list of objects, got {shown(v)}")
    return v


def _field(p: Path, entry: dict[str, Any], key: str, kind: type) -> Any:
    v = entry.get(key)
    if isinstance(v, bool) or not isinstance(v, kind):
        what = "a whole number" if kind is int else "text"
        raise SpaderError(f"{p}: a damaged entry {shown(entry)}: {key} must be {what}, got {shown(v)}")
    return v


def write_labels(session: str | os.PathLike[str], labels: SessionLabels) -> Path:
    p = labels_path(session)
    write_private_json(p, labels.to_dict(), what="the labels")
    return p


def labels_digest(parts: list[bytes]) -> str:
    import hashlib

    h = hashlib.sha256()
    for b in parts:
        h.update(hashlib.sha256(b).digest())
    return h.hexdigest()
