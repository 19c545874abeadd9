"""Batch re-scoring of a recording: every frame, as fast as possible, in batches.

Uses the live path (``FrameScorer``: the same preprocessing, model call and per-frame
noise seeds), so a file's scores equal what the worker published live for those frames.
Writes ``scores.csv`` (one row per frame), ``verdicts.csv`` (verdict timeline segments),
``summary.json`` and optionally overlay PNGs and an MP4 (core/runtime/score_files.py; see
docs/scores-format.md). The recording is read ahead on a second thread
(``capture.read_ahead``), with the capture thread's rule for failed reads.

Interruption-safe: rows are flushed after every batch and a partial ``summary.json``
(``"complete": false``) is written at the start and every few seconds, so a run stopped
by Ctrl-C or a kill keeps every row it wrote.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from capture.frame import DepthFrame
from capture.read_ahead import ReadAhead, ReadError
from capture.sources import open_source, source_kind
from capture.sources.base import FrameSource
from core.errors import SpaderError
from core.private_files import make_private_dir
from core.runtime.results import FrameResult
from core.runtime.score_files import SCORES_FILE, SUMMARY_FILE, RunHeader, ScoreFiles
from core.runtime.backends import DEFAULT_BACKEND
from core.runtime.scorer import FrameScorer
from core.runtime.verdict import VerdictSettings, VerdictTracker, verdict_settings_from_session
from core.spader.checkpoint import SpaderModel
from core.spader.scorers import M_SAMPLES

SUMMARY_EVERY_S = 2.0


@dataclass
class RescoreOutcome:
    out_dir: Path
    summary: dict[str, Any]
    results: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def resolve_verdict_settings(
    model: SpaderModel,
    session_settings: dict[str, Any] | None,
    settings: VerdictSettings | None = None,
    threshold: float | None = None,
) -> tuple[VerdictSettings, str]:
    """Settings and where the threshold came from: ``threshold`` argument > ``settings``
    argument > the model's threshold > the recording's saved settings > the default."""
    from_session = verdict_settings_from_session(session_settings)
    base = settings or from_session or VerdictSettings()
    if threshold is not None:
        base.threshold, source = float(threshold), "option"
    elif settings is not None:
        source = "settings"
    elif model.threshold is not None:
        base.threshold, source = float(model.threshold), "model"
    elif from_session is not None:
        source = "recording"
    else:
        source = "default"
    return base, source


def _score_batch(scorer: FrameScorer, frames: list[DepthFrame], files: ScoreFiles) -> list[FrameResult]:
    """Score a batch; when it fails, frame by frame, so one bad frame does not cost the batch."""
    try:
        return scorer.score_frames(frames)
    except Exception:
        results: list[FrameResult] = []
        for f in frames:
            try:
                results += scorer.score_frames([f])
            except Exception as exc:
                files.error(f"frame {f.index}: {type(exc).__name__}: {exc}")
        return results


def _note_problems(files: ScoreFiles, source: FrameSource) -> None:
    """Add what the source found wrong while it was read (repaired timestamps, a file cut
    short) to the recording's problems in the summary, once each."""
    listed = files.header.recording.setdefault("problems", [])
    for p in source.problems:
        if p not in listed:
            listed.append(p)


