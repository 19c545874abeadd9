"""Support of the fuzz suite (tests/test_fuzz.py; no tests in here): mutations of bytes and
of JSON documents, the outcome classifier, the counts table, and the MKV worker that reads
mutated recordings in a child process (the Azure Kinect SDK is native code: a crash there
must not take the test run with it).

Every input a fuzz test tries ends as one of
- **clear error**: one of the project's own error types (``CaptureError``, ``SpaderError``
  and their subclasses, argparse's exit status 2) with a message meant for a person;
- **correct result**: it loaded, and what it gave is consistent with the original (the
  checks are the test's);
anything else fails the test: another exception type (a traceback), a hang (pytest-timeout
and the worker's time limit) or a wrong result.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import subprocess
import sys
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from hypothesis import strategies as st

REPO_ROOT = Path(__file__).resolve().parents[1]

# -- the counts ------------------------------------------------------------------------------


@dataclass
class Tally:
    tried: int = 0
    clear: int = 0
    correct: int = 0
    notes: dict[str, int] = field(default_factory=lambda: defaultdict(int))


COUNTS: dict[str, Tally] = {}
_LOCK = threading.Lock()


def record(target: str, outcome: str, note: str | None = None) -> None:
    """Count one input of ``target``: ``outcome`` is "clear" or "correct"."""
    assert outcome in ("clear", "correct"), outcome
    with _LOCK:
        t = COUNTS.setdefault(target, Tally())
        t.tried += 1
        setattr(t, outcome, getattr(t, outcome) + 1)
        if note:
            t.notes[note] += 1


def counts_table() -> str:
    """The counts as a Markdown table (the one scripts/fuzz-counts prints)."""
    rows = [("target", "inputs tried", "clear errors", "correct results", "failures", "notes")]
    total = Tally()
    for name in sorted(COUNTS):
        t = COUNTS[name]
        notes = "; ".join(f"{k}: {v}" for k, v in sorted(t.notes.items()))
        rows.append((name, str(t.tried), str(t.clear), str(t.correct), str(t.tried - t.clear - t.correct), notes))
        total.tried += t.tried
        total.clear += t.clear
        total.correct += t.correct
    rows.append(("**all**", str(total.tried), str(total.clear), str(total.correct),
                 str(total.tried - total.clear - total.correct), ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(lines)


# -- the outcome -----------------------------------------------------------------------------

_BARE = re.compile(r"^('[^']*'|\"[^\"]*\"|-?\d+(\.\d+)?|None|\w+Error.*)$")


def check_message(exc: BaseException) -> str:
    """A message meant for a person: not empty, no traceback, not a bare key or number
    (``str(KeyError('x'))`` is ``'x'``), not a Python class name."""
    msg = str(exc).strip()
    assert msg, f"{type(exc).__name__} with an empty message"
    assert "Traceback" not in msg, msg
    assert not _BARE.match(msg), f"{type(exc).__name__}: a bare message {msg!r}"
    assert len(msg) >= 12 and " " in msg, f"{type(exc).__name__}: too short to explain anything: {msg!r}"
    return msg


def clear_errors() -> tuple[type[BaseException], ...]:
    from capture.errors import CaptureError
    from core.errors import SpaderError

    return (CaptureError, SpaderError)


def attempt(fn: Callable[[], Any]) -> tuple[str, Any]:
    """("clear", the error) or ("correct", the result); any other exception goes up."""
    try:
        return "correct", fn()
    except clear_errors() as exc:
        check_message(exc)
        return "clear", exc


# -- mutations of bytes ----------------------------------------------------------------------


@dataclass(frozen=True)
class ByteOp:
    kind: str  # flip | xor | set | truncate | insert | delete | zero
    pos: int
    arg: int = 0  # flip: the bit; xor/set: the byte; delete/zero: the length
    data: bytes = b""  # insert: the bytes

    def span(self, size: int) -> tuple[int, int]:
        """The range of the original bytes this op changes ([pos, pos) for an insert)."""
        if self.kind == "truncate":
            return self.pos, size
        if self.kind in ("delete", "zero"):
            return self.pos, min(size, self.pos + self.arg)
        if self.kind == "insert":
            return self.pos, self.pos
        return self.pos, self.pos + 1

    def to_json(self) -> list[Any]:
        return [self.kind, self.pos, self.arg, self.data.hex()]

    @classmethod
    def from_json(cls, v: Sequence[Any]) -> "ByteOp":
        return cls(v[0], int(v[1]), int(v[2]), bytes.fromhex(v[3]))


def apply_ops(data: bytes, ops: Iterable[ByteOp]) -> bytes:
    """Apply ops given in the original's coordinates (from the end, so none shifts another)."""
    out = bytearray(data)
    for op in sorted(ops, key=lambda o: o.pos, reverse=True):
        p = min(op.pos, len(out))
        if op.kind == "flip" and p < len(out):
            out[p] ^= 1 << op.arg
        elif op.kind == "xor" and p < len(out):
            out[p] ^= op.arg or 0xFF
        elif op.kind == "set" and p < len(out):
            out[p] = op.arg
        elif op.kind == "truncate":
            del out[p:]
        elif op.kind == "insert":
            out[p:p] = op.data
        elif op.kind == "delete":
            del out[p:p + op.arg]
        elif op.kind == "zero":
            out[p:p + op.arg] = bytes(len(out[p:p + op.arg]))
    return bytes(out)


