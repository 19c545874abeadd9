"""The files ``spader score`` writes (docs/scores-format.md): scores.csv, verdicts.csv,
summary.json, and the overlay PNGs and MP4 when asked for.

``ScoreFiles`` takes one scored frame at a time (``row``): it appends its scores row,
extends or closes the verdict segment, draws its overlay, and keeps the counts and the
SPADER statistics that summary.json reports. Rows are flushed by the caller (after every
batch), so an interrupted run keeps every row it wrote.
"""

from __future__ import annotations

import csv
import datetime as _dt
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from capture.depth_units import implausible_depth_mm, unit_warning
from capture.session.format import write_json_atomic
from core import __version__
from core.errors import SpaderError
from core.private_files import make_private_dir, open_private_text, write_private
from core.runtime.overlay import render_overlay
from core.runtime.results import FrameResult
from core.runtime.verdict import Verdict, VerdictState
from core.spader.scorers import SCORER_KEYS

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
MAX_ERRORS_LISTED = 50


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _fmt(v: float | None) -> str:
    return "" if v is None or not math.isfinite(v) else f"{v:.7g}"


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


@dataclass
class _Segment:
    verdict: Verdict
    start_index: int
    start_s: float
    end_index: int
    end_s: float
    frames: int = 1


@dataclass
class RunHeader:
    """What summary.json says about a run that does not change while it runs."""

    recording: dict[str, Any]
    model: dict[str, Any]
    scoring: dict[str, Any]
    verdict_settings: dict[str, float]
    threshold: float
    threshold_source: str
    started: str = field(default_factory=now_iso)


