"""Batch re-scoring of a recording: every frame, as fast as possible, in batches.

Uses the live path (``FrameScorer``: the same preprocessing, model call and per-frame
noise seeds), so a file's scores equal what the worker published live for those frames.
Writes ``scores.csv`` (one row per frame), ``verdicts.csv`` (verdict timeline segments),
``summary.json`` and optionally overlay PNGs and an MP4; see docs/scores-format.md.

Interruption-safe: rows are flushed after every batch and a partial ``summary.json``
(``"complete": false``) is written at the start and every few seconds, so a run stopped
by Ctrl-C or a kill keeps every row it wrote.
"""

from __future__ import annotations

import csv
import datetime as _dt
import math
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from capture.frame import DepthFrame
from capture.frame_queue import FrameQueue
from capture.session.format import write_json_atomic
from capture.sources.base import EndOfStream, FrameSource
from core import __version__
from core.spader.checkpoint import SpaderModel
from core.errors import DataError, SpaderError
from core.runtime.scorer import FrameScorer
from core.runtime.results import FrameResult
from core.spader.scorers import SCORER_KEYS
from core.runtime.verdict import Verdict, VerdictSettings, VerdictState, VerdictTracker, verdict_settings_from_session

FORMAT = "spader-scores"
FORMAT_VERSION = 1
SCORES_FILE = "scores.csv"
VERDICTS_FILE = "verdicts.csv"
SUMMARY_FILE = "summary.json"
OVERLAY_DIR = "overlays"
VIDEO_FILE = "overlay.mp4"
SCORE_COLUMNS: tuple[str, ...] = (
    "index",
    "device_ts_us",
    "t_s",
    "has_hand",
    *SCORER_KEYS,
    "smoothed",
    "verdict",
    "box_x0",
    "box_y0",
    "box_x1",
    "box_y1",
    "ref_depth_mm",
    "reason",
)
VERDICT_COLUMNS: tuple[str, ...] = (
    "verdict",
    "start_index",
    "end_index",
    "start_s",
    "end_s",
    "duration_s",
    "frames",
)
MAX_CONSECUTIVE_READ_ERRORS = 3
SUMMARY_EVERY_S = 2.0


def _now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def recording_kind(path: str | os.PathLike[str]) -> str:
    p = Path(path)
    if p.suffix.lower() == ".mkv":
        return "mkv"
    if (p / "session.json").is_file():
        return "session"
    if p.is_dir():
        return "images"
    return "unknown"


# -- overlays -------------------------------------------------------------------------
_VERDICT_BGR = {
    Verdict.NORMAL: (80, 200, 60),
    Verdict.ANOMALY: (40, 40, 230),
    Verdict.NO_HAND: (0, 200, 230),
    Verdict.PENDING: (200, 200, 200),
}