_INTERESTING = (0x00, 0xFF, 0x7F, 0x80, 0x20, 0x0A, 0x22, 0x2C, 0x7B, 0x7D, 0x5B, 0x5D, 0x30, 0x39, 0x2D, 0x2E)


@st.composite
def byte_ops(draw: Any, size: int, region: tuple[int, int] | None = None, max_ops: int = 3) -> list[ByteOp]:
    """1..max_ops mutations of a ``size``-byte file, at positions in ``region`` (default all)."""
    lo, hi = region or (0, size)
    hi = max(lo + 1, min(hi, size))
    ops = []
    for _ in range(draw(st.integers(1, max_ops))):
        kind = draw(st.sampled_from(["flip", "flip", "xor", "set", "truncate", "insert", "delete", "zero"]))
        pos = draw(st.integers(lo, hi - 1))
        if kind == "flip":
            ops.append(ByteOp(kind, pos, draw(st.integers(0, 7))))
        elif kind == "xor":
            ops.append(ByteOp(kind, pos, draw(st.integers(1, 255))))
        elif kind == "set":
            ops.append(ByteOp(kind, pos, draw(st.sampled_from(_INTERESTING))))
        elif kind == "truncate":
            ops.append(ByteOp(kind, pos))
        elif kind == "insert":
            ops.append(ByteOp(kind, pos, data=draw(st.one_of(
                st.binary(min_size=1, max_size=16), st.sampled_from([b"\n", b",", b"\x00", b'"', b"{", b"]", b"9" * 40])))))
        else:
            ops.append(ByteOp(kind, pos, draw(st.integers(1, 64))))
        if kind == "truncate":
            break
    return ops


def random_byte_ops(rng: random.Random, size: int, regions: Sequence[tuple[int, int]], max_ops: int = 3) -> list[ByteOp]:
    """The same mutations drawn from a seeded ``random.Random`` (the MKV fuzz)."""
    ops = []
    for _ in range(rng.randint(1, max_ops)):
        lo, hi = rng.choice(regions)
        pos = rng.randrange(lo, max(lo + 1, min(hi, size)))
        kind = rng.choice(["flip", "flip", "xor", "set", "truncate", "insert", "delete", "zero", "zero"])
        if kind == "flip":
            ops.append(ByteOp(kind, pos, rng.randrange(8)))
        elif kind == "xor":
            ops.append(ByteOp(kind, pos, rng.randrange(1, 256)))
        elif kind == "set":
            ops.append(ByteOp(kind, pos, rng.choice(_INTERESTING)))
        elif kind == "truncate":
            ops.append(ByteOp(kind, pos))
        elif kind == "insert":
            ops.append(ByteOp(kind, pos, data=rng.randbytes(rng.randint(1, 16))))
        elif kind == "delete":
            ops.append(ByteOp(kind, pos, rng.randint(1, 64)))
        else:
            ops.append(ByteOp(kind, pos, rng.choice([16, 256, 4096, 100_000])))
        if kind == "truncate":
            break
    return ops


