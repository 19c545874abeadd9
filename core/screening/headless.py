"""A screening run without the window (`spader screening run`): the protocol on a
recording, attempts starting at given stream times, through the same scoring path,
verdict tracker and attempt judge as the window; it writes the same screening folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from core.errors import SpaderError
from core.screening.audit import AuditLog
from core.screening.protocol import Protocol, Task, load_protocol
from core.screening.run import Phase
from core.screening.session import ScreeningSession
from core.screening.store import ScreeningFolder, file_sha256


@dataclass
class TaskModel:
    task_id: str
    path: Path
    model: Any  # SpaderModel
    sha256: str


def task_models(protocol: Protocol) -> dict[str, TaskModel]:
    """Each task's model, loaded and hashed; a missing or damaged one is a clear error."""
    from core.assets import default_model_path
    from core.spader.checkpoint import load_model, model_sha256

    out: dict[str, TaskModel] = {}
    for t in protocol.tasks:
        path = default_model_path() if t.model == "bundled" else protocol.resolve(t.model)
        if not path.is_file():
            raise SpaderError(f"protocol {protocol.name!r}, task {t.id!r}: model file not found: {path}")
        model = load_model(path)
        # the model's digest (architecture and tensors), the one a calibration names too
        out[t.id] = TaskModel(t.id, path, model, model_sha256(model))
    return out


def screening_header(protocol: Protocol, models: dict[str, TaskModel], *, subject_id: str, operator: str | None,
                     site: str | None, note: str | None, source: str, thresholds: dict[str, tuple]) -> dict[str, Any]:
    from capture.session.format import app_version

    return {
        "subject_id": subject_id, "operator": operator or None, "site": site or None, "note": note or "",
        "protocol": {**protocol.to_dict(), "path": str(protocol.path) if protocol.path else None,
                     "sha256": file_sha256(protocol.path) if protocol.path else None},
        "models": {tid: {"name": m.model.name, "path": str(m.path), "sha256": m.sha256,
                         "threshold": thresholds[tid][0], "threshold_source": thresholds[tid][1],
                         # in words where the window knew more (e.g. "tuned 2026-12-01 by op-3 · …")
                         "threshold_note": thresholds[tid][2] if len(thresholds[tid]) > 2 else ""}
                   for tid, m in models.items()},
        "source": source, "app_version": app_version(),
        "disclaimer": "Research software, not a medical device: a screening aid, not a diagnosis.",
    }


def recorded_attempt_starts(recording: str | os.PathLike[str]) -> list[float]:
    """The stream times at which the screening recorded in ``recording`` (a screening's
    session folder, or the screening folder holding it) started its attempts."""
    from core.screening.record import read_events

    p = Path(recording)
    session = p / "session" if (p / "session" / "events.jsonl").exists() else p
    if not (session / "events.jsonl").exists():
        raise SpaderError(f"{recording} holds no screening events (events.jsonl): give the attempt times with --starts")
    starts = [float(e["t"]) for e in read_events(session) if e.get("event") == "attempt_started" and e.get("t") is not None]
    if not starts:
        raise SpaderError(f"the screening recorded in {recording} started no attempt")
    from core.screening.replay import screening_time_offset

    shift = screening_time_offset(session)  # a rerun's clock starts at the session's first frame
    return [t + shift for t in starts]


def run_on_recording(
    recording: str | os.PathLike[str],
    subject_id: str,
    starts: Sequence[float],
    data_dir: str | os.PathLike[str],
    *,
    protocol_path: str | os.PathLike[str] | None = None,
    operator: str | None = None,
    site: str | None = None,
    note: str | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> ScreeningFolder:
    """Run the protocol on ``recording``; attempt k starts at the first frame at or after
    ``starts[k]`` seconds (stream time) once the screening can start one."""
    from capture.session import SessionMeta, SessionWriter
    from capture.sources import open_source
    from capture.sources.base import EndOfStream
    from core.runtime.rescore import resolve_verdict_settings
    from core.runtime.scorer import FrameScorer
    from core.runtime.verdict import VerdictTracker

    protocol = load_protocol(protocol_path)
    models = task_models(protocol)
    vsettings = {tid: resolve_verdict_settings(m.model, None) for tid, m in models.items()}
    thresholds = {tid: (vs.threshold, src) for tid, (vs, src) in vsettings.items()}
    source = open_source(os.fspath(recording), speed=None, loop=False)
    source.open()
    try:
        info = source.info
        header = screening_header(protocol, models, subject_id=subject_id, operator=operator, site=site, note=note,
                                  source=f"{info.sensor}, {info.depth_mode or '?'}, {info.fps or '?'} fps "
                                  f"(replayed {Path(recording).name})", thresholds=thresholds)
        folder = ScreeningFolder.create(data_dir, header)
        audit = AuditLog(data_dir)
        audit.append("screening_created", {"screening": folder.path.name, "subject_id": header["subject_id"],
                                           "protocol": protocol.name, "protocol_version": protocol.version}, operator)
        writer = SessionWriter.create(folder.session_path, SessionMeta.from_stream(
            info, subject_id=header["subject_id"], operator=operator))
    except BaseException:
        source.close()
        raise
    run = ScreeningSession(folder, protocol, audit, operator, on_event)
    run.open_logs()
    task: Task = run.screening.task
    scorer = FrameScorer(models[task.id].model, device="cpu")
    tracker = VerdictTracker(vsettings[task.id][0])
    pending = [float(s) for s in starts]
    t0: int | None = None
    fps = float(info.fps or 30.0)
    try:
        while True:
            try:
                frame = source.read()
            except (EOFError, EndOfStream):
                break
            if frame is None:
                continue
            writer.append(frame)
            if t0 is None:
                t0 = frame.device_ts_us
            t_s = (frame.device_ts_us - t0) / 1e6 if frame.device_ts_us is not None and t0 is not None else frame.index / fps
            sc = run.screening
            if sc.phase is not Phase.DONE and sc.task.id != task.id:
                task = sc.task
                scorer.set_model(models[task.id].model)
                tracker = VerdictTracker(vsettings[task.id][0])
            (r,) = scorer.score_frames([frame])
            r.verdict = tracker.update(t_s, r.score)
            if pending and (sc.phase is Phase.INSTRUCTION or sc.can_retry()) and t_s >= pending[0] - 1e-9:
                pending.pop(0)
                run.last_t = t_s
                run.begin_attempt(t_s)
            ended = [e for e in run.on_result(r, t_s, tracker.settings.threshold) if e["event"] == "attempt_ended"]
            if ended and (not sc.can_retry() or not pending):
                run.next_task(t_s)
    except BaseException:
        # a failure or Ctrl-C: everything written stays, the folder lists as interrupted
        run.interrupt("the run stopped")
        run.close(finished=False)
        raise
    finally:
        writer.close()
        source.close()
    run.close(finished=True)
    return folder
