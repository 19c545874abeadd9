"""Replay of a screening as it was: each frame of its session gets the result recorded
when it was screened (results.csv): the seven scores, the hand box, the smoothed score and
the verdict, no re-scoring. Re-scoring with the current model is a separate, explicit
action (``ComparingScorer``): the model scores every frame again and each result carries
the one recorded for its frame beside it, so both can be shown."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Sequence

from core.runtime.results import FrameResult
from core.runtime.verdict import Verdict, VerdictState
from core.screening.record import read_results
from core.spader.scorers import SCORER_KEYS


def _f(v: str | None) -> float | None:
    try:
        x = float(v) if v not in (None, "") else None
    except ValueError:
        return None
    return x if x is not None and math.isfinite(x) else None


class _Named:
    def __init__(self, name: str) -> None:
        self.name = name
        self.threshold = None
        self.input_size = 0


class RecordedScorer:
    """Stands where a FrameScorer stands in the worker; its results are the recorded ones
    (``extra["recorded"]`` is set, so the worker keeps their verdict)."""

    backend = "recorded"
    backend_label = "recorded results"
    backend_note = ""
    device = "recorded"
    threads = None

    def __init__(self, session: str | Path, name: str = "recorded screening") -> None:
        self.session = Path(session)
        rows = read_results(self.session)
        # a result belongs to the session frame with the same camera time (the session numbers
        # its frames from 0, a camera's own numbers may be anything); without camera times,
        # the same frame number
        self.by_device = {int(r["device_ts_us"]): r for r in rows if r.get("device_ts_us") not in (None, "")}
        self.rows = {int(r["index"]): r for r in rows}
        self.model = _Named(name)

    def row_for(self, frame: Any) -> dict[str, Any] | None:
        dev = getattr(frame, "device_ts_us", None)
        if dev is not None and self.by_device:
            return self.by_device.get(int(dev))
        return self.rows.get(int(frame.index))

    def set_threads(self, threads: int | None) -> None:
        """Nothing runs: no threads to set."""

    def set_device(self, device: str) -> None:
        """Nothing runs: no device to set."""

    def set_model(self, model: Any, preprocess: Any = None) -> None:
        raise RuntimeError("a recorded screening replays its own results; open the session as a recording to re-score it")

    def score_frames(self, frames: Sequence[Any]) -> list[FrameResult]:
        out = []
        now = time.monotonic_ns()
        for f in frames:
            r = self.row_for(f)
            has_hand = r is not None and r["has_hand"] == "1"
            res = FrameResult(
                index=int(f.index), frame_shape=(int(f.depth.shape[0]), int(f.depth.shape[1])), has_hand=has_hand,
                reason="no result was recorded for this frame" if r is None else (r["reason"] or ("" if has_hand else "no hand")),
                depth=f.depth, unit_mm=float(f.unit_mm), device_ts_us=f.device_ts_us, captured_ns=int(f.host_ts_ns),
                scored_ns=now, model_name=self.model.name, device="recorded",
                extra={"recorded": True, "phase": "" if r is None else r.get("phase", ""),
                       "threshold": None if r is None else _f(r.get("threshold"))},
            )
            if r is not None:
                if has_hand:
                    res.scores = {k: v for k in SCORER_KEYS if (v := _f(r.get(k))) is not None}
                    if all(r.get(k) not in (None, "") for k in ("x0", "y0", "x1", "y1")):
                        res.box = tuple(int(r[k]) for k in ("x0", "y0", "x1", "y1"))  # type: ignore[assignment]
                verdict = r.get("verdict") or "PENDING"
                res.verdict = VerdictState(Verdict(verdict) if verdict in Verdict._value2member_map_ else Verdict.PENDING,
                                           _f(r.get("smoothed")), res.scores.get("spader"), _f(r.get("t_s")) or 0.0, False)
            out.append(res)
        return out


class ComparingScorer:
    """A scorer (a FrameScorer) whose results each carry, in ``extra["as_screened"]``,
    the result recorded for the same frame when it was screened: ``score`` (SPADER),
    ``smoothed``, ``verdict`` and ``phase`` (None / "" for a frame without a recorded
    result). Everything else is the inner scorer's."""

    def __init__(self, inner: Any, recorded: RecordedScorer) -> None:
        self.inner = inner
        self.recorded = recorded

    def __getattr__(self, name: str) -> Any:  # backend, device, model, set_model, ...
        return getattr(self.inner, name)

    def score_frames(self, frames: Sequence[Any]) -> list[FrameResult]:
        results = self.inner.score_frames(frames)
        for f, res in zip(frames, results):
            r = self.recorded.row_for(f)
            res.extra["as_screened"] = {
                "score": None if r is None else _f(r.get("spader")),
                "smoothed": None if r is None else _f(r.get("smoothed")),
                "verdict": "" if r is None else (r.get("verdict") or ""),
                "phase": "" if r is None else (r.get("phase") or ""),
            }
        return results


def screening_time_offset(session: str | Path) -> float:
    """Seconds from the session's first frame to the screening's time zero (its first
    scored frame): a few frames were on their way to scoring when recording began."""
    from capture.session import SessionReader

    rows = read_results(session)
    if not rows:
        return 0.0
    try:
        first = SessionReader(session).entries[0]
    except Exception:
        return 0.0
    r0 = rows[0]
    if first.device_ts_us is not None and r0.get("device_ts_us") not in (None, ""):
        return max(0.0, (int(r0["device_ts_us"]) - int(first.device_ts_us)) / 1e6 - float(r0["t_s"] or 0))
    if first.host_ts_ns and r0.get("host_ts_ns"):
        return max(0.0, (int(r0["host_ts_ns"]) - int(first.host_ts_ns)) / 1e9 - float(r0["t_s"] or 0))
    return 0.0