def touches(ops: Iterable[ByteOp], size: int, lo: int, hi: int) -> bool:
    """Whether any op changes a byte of [lo, hi) of the original, or inserts inside it."""
    for op in ops:
        a, b = op.span(size)
        if op.kind == "insert":
            if lo < a < hi:
                return True
        elif a < hi and b > lo:
            return True
    return False


# -- mutations of JSON documents ---------------------------------------------------------------

DEEP = "\u0000deep\u0000"  # stands for a list nested 100 000 deep (json.dumps cannot write one)
HUGE_INT = 10 ** 5000  # past Python's 4300-digit limit for int <-> text
NASTY: tuple[Any, ...] = (
    float("nan"), float("inf"), float("-inf"), 1e308, -1e308, 10 ** 400, HUGE_INT, -(10 ** 30), 2 ** 63, 2 ** 64,
    -1, -1.5, 0, 0.0, 1, 0.5, 1.0000001, 65536, True, False, None, "", " ", "x", "1", "0.25", "nan", "-1",
    "\u202egnp.\u0000", "\x1b[31m", "a" * 5000, [], [1, 2], [None], ["x"], {}, {"x": {"y": [1, {"z": None}]}},
    {"format": "x"}, DEEP,
)


def nasty_values() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(NASTY), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=12), st.lists(st.integers(-3, 3), max_size=3),
    )


def json_paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in ``doc`` that holds a value (dict keys and list positions)."""
    out = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.append(prefix + (k,))
            out += json_paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.append(prefix + (i,))
            out += json_paths(v, prefix + (i,))
    return out


def _parent(doc: Any, path: tuple) -> Any:
    for p in path[:-1]:
        doc = doc[p]
    return doc


@st.composite
def json_edits(draw: Any, doc: Any, max_edits: int = 2) -> list[tuple]:
    """1..max_edits of: replace a value with a nasty one, delete a key, add an unknown key."""
    paths = json_paths(doc)
    edits = []
    for _ in range(draw(st.integers(1, max_edits))):
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["replace", "replace", "replace", "delete", "extra"]))
        edits.append((op, path, draw(nasty_values()) if op != "delete" else None))
    return edits


def apply_edits(doc: Any, edits: Iterable[tuple]) -> Any:
    import copy

    doc = copy.deepcopy(doc)
    for op, path, value in edits:
        try:
            parent = _parent(doc, path)
            key = path[-1]
            if op == "replace":
                parent[key] = value
            elif op == "delete":
                del parent[key]
            elif isinstance(parent, dict):
                parent[f"unknown_{key}"] = value
            elif isinstance(parent, list):
                parent.append(value)
        except (KeyError, IndexError, TypeError):
            pass  # an earlier edit removed or replaced the place
    return doc


def dump_json(doc: Any) -> str:
    """JSON text as a writer that does not check its numbers would write it: NaN, Infinity,
    ints of any length, a list nested 100 000 deep where ``DEEP`` stands."""
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        text = json.dumps(doc, indent=1)
    finally:
        sys.set_int_max_str_digits(old)
    return text.replace(json.dumps(DEEP), "[" * 100_000 + "]" * 100_000)


def finite_tree(v: Any) -> bool:
    """No NaN or infinity anywhere in a JSON value."""
    if isinstance(v, float):
        return math.isfinite(v)
    if isinstance(v, dict):
        return all(finite_tree(x) for x in v.values())
    if isinstance(v, list):
        return all(finite_tree(x) for x in v)
    return True


# -- files -----------------------------------------------------------------------------------


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file under ``folder`` (None for a folder): compared before and after a read,
    so a reader that changes or deletes anything is caught."""
    out: dict[str, bytes | None] = {}
    for root, dirs, files in os.walk(folder):
        for d in dirs:
            out[os.path.relpath(os.path.join(root, d), folder)] = None
        for f in files:
            p = os.path.join(root, f)
            out[os.path.relpath(p, folder)] = Path(p).read_bytes()
    return out


# -- the MKV worker (runs in a child process) ------------------------------------------------


