"""Writes a synthetic class-folder data set: ``OUT/<class>/<subject>_<index>.png`` + ``dataset.json``.

Frame ``k`` of class ``c`` belongs to subject ``k mod N`` and is rendered from a random
generator seeded with ``(seed, class number, k)``, subjects from ``(seed, subject
number)``: the output does not depend on the number of worker processes, and the same
seed and arguments give byte-identical files.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import re
import sys
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

import cv2
import numpy as np

from capture.frame import Intrinsics
from core.data.synth.poses import CLASS_DESCRIPTIONS, CLASSES, NORMAL_CLASS, sample_pose
from core.data.synth.raycast import KINECT_NFOV_BINNED
from core.data.synth.render import SceneParams, render_frame
from core.data.synth.scene import Pose, Subject, sample_subject
from core.errors import DataError

DATASET_FILE = "dataset.json"
SUBJECTS_FILE = "synth_subjects.json"
SUBJECT_PATTERN = "^(?P<subject>[^_]+)_"
PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1]
_CHUNK = 25

Progress = Callable[[int, int], None]


def subject_id(index: int) -> str:
    return f"s{index:04d}"


def dataset_subject(seed: int, index: int) -> Subject:
    """Subject ``index`` of a data set generated with ``seed``."""
    return sample_subject(np.random.default_rng([int(seed), 0, int(index)]), subject_id(index))


def _frame_pose(seed: int, cls: str, k: int, subject: Subject) -> tuple[Pose, np.random.Generator]:
    """Frame ``k``'s pose and the random stream its rendering continues from."""
    rng = np.random.default_rng([int(seed), 1, CLASSES.index(cls), int(k)])
    return sample_pose(cls, subject, rng), rng


def dataset_frame(seed: int, cls: str, k: int, n_subjects: int, camera: Intrinsics = KINECT_NFOV_BINNED,
                  subject: Subject | None = None) -> tuple[str, np.ndarray]:
    """Frame ``k`` of class ``cls``: (subject id, uint16 depth in mm), as the data set writer makes it."""
    subject = subject or dataset_subject(seed, k % n_subjects)
    pose, rng = _frame_pose(seed, cls, k, subject)
    return subject.id, render_frame(SceneParams(subject, pose, camera), rng)


def dataset_pose(seed: int, cls: str, filename: str) -> Pose:
    """The pose of a data set frame, from its file name, without rendering it (for analysis:
    ``Pose.variant`` says which kind of its class the frame shows)."""
    subject_index, k = parse_frame_filename(filename)
    return _frame_pose(seed, cls, k, dataset_subject(seed, subject_index))[0]


def frame_filename(subject: str, k: int) -> str:
    return f"{subject}_{k:05d}.png"


def parse_frame_filename(filename: str) -> tuple[int, int]:
    """(subject index, frame index k) of a name ``frame_filename`` made."""
    m = re.fullmatch(r"s(\d{4,})_(\d{5,})(?:\.png)?", Path(filename).name)
    if m is None:
        raise DataError(f"{filename}: not a frame name that spader synth writes (sNNNN_KKKKK.png)")
    return int(m.group(1)), int(m.group(2))


def _render_chunk(job: tuple) -> int:
    out, seed, n_subjects, cam, cls, k0, k1 = job
    camera = Intrinsics.from_dict(cam)
    subjects: dict[int, Subject] = {}
    folder = Path(out) / cls
    for k in range(k0, k1):
        si = k % n_subjects
        if si not in subjects:
            subjects[si] = dataset_subject(seed, si)
        sid, depth = dataset_frame(seed, cls, k, n_subjects, camera, subjects[si])
        path = folder / frame_filename(sid, k)
        if not cv2.imwrite(str(path), depth, PNG_PARAMS):
            raise DataError(f"cannot write {path}")
    return k1 - k0


def _worker_init() -> None:
    cv2.setNumThreads(1)