def rescore(
    recording: str | os.PathLike[str] | None,
    out_dir: str | os.PathLike[str],
    model: SpaderModel,
    *,
    device: str = "auto",
    batch: int = 16,
    overlays: bool = False,
    video: bool = False,
    unit_mm: float = 1.0,
    fps: float | None = None,
    settings: VerdictSettings | None = None,
    threshold: float | None = None,
    m: int = M_SAMPLES,
    seed: int = 0,
    progress: bool = True,
    source: FrameSource | None = None,
    model_path: str | None = None,
    force: bool = False,
    on_progress: Callable[[int, int | None], None] | None = None,
    backend: str = DEFAULT_BACKEND,
    threads: int | None = None,
) -> RescoreOutcome:
    """Score every frame of ``recording`` (or of an already built ``source``) into ``out_dir``.

    Raises KeyboardInterrupt after writing what it had when interrupted; ``summary.json``
    then says ``"complete": false``.
    """
    if batch < 1:
        raise SpaderError(f"--batch must be at least 1, got {batch}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise SpaderError(f"{out} exists and is not a folder")
    if not force and any((out / n).exists() for n in (SCORES_FILE, SUMMARY_FILE)):
        raise SpaderError(f"{out} already holds scores; choose another folder or pass --force")
    created = not out.exists()
    try:
        make_private_dir(out)  # scores of a subject: 700 when this run makes the folder
    except OSError as exc:  # a parent that is a file, no permission, a read-only disk
        raise SpaderError(f"cannot create the output folder {out}: {exc.strerror or exc}") from None
    try:  # a recording (or scorer) that cannot start leaves no empty --out folder behind
        if source is None:
            if recording is None:
                raise SpaderError("nothing to score: give a recording")
            source = open_source(os.fspath(recording), speed=None, loop=False, unit_mm=unit_mm, fps=fps)
        source.open()
        info = source.info
        scorer = FrameScorer(model, device=device, m=m, seed=seed, backend=backend, threads=threads)
    except BaseException:
        if created:
            try:
                out.rmdir()
            except OSError:
                pass
        raise
    session_settings = (info.extra or {}).get("settings") if isinstance(info.extra, dict) else None
    vsettings, threshold_source = resolve_verdict_settings(model, session_settings, settings, threshold)
    tracker = VerdictTracker(vsettings)
    nominal_fps = float(info.fps or fps or 30.0)
    cfg = scorer.preprocess
    depth_range = None
    if getattr(cfg, "near_mm", None) is not None and getattr(cfg, "far_mm", None) is not None:
        depth_range = (float(cfg.near_mm), float(cfg.far_mm))
    header = RunHeader(
        recording={
            "path": None if recording is None else os.fspath(recording),
            "kind": None if recording is None else source_kind(recording),
            "sensor": info.sensor,
            "frame_count": info.frame_count,
            "fps": info.fps,
            "unit_mm": info.unit_mm,
            "width": info.width,
            "height": info.height,
            # what the reader found wrong with the recording itself (a cut index, frames missing,
            # a session never closed): kept in the summary, never only in a log
            "problems": list((info.extra or {}).get("problems", [])) if isinstance(info.extra, dict) else [],
        },
        model={"name": model.name, "path": model_path, "threshold": model.threshold, "input_size": model.input_size},
        scoring={
            "device": str(scorer.device),
            "backend": scorer.backend_label,
            "backend_note": scorer.backend_note,
            "batch": batch,
            "m_samples": m,
            "seed": seed,
            "preprocess": cfg.to_dict() if hasattr(cfg, "to_dict") else None,
        },
        verdict_settings=vsettings.to_dict(),
        threshold=vsettings.threshold,
        threshold_source=threshold_source,
    )
    files = ScoreFiles(out, header, overlays=overlays, video=video, fps=nominal_fps, depth_range=depth_range)
    files.write_summary(False)
    last_summary = time.monotonic()
    reader = ReadAhead(source, maxsize=max(2 * batch, 4)).start()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=info.frame_count, unit="frame", desc="scoring", dynamic_ncols=True)
    t0_us: list[int | None] = []  # origin of the time axis: the first frame's device time
    complete = False
    stopped: str | None = None  # why reading stopped before the end
    try:
        while items := reader.get_many(batch):
            frames: list[DepthFrame] = []
            for it in items:
                if isinstance(it, ReadError):
                    files.read_error(it.message)
                    if it.final:
                        stopped = it.message
                else:
                    frames.append(it)
            if frames:
                for f in frames:
                    files.check_unit(f)
                for r in _score_batch(scorer, frames, files):
                    if not t0_us:
                        t0_us.append(r.device_ts_us)
                    if r.device_ts_us is not None and t0_us[0] is not None:
                        t_s = (r.device_ts_us - t0_us[0]) / 1e6
                    else:
                        t_s = r.index / nominal_fps
                    files.row(r, t_s, tracker.update(t_s, r.score))
                files.flush()
                if bar is not None:
                    bar.update(len(frames))
                if on_progress is not None:
                    on_progress(files.counts["frames"], info.frame_count)
            if time.monotonic() - last_summary >= SUMMARY_EVERY_S:
                _note_problems(files, source)
                files.write_summary(False)
                last_summary = time.monotonic()
        complete = stopped is None  # a recording given up on is not scored completely
    except BaseException:
        reader.stop()
        files.close()
        _note_problems(files, source)
        files.write_summary(False, interrupted=True)
        raise
    finally:
        if bar is not None:
            bar.close()
        reader.stop()
        try:
            source.close()
        except Exception:
            pass
    files.close()
    _note_problems(files, source)
    final = files.write_summary(complete, stopped=stopped)
    return RescoreOutcome(out, final, files.counts["frames"])
