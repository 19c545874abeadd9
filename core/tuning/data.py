"""Labelled data scored for tuning, through the one scoring path (``FrameScorer``).

Two kinds of labelled data, freely mixed:
- a class-folder data set (docs/dataset-format.md): each file is scored on its own; its
  score is the per-frame SPADER score; its label is its folder (the normal class, or an
  anomaly class named by its folder); its subject comes from the data set's pattern or
  manifest;
- recorded sessions with a ``labels.json`` (core/tuning/labels.py): every frame is scored
  in order and smoothed by the verdict tracker, as in the window, and the score tuned is
  the **smoothed** score, the one the threshold is compared with live; labelled ranges give
  the frames' labels; a screening's attempts judged by the clinician give attempts, each
  with its critical threshold (core/tuning/attempt_roc.py). The subject is the session's
  pseudonym.
Frames without a hand have no score and are counted apart.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from core.errors import SpaderError
from core.tuning.attempt_roc import critical_threshold
from core.tuning.labels import IGNORE, LABELS_FILE, NORMAL, labels_digest, read_labels

Progress = Callable[[int, int, str], None]  # (done, total, what)


class TuningCancelled(SpaderError):
    """The operator cancelled the scoring."""


@dataclass
class LabelledAttempt:
    source: str
    subject: str
    task_id: str
    number: int
    imitated: bool  # the clinician's judgement
    critical: float  # imitated at every threshold <= this (-inf: at none)


@dataclass
class LabelledScores:
    normal: str
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    classes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    subjects: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    attempts: list[LabelledAttempt] = field(default_factory=list)
    no_hand: dict[str, int] = field(default_factory=dict)  # per class: labelled frames without a hand
    sources: list[dict[str, Any]] = field(default_factory=list)  # what was scored
    labels_sha256: str = ""

    @property
    def is_normal(self) -> np.ndarray:
        return self.classes == self.normal

    def describe(self) -> str:
        return "; ".join(f"{s['kind']} {s['path']} ({s['frames']} labelled frames)" for s in self.sources)


def _check(cancel: Callable[[], bool] | None) -> None:
    if cancel is not None and cancel():
        raise TuningCancelled("cancelled")


def score_labelled(model: Any, *, normal: str, folders: Sequence[str | Path] = (), sessions: Sequence[str | Path] = (),
                   subjects: Sequence[str] | None = None, classes: Sequence[str] | None = None,
                   backend: str = "auto", device: str = "auto", batch: int = 8, progress: Progress | None = None,
                   cancel: Callable[[], bool] | None = None, scorer: Any = None) -> LabelledScores:
    """Score every labelled frame (and attempt) of ``folders`` and ``sessions`` with ``model``.
    ``subjects`` / ``classes`` keep only those of a class-folder data set. A session's
    label ``normal`` is the normal class whatever its name (e.g. ``pigeon``). ``device``:
    where PyTorch runs (the window passes its own, since the model object is shared)."""
    from core.runtime.scorer import FrameScorer

    if not folders and not sessions:
        raise SpaderError("nothing to tune on: give a class-folder data set (--data) or labelled sessions (--sessions)")
    scorer = scorer or FrameScorer(model, backend=backend, device=device)
    out: dict[str, list[Any]] = {"scores": [], "classes": [], "subjects": []}
    no_hand: dict[str, int] = {}
    attempts: list[LabelledAttempt] = []
    sources: list[dict[str, Any]] = []
    digests: list[bytes] = []
    plan = [("folder", Path(f)) for f in folders] + [("session", Path(s)) for s in sessions]
    jobs = []
    for kind, p in plan:
        if kind == "folder":
            jobs.append((kind, p, _folder_items(p, subjects, classes)))
        else:
            jobs.append((kind, p, _session_job(p)))
    total = sum(len(j[2][1]) for j in jobs)
    done = 0

    def tick(n: int, what: str) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total, what)
        _check(cancel)

    for kind, p, job in jobs:
        if kind == "folder":
            ds, items = job
            digests.append("\n".join(f"{it.path.relative_to(ds.root).as_posix()}\t{it.cls}\t{it.subject}"
                                     for it in items).encode())
            n0 = len(out["scores"])
            _score_folder(scorer, ds, items, out, no_hand, batch, lambda n: tick(n, str(p)))
            sources.append({"kind": "class folders", "path": str(p), "frames": len(out["scores"]) - n0,
                            "classes": sorted({it.cls for it in items}), "subjects": len({it.subject for it in items})})
        else:
            session, entries, labels, subject = job
            digests.append((session / LABELS_FILE).read_bytes())
            n0 = len(out["scores"])
            a, skipped = _score_session(scorer, session, entries, labels, subject, normal, out, no_hand,
                                        lambda n: tick(n, str(p)))
            attempts += a
            sources.append({"kind": "session", "path": str(p), "frames": len(out["scores"]) - n0, "subject": subject,
                            "attempts": len(a), **({"attempts_of_other_models": skipped} if skipped else {})})
    res = LabelledScores(normal, np.asarray(out["scores"], float), np.asarray(out["classes"], dtype=object),
                         np.asarray(out["subjects"], dtype=object), attempts, no_hand, sources, labels_digest(digests))
    if res.scores.size and not res.is_normal.any():
        raise SpaderError(f"no labelled '{normal}' frame with a hand: check the normal class")
    return res


def _folder_items(root: Path, subjects: Sequence[str] | None, classes: Sequence[str] | None):
    from core.data.folders import open_dataset

    ds = open_dataset(root)
    items = [it for it in ds.items if (subjects is None or it.subject in set(subjects))
             and (classes is None or it.cls in set(classes))]
    if not items:
        raise SpaderError(f"{root}: no files left with these subjects and classes")
    return ds, items


def _score_folder(scorer: Any, ds: Any, items: list[Any], out: dict[str, list[Any]], no_hand: dict[str, int],
                  batch: int, tick: Callable[[int], None]) -> None:
    from core.data.folders import load_frame

    for i in range(0, len(items), batch):
        chunk = items[i:i + batch]
        frames = [load_frame(ds, it, i + k) for k, it in enumerate(chunk)]
        for it, r in zip(chunk, scorer.score_frames(frames)):
            if r.score is None or not math.isfinite(float(r.score)):
                no_hand[it.cls] = no_hand.get(it.cls, 0) + 1
                continue
            out["scores"].append(float(r.score))
            out["classes"].append(it.cls)
            out["subjects"].append(it.subject)
        tick(len(chunk))


def _session_job(path: Path):
    from capture.session import SessionReader

    session = path / "session" if (path / "session" / "session.json").exists() else path
    if not (session / LABELS_FILE).exists():
        raise SpaderError(f"{path} has no {LABELS_FILE}: label it first (replay it and mark ranges)")
    labels = read_labels(session)
    reader = SessionReader(session)
    subject = reader.meta.subject_id or (session.parent.name if session.name == "session" else session.name)
    return session, reader.entries, labels, str(subject)


def _score_session(scorer: Any, session: Path, entries: list[Any], labels: Any, subject: str, normal: str,
                   out: dict[str, list[Any]], no_hand: dict[str, int],
                   tick: Callable[[int], None]) -> tuple[list[LabelledAttempt], int]:
    from capture.session import SessionReader
    from core.runtime.rescore import resolve_verdict_settings
    from core.runtime.verdict import VerdictTracker
    from core.runtime.worker import result_time_s

    reader = SessionReader(session)
    vs, _ = resolve_verdict_settings(scorer.model, reader.meta.settings or None)  # the smoothing it was recorded with
    tracker = VerdictTracker(vs)
    times, hands, smooth = [], [], []
    t_first: float | None = None
    for k, frame in enumerate(reader.iter_frames()):
        (r,) = scorer.score_frames([frame])
        st = tracker.update(result_time_s(r), r.score)
        t = result_time_s(r)
        t_first = t if t_first is None else t_first
        times.append(t - t_first)
        hands.append(bool(r.has_hand))
        smooth.append(st.smoothed)
        lab = labels.label_of(int(frame.index))
        if lab == NORMAL:
            lab = normal
        if lab and lab != IGNORE:
            if st.smoothed is None or not r.has_hand:
                no_hand[lab] = no_hand.get(lab, 0) + 1
            else:
                out["scores"].append(float(st.smoothed))
                out["classes"].append(lab)
                out["subjects"].append(subject)
        if k % 8 == 7:
            tick(8)
    tick(len(times) % 8)
    return _session_attempts(session, labels, subject, times, hands, smooth, str(getattr(scorer.model, "name", "")))


def _task_models(session: Path) -> dict[str, str]:
    """task id -> the name of the model that judged it, from the screening's header."""
    import json

    try:
        h = json.loads((session.parent / "screening.json").read_text(encoding="utf-8"))
        return {str(k): str(v.get("name")) for k, v in (h.get("models") or {}).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def _session_attempts(session: Path, labels: Any, subject: str, times: list[float], hands: list[bool],
                      smooth: list[float | None], model_name: str) -> tuple[list[LabelledAttempt], int]:
    """The judged attempts of tasks this model judged (another task's pose is another
    model's business), and how many judged attempts were left out for that."""
    if not labels.attempts:
        return [], 0
    from core.screening.record import read_events
    from core.screening.replay import screening_time_offset

    shift = screening_time_offset(session)
    models = _task_models(session)
    out, skipped = [], 0
    for e in read_events(session):
        if e.get("event") != "attempt_started" or e.get("t") is None:
            continue
        key = f"{e.get('task_id')}:{int(e.get('attempt') or 0)}"
        judged = labels.attempts.get(key)
        if judged is None:
            continue
        if models.get(str(e.get("task_id")), model_name) != model_name:
            skipped += 1
            continue
        crit = critical_threshold(times, hands, smooth, float(e["t"]) + shift, float(e.get("time_limit_s") or 10.0),
                                  float(e.get("hold_s") or 1.0))
        out.append(LabelledAttempt(str(session), subject, str(e.get("task_id")), int(e.get("attempt") or 0),
                                   judged == "imitated", crit))
    return out, skipped


def file_digest(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
