"""Class-folder depth data sets: ``DIR/<class>/*.png`` (16-bit depth) + optional ``dataset.json``.

The format is written down in docs/dataset-format.md. Subjects come from a regular
expression on file names (group ``subject``), or from a ``subjects.csv`` manifest
(columns ``file,subject``, ``file`` relative to DIR); splits never put one subject in two
splits. Every file goes through core.preprocess, the one preprocessing path.
"""

from __future__ import annotations

import csv
import json
import regex
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from capture.errors import CaptureError
from capture.frame import DepthFrame, Intrinsics
from capture.pngio import read_png16
from core.errors import DataError
from core.preprocess import Preprocessed, PreprocessConfig, preprocess_frame

DATASET_FILE = "dataset.json"
MANIFEST_FILE = "subjects.csv"


@dataclass(frozen=True)
class DatasetItem:
    path: Path
    cls: str
    subject: str


@dataclass
class FolderDataset:
    root: Path
    classes: list[str]
    items: list[DatasetItem]
    unit_mm: float = 1.0
    intrinsics: Intrinsics | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    subject_source: str = "file"  # "pattern", "manifest" or "file" (every file its own subject)

    def count(self, cls: str) -> int:
        return sum(1 for it in self.items if it.cls == cls)


@dataclass
class SubjectSplit:
    train: list[DatasetItem]
    val: list[DatasetItem]
    test: list[DatasetItem]
    warning: str = ""


def _read_meta(root: Path) -> dict[str, Any]:
    p = root / DATASET_FILE
    if not p.is_file():
        return {}
    try:
        meta = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{p} is not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise DataError(f"{p} must hold a JSON object")
    return meta


def _read_manifest(root: Path) -> dict[str, str]:
    p = root / MANIFEST_FILE
    with p.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if rows and not {"file", "subject"} <= set(rows[0]):
        raise DataError(f"{p} needs the columns 'file' and 'subject'")
    return {Path(r["file"]).as_posix(): r["subject"] for r in rows}


def _nested_quantifier(text: str) -> bool:
    r"""Whether a repeated group holds a repetition itself ((a+)+, ((ab)*)*, (\w+\s?)*): the
    shape that makes the regex engine backtrack exponentially on a crafted name (ReDoS)."""
    stack: list[bool] = []  # per open group: does it hold a quantifier
    i, in_class = 0, False
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            stack.append(False)
        elif c == ")" and stack:
            held = stack.pop()
            nxt = text[i + 1:i + 2]
            if held and nxt in ("+", "*", "{"):
                return True
            if stack and (held or nxt in ("+", "*", "{")):
                stack[-1] = True
        elif c in "+*{" and stack:
            stack[-1] = True
        i += 1
    return False


MATCH_TIMEOUT_S = 0.25  # one file name; a pattern that needs longer backtracks exponentially


def check_subject_pattern(text: str) -> None:
    """Refuse at once the commonest exponential shape (a repeated group that repeats inside)
    and patterns over 200 characters (DataError). Other slow shapes, such as (a|a)+, are
    caught by the timeout of each match (``MATCH_TIMEOUT_S``)."""
    if len(text) > 200:
        raise DataError(f"subject pattern is {len(text)} characters long: 200 at most")
    if _nested_quantifier(text):
        raise DataError(f"subject pattern {text!r} repeats a group that repeats itself (such as (a+)+): "
                        "matching it can take exponential time; write it without the nested repetition")


