"""Option types with bounds, for every command: a bad value is a clear argparse message
and exit status 2 before any work starts (never a traceback, a silent default or an
out-of-memory run)."""

from __future__ import annotations

import argparse
import math
import os
import re
from pathlib import Path
from typing import Callable


INT64_MAX = 2 ** 63 - 1  # the largest count numpy and torch take


def whole(lo: int, hi: int | None = None) -> Callable[[str], int]:
    """A whole number in [lo, hi] (without ``hi``: up to INT64_MAX)."""
    top = INT64_MAX if hi is None else hi

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            shown = repr(text) if len(text) <= 40 else f"a {len(text)}-character text"
            raise argparse.ArgumentTypeError(f"{shown} is not a whole number") from None
        if not lo <= v <= top:
            raise argparse.ArgumentTypeError(f"{text if len(text) <= 40 else 'the number'} is outside "
                                             f"{lo}..{hi if hi is not None else top}")
        return v

    parse.__name__ = "whole number"
    return parse


def number(lo: float | None = None, hi: float | None = None, *, above: bool = False) -> Callable[[str], float]:
    """A finite number in [lo, hi] (``above``: strictly above lo)."""
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if lo is not None and (v <= lo if above else v < lo):
            raise argparse.ArgumentTypeError(f"{v:g} must be {'above' if above else 'at least'} {lo:g}")
        if hi is not None and v > hi:
            raise argparse.ArgumentTypeError(f"{v:g} must be at most {hi:g}")
        return v

    parse.__name__ = "number"
    return parse


# a random seed: numpy takes none below 0, torch none from 2**64 (and adds to it)
seed = whole(0, 2 ** 32 - 1)
seed.__name__ = "seed"

_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d{1,2})?)$")


def output_file(text: str) -> str:
    """A file to write at the end of a run, checked at the start: its folder exists (or can
    be made: no file in the way) and is writable, and the path is not a folder. "-" passes
    (stdout). A run of minutes is never lost to a typo in the output's path."""
    if text == "-":
        return text
    p = Path(text)
    if p.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder, not a file")
    folder = p.parent
    while not folder.exists():  # the nearest folder that exists must be a folder we may write in
        folder = folder.parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: {str(folder)!r} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: no permission to write in {str(folder)!r}")
    if p.exists() and not os.access(p, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: no permission to overwrite it")
    return text


def device(text: str) -> str:
    """auto, cpu, cuda or cuda:N (whether it is there is checked when it is used)."""
    t = text.strip().lower()
    if not _DEVICE.match(t):
        raise argparse.ArgumentTypeError(f"{text!r} is not a device: use auto, cpu, cuda or cuda:N")
    return t