def mkv_outcome(path: str, via: str, max_reads: int = 400) -> dict[str, Any]:
    """Open a recording, read until EndOfStream, close: what happened, as JSON."""
    import hashlib
    import traceback

    from capture.errors import CaptureError
    from capture.sources.base import EndOfStream

    if via == "open_source":
        from capture.sources import open_source

        src = open_source(path, speed=None)
    else:
        from capture.sources.mkv import MkvSource

        src = MkvSource(path)
    frames: list[list[Any]] = []
    info: dict[str, Any] = {}
    try:
        src.open()
        try:
            i = src.info
            info = {"width": i.width, "height": i.height, "fps": i.fps, "unit_mm": i.unit_mm}
            for _ in range(max_reads):
                try:
                    f = src.read()
                except EndOfStream:
                    break
                if f is not None:
                    frames.append([f.device_ts_us, list(f.depth.shape), str(f.depth.dtype),
                                   hashlib.sha256(f.depth.tobytes()).hexdigest()])
            else:
                return {"outcome": "hang", "detail": f"no EndOfStream after {max_reads} reads", "frames": frames}
            problems = list(src.problems)
        finally:
            src.close()
    except CaptureError as exc:
        try:
            msg = check_message(exc)
        except AssertionError as bad:
            return {"outcome": "failure", "detail": f"unclear message: {bad}", "frames": frames}
        return {"outcome": "clear", "detail": f"{type(exc).__name__}: {msg}", "frames": frames, "info": info}
    except Exception:  # noqa: BLE001 - any other type is what the fuzz looks for
        return {"outcome": "failure", "detail": traceback.format_exc(limit=6), "frames": frames}
    return {"outcome": "correct", "frames": frames, "info": info, "problems": problems}


def mkv_worker(jobs_file: str, out_file: str) -> None:
    """Child process: for each job (id, ops, via) write the mutated copy, read it, append
    a "start" line before and the outcome after, so a crash or hang names its input."""
    jobs = json.loads(Path(jobs_file).read_text())
    original = Path(jobs["original"]).read_bytes()
    work = Path(jobs["work"])
    with open(out_file, "a", encoding="utf-8") as out:
        for job in jobs["jobs"]:
            out.write(json.dumps({"id": job["id"], "start": True}) + "\n")
            out.flush()
            p = work / f"m{job['id']}.mkv"
            p.write_bytes(apply_ops(original, [ByteOp.from_json(o) for o in job["ops"]]))
            try:
                res = mkv_outcome(str(p), job["via"])
            finally:
                p.unlink(missing_ok=True)
            out.write(json.dumps({"id": job["id"], **res}) + "\n")
            out.flush()


def run_mkv_jobs(original: Path, jobs: list[dict[str, Any]], work: Path, timeout_s: float) -> dict[int, dict[str, Any]]:
    """Run the jobs in child processes; a child that dies or hangs is a failure of the job
    it was on, and a new child takes the rest."""
    results: dict[int, dict[str, Any]] = {}
    pending = list(jobs)
    out = work / "results.jsonl"
    while pending:
        spec = work / "jobs.json"
        spec.write_text(json.dumps({"original": str(original), "work": str(work), "jobs": pending}))
        out.write_text("")
        code = ("import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]; import fuzz_support; "
                "fuzz_support.mkv_worker(sys.argv[3], sys.argv[4])")
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        try:
            proc = subprocess.run([sys.executable, "-c", code, str(REPO_ROOT), str(REPO_ROOT / "tests"), str(spec), str(out)],
                                  capture_output=True, text=True, timeout=timeout_s, env=env)
            died = None if proc.returncode == 0 else f"the reader's process ended with status {proc.returncode}: {proc.stderr[-2000:]}"
        except subprocess.TimeoutExpired:
            died = f"hang: no result within {timeout_s:.0f} s"
        started = None
        for line in out.read_text().splitlines():
            r = json.loads(line)
            if r.get("start"):
                started = r["id"]
            else:
                results[r["id"]] = r
                started = None
        done = set(results)
        if died is not None:
            if started is None:
                raise RuntimeError(f"MKV fuzz worker failed outside a job: {died}")
            results[started] = {"outcome": "failure", "detail": died, "frames": []}
            done.add(started)
        pending = [j for j in pending if j["id"] not in done]
        if died is None and pending:
            raise RuntimeError(f"MKV fuzz worker skipped {len(pending)} job(s)")
    return results
