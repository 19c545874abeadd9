"""Files of health data written whole and private: 600 from the first byte whatever the
umask, through a temporary file renamed over the target (a reader never sees half a file;
a failed write leaves the old one and no temporary file)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, TextIO

from core.errors import SpaderError


def write_private(path: str | os.PathLike[str], data: bytes, what: str = "the file", *, durable: bool = True) -> Path:
    """``durable``: fsync before the rename (a document); False for many small files written
    in a row, such as a picture per frame, whose loss in a power cut costs nothing."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)  # an existing temporary file keeps its mode through O_CREAT
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                if n <= 0:
                    raise OSError(28, os.strerror(28))
                view = view[n:]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, p)
    except OSError as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise SpaderError(f"cannot write {what} {p}: {exc.strerror or exc}") from None
    return p


def make_private_dir(path: str | os.PathLike[str]) -> Path:
    """A folder (and its missing parents) that only its owner can open: 700 whatever the
    umask. An existing folder keeps its mode (it is the user's)."""
    p = Path(path)
    if not p.is_dir():
        p.mkdir(parents=True, mode=0o700)
        os.chmod(p, 0o700)  # mkdir's mode is masked by the umask
    return p


def open_private_text(path: str | os.PathLike[str]) -> TextIO:
    """A new text file to stream rows into, 600 from the first byte whatever the umask
    (for files written as they grow, which ``write_private`` cannot do)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT
    return open(fd, "w", newline="", encoding="utf-8")


def _finite(v: Any) -> Any:
    """NaN and infinities as null: the file stays standard JSON."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


def write_private_json(path: str | os.PathLike[str], obj: Any, what: str = "the file") -> Path:
    text = json.dumps(_finite(obj), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return write_private(path, text.encode("utf-8"), what)