def render_overlay(
    result: FrameResult,
    state: VerdictState | None = None,
    depth_range_mm: tuple[float, float] | None = None,
) -> np.ndarray:
    """A BGR uint8 picture of one result: the depth frame in grey (near = bright), the
    Grad-CAM ROI as a heat map inside the crop box, the box in the verdict's colour, and a
    caption with the score and the verdict."""
    import cv2

    if result.depth is None:
        raise DataError(f"frame {result.index}: the result carries no depth image to draw")
    mm = result.depth.astype(np.float32) * np.float32(result.unit_mm)
    valid = mm > 0
    if depth_range_mm is not None:
        lo, hi = depth_range_mm
    elif valid.any():
        lo, hi = (float(v) for v in np.percentile(mm[valid], (1, 99)))
    else:
        lo, hi = 0.0, 1.0
    norm = np.clip((mm - lo) / max(hi - lo, 1e-6), 0, 1)
    grey = np.where(valid, 255 * (1 - norm) * 0.85 + 20, 0).astype(np.uint8)
    img = cv2.applyColorMap(grey, cv2.COLORMAP_BONE)
    cam = result.frame_map("cam") if result.has_hand else None
    if cam is not None and result.box is not None:
        peak = float(cam.max())
        if peak > 0:
            c = np.clip(cam / peak, 0, 1)
            heat = cv2.applyColorMap((c * 255).astype(np.uint8), cv2.COLORMAP_JET)
            alpha = (0.6 * c)[..., None]
            img = (img * (1 - alpha) + heat * alpha).astype(np.uint8)
    verdict = state.verdict if state is not None else None
    colour = _VERDICT_BGR.get(verdict, (230, 230, 230)) if verdict is not None else (230, 230, 230)
    if result.box is not None:
        x0, y0, x1, y1 = result.box
        cv2.rectangle(img, (int(x0), int(y0)), (int(x1) - 1, int(y1) - 1), colour, 2)
    h = img.shape[0]
    scale = max(0.4, h / 900)
    if result.has_hand:
        text = f"#{result.index}  SPADER {result.scores.get('spader', float('nan')):+.3f}"
        if state is not None and state.smoothed is not None:
            text += f"  smoothed {state.smoothed:+.3f}"
    else:
        text = f"#{result.index}  {result.reason or 'no hand'}"
    y = int(22 * scale / 0.5)
    cv2.putText(img, text, (8, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    if verdict is not None:
        cv2.putText(img, verdict.value, (8, 2 * y + 4), cv2.FONT_HERSHEY_SIMPLEX, scale * 1.4, colour, 2, cv2.LINE_AA)
    return img


# -- reading ahead --------------------------------------------------------------------
@dataclass
class _ReadError:
    message: str


@dataclass
class _Abort:
    exc: BaseException


class _Prefetcher:
    """Reads the source on its own thread (PNG decoding overlaps scoring) into a bounded
    lossless queue. Read errors travel in the queue as items; so does an exception that
    must stop the run (e.g. KeyboardInterrupt raised by the source)."""

    def __init__(self, source: FrameSource, maxsize: int) -> None:
        self.source = source
        self.queue = FrameQueue(maxsize)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rescore-reader", daemon=True)

    def start(self) -> "_Prefetcher":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.queue.close()
        self._thread.join(5.0)

    def _skip_damaged(self) -> None:
        """Step past a frame that cannot be read (sessions: their reader stays on it)."""
        from capture.sources.session import SessionSource

        inner = getattr(self.source, "inner", self.source)
        if isinstance(inner, SessionSource):
            self.source.seek_index(inner.position + 1)

    def _run(self) -> None:
        q = self.queue
        consecutive = 0
        try:
            while not self._stop.is_set():
                try:
                    frame = self.source.read(0.5)
                except EndOfStream:
                    return
                except Exception as exc:
                    consecutive += 1
                    q.put(_ReadError(f"{type(exc).__name__}: {exc}"))  # type: ignore[arg-type]
                    if consecutive >= MAX_CONSECUTIVE_READ_ERRORS:
                        q.put(_ReadError(f"stopped reading after {consecutive} failed reads in a row"))  # type: ignore[arg-type]
                        return
                    try:
                        self._skip_damaged()
                    except Exception:
                        pass
                    continue
                consecutive = 0
                if frame is not None and not q.put(frame):
                    return
        except BaseException as exc:  # KeyboardInterrupt and the like: hand it to the main thread
            q.put(_Abort(exc))  # type: ignore[arg-type]
        finally:
            q.close()


# -- outputs ----------------------------------------------------------------------------
def _fmt(v: float | None) -> str:
    return "" if v is None or not math.isfinite(v) else f"{v:.7g}"


@dataclass
class _Segment:
    verdict: Verdict
    start_index: int
    start_s: float
    end_index: int
    end_s: float
    frames: int = 1


@dataclass
class RescoreOutcome:
    out_dir: Path
    summary: dict[str, Any]
    results: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class _Outputs:
    def __init__(self, out: Path, overlays: bool, video: bool, fps: float, depth_range: tuple[float, float] | None):
        self.out = out
        self._scores_f = open(out / SCORES_FILE, "w", newline="", encoding="utf-8")
        self._scores = csv.writer(self._scores_f, lineterminator="\n")
        self._scores.writerow(SCORE_COLUMNS)
        self._verdicts_f = open(out / VERDICTS_FILE, "w", newline="", encoding="utf-8")
        self._verdicts = csv.writer(self._verdicts_f, lineterminator="\n")
        self._verdicts.writerow(VERDICT_COLUMNS)
        self.flush()
        self.overlay_dir = out / OVERLAY_DIR if overlays else None
        if self.overlay_dir is not None:
            self.overlay_dir.mkdir(exist_ok=True)
        self.video = video
        self.fps = fps
        self.depth_range = depth_range
        self._vw: Any = None
        self._vsize: tuple[int, int] | None = None
        self.segment: _Segment | None = None
        self.time_by_verdict: dict[str, float] = {v.value: 0.0 for v in Verdict}
        self.overlays_written = 0
        self.video_frames = 0

    def row(self, r: FrameResult, t_s: float, state: VerdictState) -> None:
        box = r.box if r.box is not None else (None, None, None, None)
        self._scores.writerow(
            [
                r.index,
                "" if r.device_ts_us is None else r.device_ts_us,
                f"{t_s:.6f}",
                int(r.has_hand),
                *(_fmt(r.scores.get(k)) for k in SCORER_KEYS),
                _fmt(state.smoothed),
                state.verdict.value,
                *("" if v is None else int(v) for v in box),
                _fmt(r.ref_depth_mm),
                r.reason,
            ]
        )
        seg = self.segment
        if seg is not None and seg.verdict == state.verdict:
            seg.end_index, seg.end_s, seg.frames = r.index, t_s, seg.frames + 1
        else:
            if seg is not None:
                self._write_segment(seg, t_s)
            self.segment = _Segment(state.verdict, r.index, t_s, r.index, t_s)
        if self.overlay_dir is not None or self.video:
            self._picture(r, state)

    def _write_segment(self, seg: _Segment, next_start_s: float) -> None:
        dur = max(0.0, next_start_s - seg.start_s)
        self.time_by_verdict[seg.verdict.value] += dur
        self._verdicts.writerow(
            [seg.verdict.value, seg.start_index, seg.end_index, f"{seg.start_s:.6f}", f"{next_start_s:.6f}", f"{dur:.6f}", seg.frames]
        )

    def finish_segment(self) -> None:
        if self.segment is not None:
            self._write_segment(self.segment, self.segment.end_s + 1.0 / self.fps)
            self.segment = None

    def _picture(self, r: FrameResult, state: VerdictState) -> None:
        import cv2

        img = render_overlay(r, state, self.depth_range)
        if self.overlay_dir is not None:
            path = self.overlay_dir / f"{r.index:06d}.png"
            if not cv2.imwrite(str(path), img):
                raise SpaderError(f"cannot write {path}")
            self.overlays_written += 1
        if self.video:
            h, w = img.shape[:2]
            if self._vw is None:
                path = self.out / VIDEO_FILE
                self._vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (w, h))
                if not self._vw.isOpened():
                    self._vw = None
                    self.video = False
                    raise SpaderError(f"cannot write the video {path} (OpenCV has no mp4v encoder here)")
                self._vsize = (w, h)
            if (w, h) != self._vsize:
                img = cv2.resize(img, self._vsize)
            self._vw.write(img)
            self.video_frames += 1

    def flush(self) -> None:
        self._scores_f.flush()
        self._verdicts_f.flush()

    def close(self) -> None:
        self.finish_segment()
        self.flush()
        self._scores_f.close()
        self._verdicts_f.close()
        if self._vw is not None:
            self._vw.release()
            self._vw = None


def _score_stats(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    a = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(a.mean()),
        "median": float(np.median(a)),
        "min": float(a.min()),
        "max": float(a.max()),
        "std": float(a.std()),
    }


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
    m: int = 5,
    seed: int = 0,
    progress: bool = True,
    source: FrameSource | None = None,
    model_path: str | None = None,
    force: bool = False,
    on_progress: Callable[[int, int | None], None] | None = None,
) -> RescoreOutcome:
    """Score every frame of ``recording`` (or of an already built ``source``) into ``out_dir``.

    Raises KeyboardInterrupt after writing what it had when interrupted; ``summary.json``
    then says ``"complete": false``.
    """
    from capture.sources import open_source

    if batch < 1:
        raise SpaderError(f"--batch must be at least 1, got {batch}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise SpaderError(f"{out} exists and is not a folder")
    if not force and any((out / n).exists() for n in (SCORES_FILE, SUMMARY_FILE)):
        raise SpaderError(f"{out} already holds scores; choose another folder or pass --force")
    out.mkdir(parents=True, exist_ok=True)
    if source is None:
        if recording is None:
            raise SpaderError("nothing to score: give a recording")
        source = open_source(os.fspath(recording), speed=None, loop=False, unit_mm=unit_mm, fps=fps)
    source.open()
    info = source.info
    scorer = FrameScorer(model, device=device, m=m, seed=seed)
    session_settings = (info.extra or {}).get("settings") if isinstance(info.extra, dict) else None
    vsettings, threshold_source = resolve_verdict_settings(model, session_settings, settings, threshold)
    tracker = VerdictTracker(vsettings)
    nominal_fps = float(info.fps or fps or 30.0)
    cfg = scorer.preprocess
    depth_range = None
    if getattr(cfg, "near_mm", None) is not None and getattr(cfg, "far_mm", None) is not None:
        depth_range = (float(cfg.near_mm), float(cfg.far_mm))
    started, t_wall0 = _now_iso(), time.monotonic()
    counts = {"frames": 0, "with_hand": 0, "no_hand": 0, "read_errors": 0}
    errors: list[str] = []
    spader: list[float] = []
    t0_us: list[int | None] = []  # origin of the time axis: the first frame's device time
    last_state: list[VerdictState | None] = [None]

    def summary(complete: bool, interrupted: bool = False) -> dict[str, Any]:
        total = sum(outputs.time_by_verdict.values())
        seg = outputs.segment
        tbv = dict(outputs.time_by_verdict)
        if seg is not None:  # the open segment, up to its last frame plus one frame period
            d = seg.end_s + 1.0 / nominal_fps - seg.start_s
            tbv[seg.verdict.value] += d
            total += d
        wall = time.monotonic() - t_wall0
        fs = last_state[0]
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "complete": complete,
            "interrupted": interrupted,
            "recording": {
                "path": None if recording is None else os.fspath(recording),
                "kind": None if recording is None else recording_kind(recording),
                "sensor": info.sensor,
                "frame_count": info.frame_count,
                "fps": info.fps,
                "unit_mm": info.unit_mm,
                "width": info.width,
                "height": info.height,
            },
            "model": {
                "name": model.name,
                "path": model_path,
                "threshold": model.threshold,
                "input_size": model.input_size,
            },
            "scoring": {
                "device": str(scorer.device),
                "batch": batch,
                "m_samples": m,
                "seed": seed,
                "preprocess": cfg.to_dict() if hasattr(cfg, "to_dict") else None,
            },
            "verdict_settings": vsettings.to_dict(),
            "threshold": vsettings.threshold,
            "threshold_source": threshold_source,
            "counts": {**counts, "errors": len(errors)},
            "time_s": total,
            "verdict_time_s": tbv,
            "verdict_fraction": {k: (v / total if total > 0 else 0.0) for k, v in tbv.items()},
            "final_verdict": None if fs is None else fs.verdict.value,
            "scores": {"spader": _score_stats(spader)},
            "outputs": {
                "scores": SCORES_FILE,
                "verdicts": VERDICTS_FILE,
                "overlays": f"{OVERLAY_DIR}/" if overlays else None,
                "video": VIDEO_FILE if video else None,
            },
            "errors": errors[:50],
            "started": started,
            "finished": _now_iso() if complete or interrupted else None,
            "wall_s": wall,
            "frames_per_s": counts["frames"] / wall if wall > 0 else 0.0,
            "software_version": __version__,
        }

    outputs = _Outputs(out, overlays, video, nominal_fps, depth_range)
    write_json_atomic(out / SUMMARY_FILE, summary(False))
    last_summary = time.monotonic()
    reader = _Prefetcher(source, maxsize=max(2 * batch, 4)).start()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=info.frame_count, unit="frame", desc="scoring", dynamic_ncols=True)
    abort: BaseException | None = None
    complete = False
    try:
        while True:
            items = reader.queue.get_many(batch, timeout=None)
            if not items:
                break
            frames: list[DepthFrame] = []
            for it in items:
                if isinstance(it, _ReadError):
                    counts["read_errors"] += 1
                    errors.append(it.message)
                elif isinstance(it, _Abort):
                    abort = it.exc
                else:
                    frames.append(it)
            if frames:
                try:
                    results = scorer.score_frames(frames)
                except Exception:
                    results = []
                    for f in frames:  # one bad frame must not cost the batch
                        try:
                            results += scorer.score_frames([f])
                        except Exception as exc:
                            errors.append(f"frame {f.index}: {type(exc).__name__}: {exc}")
                for r in results:
                    if not t0_us:
                        t0_us.append(r.device_ts_us)
                    if r.device_ts_us is not None and t0_us[0] is not None:
                        t_s = (r.device_ts_us - t0_us[0]) / 1e6
                    else:
                        t_s = r.index / nominal_fps
                    state = tracker.update(t_s, r.score)
                    last_state[0] = state
                    counts["frames"] += 1
                    if r.has_hand:
                        counts["with_hand"] += 1
                        spader.append(r.scores["spader"])
                    else:
                        counts["no_hand"] += 1
                    outputs.row(r, t_s, state)
                outputs.flush()
                if bar is not None:
                    bar.update(len(frames))
                if on_progress is not None:
                    on_progress(counts["frames"], info.frame_count)
            if abort is not None:
                raise abort
            if time.monotonic() - last_summary >= SUMMARY_EVERY_S:
                write_json_atomic(out / SUMMARY_FILE, summary(False))
                last_summary = time.monotonic()
        complete = True
    except BaseException:
        reader.stop()
        outputs.close()
        write_json_atomic(out / SUMMARY_FILE, summary(False, interrupted=True))
        raise
    finally:
        if bar is not None:
            bar.close()
        reader.stop()
        try:
            source.close()
        except Exception:
            pass
    outputs.close()
    final = summary(complete)
    write_json_atomic(out / SUMMARY_FILE, final)
    return RescoreOutcome(out, final, counts["frames"])