class ScoreFiles:
    """The output folder of one run; ``close`` ends the open verdict segment."""

    def __init__(
        self,
        out: Path,
        header: RunHeader,
        *,
        overlays: bool,
        video: bool,
        fps: float,
        depth_range: tuple[float, float] | None,
    ) -> None:
        self.out = out
        self.header = header
        self.fps = fps
        self.depth_range = depth_range
        self.overlays_asked, self.video_asked = overlays, video
        self._scores_f = open_private_text(out / SCORES_FILE)  # health data: 600 whatever the umask
        self._scores = csv.writer(self._scores_f, lineterminator="\n")
        self._scores.writerow(SCORE_COLUMNS)
        self._verdicts_f = open_private_text(out / VERDICTS_FILE)
        self._verdicts = csv.writer(self._verdicts_f, lineterminator="\n")
        self._verdicts.writerow(VERDICT_COLUMNS)
        self.flush()
        self.overlay_dir = out / OVERLAY_DIR if overlays else None
        if self.overlay_dir is not None:
            make_private_dir(self.overlay_dir)
        self.video = video
        self._vw: Any = None
        self._vsize: tuple[int, int] | None = None
        self.segment: _Segment | None = None
        self.time_by_verdict: dict[str, float] = {v.value: 0.0 for v in Verdict}
        self.overlays_written = 0
        self.video_frames = 0
        self.counts = {"frames": 0, "with_hand": 0, "no_hand": 0, "read_errors": 0, "unit_suspect": 0}
        self._unit_first: tuple[int, float, float] | None = None  # frame, median mm, unit
        self.errors: list[str] = []
        self._spader: list[float] = []
        self.last_state: VerdictState | None = None
        self._t_wall0 = time.monotonic()

    # -- per frame ------------------------------------------------------------------------
    def row(self, r: FrameResult, t_s: float, state: VerdictState) -> None:
        """One scored frame at time ``t_s`` with the verdict after it."""
        self.last_state = state
        self.counts["frames"] += 1
        if r.has_hand:
            self.counts["with_hand"] += 1
            self._spader.append(r.scores["spader"])
        else:
            self.counts["no_hand"] += 1
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

    def check_unit(self, frame: Any) -> None:
        """Count a frame whose depth, read with its unit, lies where no person sits
        (capture.depth_units): the summary's warnings then say the unit may be wrong."""
        mm = implausible_depth_mm(frame.depth, frame.unit_mm)
        if mm is not None:
            self.counts["unit_suspect"] += 1
            if self._unit_first is None:
                self._unit_first = (int(frame.index), mm, float(frame.unit_mm))

    def warnings(self) -> list[str]:
        """What is not an error but makes the scores doubtful."""
        out: list[str] = []
        if self._unit_first is not None:
            index, mm, unit = self._unit_first
            n = self.counts["unit_suspect"]
            out.append(f"{n} of {self.counts['frames']} frames (the first: frame {index}): {unit_warning(mm, unit)}; "
                       "score it again with the right --unit-mm")
        return out

    def read_error(self, message: str) -> None:
        """A frame that could not be read (it has no row)."""
        self.counts["read_errors"] += 1
        self.errors.append(message)

    def error(self, message: str) -> None:
        """Any other problem (a frame that failed to score)."""
        self.errors.append(message)

    # -- segments and pictures ------------------------------------------------------------
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
            ok, buf = cv2.imencode(".png", img)
            if not ok:
                raise SpaderError(f"cannot encode the overlay of frame {r.index}")
            write_private(path, bytes(buf), "the overlay", durable=False)  # a picture of the subject: 600
            self.overlays_written += 1
        if self.video:
            h, w = img.shape[:2]
            if self._vw is None:
                path = self.out / VIDEO_FILE
                # OpenCV creates the file under the umask: made first, 600, so it is never readable by others
                open_private_text(path).close()
                self._vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (w, h))
                if not self._vw.isOpened():
                    self._vw = None
                    self.video = False
                    raise SpaderError(f"cannot write the video {path} (OpenCV has no mp4v encoder here)")
                os.chmod(path, 0o600)
                self._vsize = (w, h)
            if (w, h) != self._vsize:
                img = cv2.resize(img, self._vsize)
            self._vw.write(img)
            self.video_frames += 1

    # -- summary.json ---------------------------------------------------------------------
    def summary(self, complete: bool, interrupted: bool = False) -> dict[str, Any]:
        total = sum(self.time_by_verdict.values())
        seg = self.segment
        tbv = dict(self.time_by_verdict)
        if seg is not None:  # the open segment, up to its last frame plus one frame period
            d = seg.end_s + 1.0 / self.fps - seg.start_s
            tbv[seg.verdict.value] += d
            total += d
        wall = time.monotonic() - self._t_wall0
        h, fs = self.header, self.last_state
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "complete": complete,
            "interrupted": interrupted,
            "recording": h.recording,
            "model": h.model,
            "scoring": h.scoring,
            "verdict_settings": h.verdict_settings,
            "threshold": h.threshold,
            "threshold_source": h.threshold_source,
            "counts": {**self.counts, "errors": len(self.errors)},
            "time_s": total,
            "verdict_time_s": tbv,
            "verdict_fraction": {k: (v / total if total > 0 else 0.0) for k, v in tbv.items()},
            "final_verdict": None if fs is None else fs.verdict.value,
            "scores": {"spader": _score_stats(self._spader)},
            "outputs": {
                "scores": SCORES_FILE,
                "verdicts": VERDICTS_FILE,
                "overlays": f"{OVERLAY_DIR}/" if self.overlays_asked else None,
                "video": VIDEO_FILE if self.video_asked else None,
            },
            "errors": self.errors[:MAX_ERRORS_LISTED],
            "warnings": self.warnings(),
            "started": h.started,
            "finished": now_iso() if complete or interrupted else None,
            "wall_s": wall,
            "frames_per_s": self.counts["frames"] / wall if wall > 0 else 0.0,
            "software_version": __version__,
        }

    def write_summary(self, complete: bool, interrupted: bool = False, stopped: str | None = None) -> dict[str, Any]:
        s = self.summary(complete, interrupted)
        s["stopped"] = stopped  # why reading gave up before the end (None: it did not)
        write_json_atomic(self.out / SUMMARY_FILE, s)
        return s

    # -- the end --------------------------------------------------------------------------
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