def open_dataset(root: Path | str, unit_mm: float | None = None, subject_pattern: str | None = None) -> FolderDataset:
    """List a class-folder data set; clear errors for a missing folder, no classes or a bad pattern."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such data set folder")
    meta = _read_meta(root)
    unit = float(unit_mm if unit_mm is not None else meta.get("unit_mm", 1.0))
    if not unit > 0:
        raise DataError(f"{root}: depth unit must be positive, got {unit}")
    pattern_text = subject_pattern or meta.get("subject_pattern")
    pattern = None
    if pattern_text:
        check_subject_pattern(str(pattern_text))
        try:
            pattern = regex.compile(pattern_text)
        except regex.error as exc:
            raise DataError(f"subject pattern {pattern_text!r} is not a valid regular expression ({exc})") from None
        if "subject" not in pattern.groupindex:
            raise DataError(f"subject pattern {pattern_text!r} needs a named group (?P<subject>...)")
    manifest = _read_manifest(root) if (root / MANIFEST_FILE).is_file() and not pattern else None

    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    items: list[DatasetItem] = []
    for cls in classes:
        for f in sorted((root / cls).glob("*.png")):
            rel = f.relative_to(root).as_posix()
            if pattern is not None:
                try:  # regex, not re: only it bounds the time of one match
                    m = pattern.search(f.name, timeout=MATCH_TIMEOUT_S)
                except TimeoutError:
                    raise DataError(f"{rel}: the subject pattern {pattern_text!r} took more than "
                                    f"{MATCH_TIMEOUT_S:g} s on this file name (it backtracks too much); "
                                    "write it more simply, e.g. without repeated alternatives") from None
                if m is None:
                    raise DataError(f"{rel}: the subject pattern {pattern_text!r} does not match this file name")
                subject = m.group("subject")
            elif manifest is not None:
                if rel not in manifest:
                    raise DataError(f"{rel} is not listed in {MANIFEST_FILE}")
                subject = manifest[rel]
            else:
                subject = f"{cls}/{f.stem}"
            items.append(DatasetItem(f, cls, subject))
    classes = sorted({it.cls for it in items})
    if not items:
        raise DataError(f"{root}: no class folders with .png files (expected DIR/<class>/*.png)")
    intr = meta.get("intrinsics")
    try:
        intrinsics = Intrinsics.from_dict(intr) if isinstance(intr, dict) else None
    except (KeyError, TypeError, ValueError):
        raise DataError(f"{root / DATASET_FILE}: 'intrinsics' needs fx, fy, cx, cy, width, height") from None
    source = "pattern" if pattern else "manifest" if manifest is not None else "file"
    return FolderDataset(root, classes, items, unit, intrinsics, meta, source)


def split_by_subject(
    items: Sequence[DatasetItem], val_fraction: float = 0.15, test_fraction: float = 0.25, seed: int = 0,
    *, files_are_subjects: bool = False,
) -> SubjectSplit:
    """Subjects (not files) are shuffled with ``seed`` and dealt to test, validation, train.
    ``files_are_subjects`` (a data set with no pattern or manifest) adds a warning."""
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise DataError("val and test fractions must be in [0, 1) and sum to less than 1")
    subjects = sorted({it.subject for it in items})
    warning = ""
    if len(subjects) < 3:
        raise DataError(f"need at least 3 subjects to keep train, validation and test apart, found {len(subjects)}")
    if files_are_subjects:
        warning = ("no subject pattern or manifest: every file is its own subject, so frames of one person "
                   "may be in train and test (give --subject-pattern for an honest split)")
    order = np.random.default_rng(seed).permutation(len(subjects))
    n = len(subjects)
    n_test = max(1, int(round(test_fraction * n)))
    n_val = max(1, int(round(val_fraction * n)))
    if n_test + n_val >= n:
        raise DataError(f"{n} subjects are too few for these split fractions")
    test_s = {subjects[i] for i in order[:n_test]}
    val_s = {subjects[i] for i in order[n_test : n_test + n_val]}
    split = SubjectSplit([], [], [], warning)
    for it in items:
        (split.test if it.subject in test_s else split.val if it.subject in val_s else split.train).append(it)
    return split


def load_frame(ds: FolderDataset, item: DatasetItem, index: int = 0) -> DepthFrame:
    """One file as a depth frame (the data set's unit and intrinsics)."""
    return DepthFrame(read_png16(item.path), ds.unit_mm, index, None, 0, ds.intrinsics)


def load_preprocessed(
    ds: FolderDataset, items: Sequence[DatasetItem], pre: PreprocessConfig, workers: int = 2
) -> tuple[np.ndarray, list[Preprocessed]]:
    """Read and preprocess ``items``: (N, 1, S, S) float32 inputs (zeros where no hand) and the
    per-file results. A damaged file is a DataError naming it."""

    def one(i_item: tuple[int, DatasetItem]) -> Preprocessed:
        i, item = i_item
        try:
            return preprocess_frame(load_frame(ds, item, i), pre)
        except CaptureError as exc:
            raise DataError(str(exc)) from None

    items = list(items)
    x = np.zeros((len(items), 1, pre.size, pre.size), np.float32)
    if not items:
        return x, []
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as ex:
            pres = list(ex.map(one, enumerate(items), chunksize=1))
    else:
        pres = [one(p) for p in enumerate(items)]
    for i, p in enumerate(pres):
        x[i, 0] = p.image
    return x, pres