def run_jobs(fn: Callable, jobs: Sequence, workers: int, progress: Progress | None, total: int, ordered: bool = False) -> Iterable:
    """Run ``fn`` over ``jobs`` in ``workers`` processes (inline for 1); yield results, report frames done."""
    done = 0
    if progress:
        progress(0, total)
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            r = fn(job)
            done += r if isinstance(r, int) else len(r)
            if progress:
                progress(done, total)
            yield r
        return
    ctx = mp.get_context("spawn")  # safe from threaded callers (GUI) and on every platform
    with ctx.Pool(workers, initializer=_worker_init) as pool:
        it = pool.imap(fn, jobs) if ordered else pool.imap_unordered(fn, jobs)
        for r in it:
            done += r if isinstance(r, int) else len(r)
            if progress:
                progress(done, total)
            yield r


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def _check_out(out: Path, classes: Sequence[str], force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise DataError(f"{out} exists and is not a folder")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise DataError(f"{out} is not empty; choose a new folder or pass --force to overwrite")
        for cls in classes:  # overwrite: the class folders must match dataset.json afterwards
            folder = out / cls
            if folder.is_dir():
                for f in folder.glob("*.png"):
                    f.unlink()


def write_dataset(
    out: str | os.PathLike[str],
    subjects: int,
    frames_per_class: int,
    seed: int = 0,
    classes: Sequence[str] | None = None,
    workers: int | None = None,
    force: bool = False,
    camera: Intrinsics = KINECT_NFOV_BINNED,
    progress: Progress | None = None,
    normal_frames: int | None = None,
) -> dict:
    """Render and write the data set; returns the ``dataset.json`` content.

    ``frames_per_class`` frames per class in total, spread round-robin over ``subjects``;
    ``normal_frames``, when given, is the normal class's count instead (the VAE learns from
    normal frames only). Frame ``k`` does not depend on the count, so a larger count adds
    frames and keeps the first ones byte-identical.
    """
    out = Path(out)
    classes = list(classes or CLASSES)
    unknown = [c for c in classes if c not in CLASSES]
    if unknown:
        raise DataError(f"unknown class(es) {', '.join(unknown)}; known: {', '.join(CLASSES)}")
    if len(set(classes)) != len(classes):
        raise DataError("a class is listed twice")
    if subjects < 1 or frames_per_class < 1 or (normal_frames is not None and normal_frames < 1):
        raise DataError("need at least one subject and one frame per class")
    if normal_frames is not None and NORMAL_CLASS not in classes:
        raise DataError(f"a normal-frame count needs the normal class {NORMAL_CLASS!r} among the classes")
    counts = {cls: int(normal_frames if normal_frames is not None and cls == NORMAL_CLASS else frames_per_class)
              for cls in classes}
    _check_out(out, classes, force)
    try:
        for cls in classes:
            (out / cls).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create {out}: {exc.strerror or exc}") from exc
    cam = camera.to_dict()
    jobs = [
        (str(out), int(seed), int(subjects), cam, cls, k0, min(k0 + _CHUNK, counts[cls]))
        for cls in classes
        for k0 in range(0, counts[cls], _CHUNK)
    ]
    total = sum(counts.values())
    for _ in run_jobs(_render_chunk, jobs, workers or default_workers(), progress, total):
        pass
    meta = {
        "format": "spader-dataset",
        "format_version": 1,
        "unit_mm": 1.0,
        "subject_pattern": SUBJECT_PATTERN,
        "synthetic": True,
        "generator": "spader synth",
        "seed": int(seed),
        "classes": counts,
        "intrinsics": {k: cam[k] for k in ("fx", "fy", "cx", "cy", "width", "height")},
        "description": "synthetic stand-in, not clinical data",
    }
    _write_json(out / DATASET_FILE, meta)
    _write_json(
        out / SUBJECTS_FILE,
        {
            "generator": "spader synth",
            "seed": int(seed),
            "normal_class": "pigeon",
            "class_descriptions": {c: CLASS_DESCRIPTIONS[c] for c in classes},
            "subjects": [dataset_subject(seed, i).to_dict() for i in range(subjects)],
        },
    )
    return meta


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


class ProgressBar:
    """A one-line progress bar on stderr (a line per 10 % when stderr is not a terminal)."""

    def __init__(self, label: str = "frames", stream=None, width: int = 30) -> None:
        self.label, self.stream, self.width = label, stream or sys.stderr, width
        self.t0 = time.perf_counter()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_decile = -1
        self._last_t = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        el = now - self.t0
        rate = done / el if el > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else float("nan")
        frac = done / total if total else 1.0
        if self.tty:
            if done < total and now - self._last_t < 0.2:
                return
            self._last_t = now
            bar = "#" * int(frac * self.width)
            eta_s = "" if eta != eta else f" ETA {int(eta) // 60}m{int(eta) % 60:02d}s"
            end = "\n" if done >= total else ""
            self.stream.write(f"\r[{bar:<{self.width}}] {done}/{total} {self.label} {rate:5.1f}/s{eta_s}   {end}")
            self.stream.flush()
        else:
            decile = int(frac * 10)
            if decile != self._last_decile:
                self._last_decile = decile
                self.stream.write(f"{done}/{total} {self.label} ({frac:.0%}, {rate:.1f}/s)\n")
                self.stream.flush()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0
