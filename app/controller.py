"""The window's engine room: one source, its capture thread, the scoring worker, the recorder.

    source ─► PlaybackThread ─► TapMailbox (live) / TapQueue (replay) ─► ScoringWorker ─► ResultMailbox
                    └─► Recorder (when recording)            └─► on_result: a small ScorePoint per frame

Nothing here computes a score. The GUI's display timer calls ``poll()``, which takes the
newest frame (``TapMailbox.take_new``: the newest one the capture thread handed on, not
taken away from the worker), the newest result (``ResultMailbox.take``) and the score
points published since the last poll (for the plot), and turns the capture and worker
events that arrived meanwhile into Qt signals. No signal is emitted per frame, so there
is never a backlog of queued signals: a slow display simply shows fewer frames.

Modes: a live source (camera, synthetic stream) feeds a one-slot mailbox and the worker
scores the newest frame; a recording feeds a small lossless queue and the worker scores
every frame in order (playback slows down instead of skipping when scoring cannot keep
up), so its plot has every frame.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from capture.errors import CaptureError
from capture.events import CaptureEvent, EventKind
from capture.frame import DepthFrame
from capture.playback import PlaybackThread
from capture.rate import RateMeter
from capture.recorder import Recorder
from capture.sources.base import FrameSource, SourceInfo
from capture.sources.spec import source_kind
from capture.subject import check_subject_id
from capture.tap import TapMailbox, TapQueue
from capture.thread import State
from core.runtime.backends import live_threads
from core.runtime.scorer import FrameScorer
from core.runtime.verdict import VerdictSettings, VerdictTracker, verdict_settings_to_session
from core.runtime.worker import LIVE, REPLAY, ResultMailbox, ScoringWorker, result_time_s


# -- what the display gets --------------------------------------------------------------------
@dataclass(frozen=True)
class ScorePoint:
    """One scored frame, as the plot needs it (small: no images)."""

    index: int
    t_s: float  # the verdict tracker's time of the frame (device time when known)
    raw: float | None  # SPADER score, None without a hand
    smoothed: float | None
    verdict: str  # core.runtime.verdict.Verdict value, "" when no tracker ran
    has_hand: bool
    latency_ms: float  # captured -> published
    generation: int
    # re-scoring a screening: the smoothed score and verdict recorded for this frame when
    # it was screened (None / "" otherwise)
    as_screened: float | None = None
    as_screened_verdict: str = ""


@dataclass
class Tick:
    frame: DepthFrame | None  # the newest captured frame, if new since the last poll
    result: Any  # the newest FrameResult, if new since the last poll
    points: list[ScorePoint]  # every frame scored since the last poll, in order


@dataclass(frozen=True)
class SourceDesc:
    """What the operator chose, for titles, the status bar and the settings."""

    spec: str  # what open_source understands ("kinect:0", a path, "synthetic"), or "" for an object
    label: str
    kind: str  # camera | file | synthetic | demo | custom


class Controller(QObject):
    """Owns the capture thread, the scoring worker and the recorder; Qt-side signals.

    Signals (all emitted on the GUI thread, from ``poll`` or a method call):
    ``event(origin, kind, message)``: origin is "capture" or "worker", kind an EventKind /
    WorkerEventKind value; ``source_started(SourceInfo)``; ``source_failed(message)`` (it
    could not be opened or keeps failing); ``recording_changed(on, path)``;
    ``model_changed(name)``; ``scoring_unavailable(message)``.
    """

    event = Signal(str, str, str)
    source_started = Signal(object)
    source_failed = Signal(str)
    recording_changed = Signal(bool, str)
    model_changed = Signal(str)
    scoring_unavailable = Signal(str)
    playing_changed = Signal(bool)
    screening_changed = Signal(bool)  # a screening started (True) or ended (False)

    def __init__(
        self,
        model: Any = None,
        *,
        device: str = "auto",
        threads: int | None | str = "default",
        backend: str = "auto",
        scorer_factory: Callable[[Any, str], Any] | None = None,
        verdict_settings: Any = None,
        replay_queue: int = 4,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.device_pref = device
        self.backend_pref = backend
        # None or "default": the backend's own live default (core.runtime.backends.live_threads)
        self.threads_choice: int | None = None if threads in (None, "default") else int(threads)  # type: ignore[arg-type]
        self._scorer_factory = scorer_factory or (
            lambda model, dev: FrameScorer(model, device=dev, backend=self.backend_pref, threads=self.threads_choice))
        self.replay_queue = max(1, int(replay_queue))
        if verdict_settings is None:
            th = getattr(model, "threshold", None) if model is not None else None
            verdict_settings = VerdictSettings(threshold=0.0 if th is None else float(th))
        self.tracker = VerdictTracker(verdict_settings)
        self.model: Any = None
        self.scorer: Any = None
        self.scoring_error: str | None = None
        self.worker: Any = None
        self.results: Any = None
        self.capture: PlaybackThread | None = None
        self.input: TapMailbox | TapQueue | None = None
        self.source: FrameSource | None = None
        self.desc: SourceDesc | None = None
        self.info: SourceInfo | None = None
        self.mode = LIVE
        self.playing = False
        self.ended = False
        self.recorder: Recorder | None = None
        self.recording_path: Path | None = None
        self.recording_since_ns = 0  # monotonic time the running recording took its first frame
        self._generation = 0
        self._points: deque[ScorePoint] = deque(maxlen=20000)
        self._points_lock = threading.Lock()
        self.delivered: deque[ScorePoint] = deque(maxlen=20000)  # every point handed to the display
        self._started_seen = False
        self._capture_rate = RateMeter()
        self.last_frame: DepthFrame | None = None
        self._cursor: int | None = None
        self.last_result: Any = None
        self.screening: Any = None  # core.screening.session.ScreeningSession while one runs
        self.replaying_screening: Any = None  # the ScreeningFolder replayed with its recorded results
        self._live_scorer: Any = None  # the scorer to go back to after such a replay
        self.rescoring = False  # that replay is being scored again beside its recorded results
        self.threshold_source: tuple[str, str] = ("model", "model default")  # (kind, text), set by the window
        # model -> (threshold, (kind, text)): what the window remembers for a model; set_model
        # applies it (a screening's task models get their calibration, not the file's value)
        self.threshold_resolver: Callable[[Any], tuple[float, tuple[str, str]]] | None = None
        self.compared = [0, 0]  # frames re-scored with a recorded verdict, and how many differ
        self._opening_recorded = False
        self._idle_polls = 0  # display ticks the scoring has been idle after the source ended
        self.latencies_ms: deque[float] = deque(maxlen=3000)
        if model is not None:
            self.set_model(model)

    # -- model and scoring ---------------------------------------------------------------------
    @property
    def threads(self) -> int | None:
        """Threads of the scoring worker: the one asked for, else the live default of the
        scorer's backend (all cores for a graph backend, one for PyTorch on 2 cores)."""
        if self.threads_choice is not None:
            return self.threads_choice
        return live_threads(str(getattr(self.scorer, "backend", "torch")))

    @property
    def model_name(self) -> str:
        return "none" if self.model is None else str(getattr(self.model, "name", "model"))

    @property
    def threshold(self) -> float:
        return self.tracker.settings.threshold

    def set_threshold(self, threshold: float, source: tuple[str, str] | None = None) -> None:
        """Takes effect at the next scored frame (the verdict's hold times still apply).
        ``source``: (kind, text) of where it came from (app.threshold_source). During a
        screening the change is an event of the screening and of the audit trail."""
        old = self.tracker.settings.threshold
        self.tracker.set_threshold(float(threshold))
        if source is not None:
            self.threshold_source = source
        sc = self.screening
        if sc is not None and not sc.closed and float(threshold) != old:
            sc.record_change("threshold_changed", old=old, new=float(threshold), who=sc.actor,
                             source=self.threshold_source[1])

    # -- the screening test ----------------------------------------------------------------------
    def start_screening(self, subject_id: str, *, operator: str | None = None, site: str | None = None,
                        note: str | None = None, protocol_path: str | None = None,
                        data_dir: str | os.PathLike[str] | None = None) -> Any:
        """Start the protocol on the running source: its first task's model scores, every
        frame is recorded into a new screening folder with its result, and the window drives
        the attempts (``self.screening``, a core.screening.session.ScreeningSession)."""
        from core.screening.audit import AuditLog
        from core.screening.headless import screening_header, task_models
        from core.screening.paths import default_data_dir
        from core.screening.protocol import load_protocol
        from core.screening.session import ScreeningSession
        from core.screening.store import ScreeningFolder

        if self.capture is None or self.source is None:
            raise CaptureError("open a camera or a recording first")
        if self.screening is not None and not self.screening.closed:
            raise CaptureError("a screening is already running")
        if self.recorder is not None:
            raise CaptureError("stop the recording first: a screening records its own session")
        if self.scorer is None or self.scoring_error is not None:
            raise CaptureError("scoring is not available, so nothing could be judged: open a model first")
        if self.replaying_screening is not None:
            raise CaptureError("this is the replay of a recorded screening: open a camera or a recording to screen")
        subject_id = check_subject_id(subject_id)
        protocol = load_protocol(protocol_path)
        models = task_models(protocol)
        first = protocol.tasks[0]
        self.set_model(models[first.id].model)
        # each task's threshold as it will be in force: what set_model applies for its model
        thresholds: dict[str, tuple] = {}
        for tid, m in models.items():
            if self.threshold_resolver is not None:
                th, (kind, text) = self.threshold_resolver(m.model)
                thresholds[tid] = (float(th), kind, text)
            else:
                thresholds[tid] = (float(m.model.threshold or 0.0), "model" if m.model.threshold is not None else "default")
        thresholds[first.id] = (self.threshold, *self.threshold_source)  # in force now (set_model above)
        data = Path(data_dir) if data_dir is not None else default_data_dir()
        from capture.sources.spec import public_source_label

        header = screening_header(protocol, models, subject_id=subject_id, operator=operator, site=site, note=note,
                                  source=public_source_label(self.desc.label) if self.desc else "", thresholds=thresholds)
        folder = ScreeningFolder.create(data, header)
        audit = AuditLog(data)
        audit.append("screening_created", {"screening": folder.path.name, "subject_id": subject_id,
                                           "protocol": protocol.name, "protocol_version": protocol.version}, operator)
        self.start_recording(folder.session_path, subject_id, operator)
        sess = ScreeningSession(folder, protocol, audit, (operator or "").strip() or None)
        try:
            sess.open_logs()
        except Exception:
            self.stop_recording()
            raise
        self.screening = sess
        self._screening_models = {tid: m.model for tid, m in models.items()}
        self.screening_changed.emit(True)
        return sess

    def screening_next_task(self) -> None:
        """On to the next task; its own model (and that model's threshold) scores it."""
        sc = self.screening
        if sc is None or sc.closed:
            return
        before = sc.screening.task.id
        sc.next_task()
        after = sc.screening.task.id
        if str(sc.phase) != "done" and after != before:
            model = self._screening_models[after]
            old = self.model_name
            self.set_model(model)
            sc.record_change("model_changed", old=old, new=model.name, who=sc.actor, why=f"task {after}")

    def replay_screening(self, folder: str | os.PathLike[str]) -> bool:
        """Replay a screening's session with the results recorded when it was screened
        (scores and verdicts as they were); open the session as a recording to re-score it."""
        from core.screening.replay import RecordedScorer
        from core.screening.store import ScreeningFolder

        sf = ScreeningFolder(folder)
        h = sf.header()
        self.close_source()
        self._leave_recorded()
        self._live_scorer = self.scorer
        self.rescoring = False
        self.scorer = RecordedScorer(sf.session_path, f"recorded: {h.get('id', sf.path.name)}")
        self.replaying_screening = sf
        self._open_recorded(sf, f"screening {h.get('id')} (recorded results)")
        return True

    def _open_recorded(self, sf: Any, label: str) -> None:
        """Open a screening's session with the scorer already set (not the live one)."""
        self._opening_recorded = True
        try:
            self.open(str(sf.session_path), label=label, kind="file")
        finally:
            self._opening_recorded = False

    def rescore_screening(self) -> bool:
        """Score the replayed screening again with the current model, each frame beside the
        result recorded when it was screened (ScorePoint.as_screened, ``compared``)."""
        from core.screening.replay import ComparingScorer, RecordedScorer

        sf = self.replaying_screening
        if sf is None:
            raise CaptureError("open a screening for replay first (Screening → Screenings…)")
        live = self._live_scorer
        if live is None:
            raise CaptureError("no model to re-score with: open a model first")
        h = sf.header()
        self.close_source()
        self.scorer = ComparingScorer(live, RecordedScorer(sf.session_path))
        self.rescoring = True
        self.compared = [0, 0]
        self._open_recorded(sf, f"screening {h.get('id')} (re-scored with {self.model_name})")
        return True

    def _leave_recorded(self) -> None:
        if getattr(self, "replaying_screening", None) is not None:
            self.scorer = self._live_scorer
            self.replaying_screening = None
            self.rescoring = False

    def end_screening(self, finished: bool = True) -> Any:
        """Close the running screening (``finished``: results written; else it stays
        interrupted) and stop its recording; returns its folder."""
        sc = self.screening
        if sc is None:
            return None
        try:
            sc.close(finished=finished)
        finally:  # the recording stops and the window hears of it whatever happened
            self.stop_recording()
            self.screening_changed.emit(False)
        return sc.folder

    def set_model(self, model: Any) -> None:
        """Score with ``model`` from now on. A model the scoring path cannot use (or a
        missing piece of the scoring path) leaves the app showing frames without scores,
        and says why through ``scoring_unavailable``."""
        self.model = model
        if getattr(self.scorer, "backend", None) == "recorded":
            # a replay of recorded results scores nothing: the model is for what comes after
            # (a re-score, another source)
            try:
                if self._live_scorer is not None:
                    self._live_scorer.set_model(model)
                else:
                    self._live_scorer = self._scorer_factory(model, self.device_pref)
                self.scoring_error = None
            except Exception as exc:
                self._live_scorer = None
                self._scoring_failed(exc)
        elif self.scorer is not None and self.scoring_error is None:
            if self.worker is not None and self.worker.alive:
                self.worker.set_model(model)
            else:
                try:
                    self.scorer.set_model(model)
                except Exception as exc:
                    self._scoring_failed(exc)
        else:
            try:
                self.scorer = self._scorer_factory(model, self.device_pref)
                self.scoring_error = None
            except Exception as exc:
                self.scorer = None
                self._scoring_failed(exc)
            if self.scorer is not None and self.capture is not None and self.worker is None:
                self._start_worker()
        if self.threshold_resolver is not None:  # the window's choice for this model (calibration, override)
            th, source = self.threshold_resolver(model)
            self.set_threshold(th, source=source)
        elif (th := getattr(model, "threshold", None)) is not None:
            self.set_threshold(th, source=("model", "model default"))
        self.model_changed.emit(self.model_name)

    def _scoring_failed(self, exc: BaseException) -> None:
        msg = str(exc) if not isinstance(exc, ImportError) else f"the scoring code is incomplete ({exc})"
        self.scoring_error = msg
        self.scoring_unavailable.emit(msg)

    def set_device(self, device: str) -> None:
        """'auto', 'cpu' or 'cuda'; raises SpaderError when the device is not there."""
        self.device_pref = device
        if self.worker is not None and self.worker.alive:
            self.worker.set_device(device)
        elif self.scorer is not None:
            self.scorer.set_device(device)

    @property
    def device(self) -> str:
        if self.scorer is None:
            return "-"
        return str(getattr(self.scorer, "device", "cpu"))

    def _start_worker(self) -> None:
        assert self.input is not None
        gen = self._generation
        self.results = ResultMailbox()
        self.worker = ScoringWorker(
            self.input,
            self.results,
            self.scorer,
            mode=self.mode,
            tracker=self.tracker,
            on_result=lambda r: self._on_result(r, gen),
            threads=self.threads,
            # the window draws the newest result at each tick: results of a batch arrive
            # together, so a replay scored in batches of 4 redrew at a quarter of the scoring
            # rate (3.6 of 14 fps with a three-regressor model). One frame at a time, every
            # scored frame is drawn; a live camera never queues, so it never batched anyway
            max_batch=1,
        )
        self.worker.start()

    def _on_result(self, r: Any, generation: int) -> None:
        """On the worker thread, for every result: keep a small point for the plot."""
        st = r.verdict
        p = ScorePoint(
            index=int(r.index),
            t_s=float(result_time_s(r)),
            raw=r.score,
            smoothed=None if st is None else st.smoothed,
            verdict="" if st is None else str(st.verdict.value),
            has_hand=bool(r.has_hand),
            latency_ms=float(r.latency_ms),
            generation=generation,
            **_as_screened(r),
        )
        with self._points_lock:
            self._points.append(p)
            if p.as_screened_verdict:
                self.compared[0] += 1
                self.compared[1] += p.as_screened_verdict != p.verdict
        sc = self.screening
        if (sc is not None and not sc.closed and generation == self._generation
                and int(r.captured_ns) >= self.recording_since_ns):  # a frame queued before: not in the session
            sc.on_result(r, p.t_s, self.threshold, raw_time=True)

    # -- sources ---------------------------------------------------------------------------------
    def open(
        self,
        source: str | FrameSource,
        *,
        label: str | None = None,
        kind: str | None = None,
        mode: str | None = None,
        speed: float | None = 1.0,
        loop: bool = False,
        unit_mm: float = 1.0,
        depth_mode: str = "NFOV_UNBINNED",
        fps: float | None = None,
    ) -> None:
        """Stop whatever runs and start ``source`` (a spec for ``open_source`` or a source
        object). Raises CaptureError at once for a spec that names nothing usable; a source
        that fails while opening is reported later through ``source_failed``."""
        if isinstance(source, FrameSource):
            src, spec = source, ""
            kind = kind or "custom"
        else:
            from capture.sources import open_source

            spec = str(source)
            kind = kind or _desc_kind(spec)
            if kind in ("file", "demo"):
                # a recording that cannot be read fails here, while the working source still
                # runs: probed with its own reader (one playback handle per thread, as pyk4a wants)
                probe = open_source(spec, speed=None, loop=False, unit_mm=unit_mm, depth_mode=depth_mode, fps=fps)
                try:
                    probe.open()
                except CaptureError:
                    raise
                except Exception as exc:
                    raise CaptureError(f"{type(exc).__name__}: {exc}") from None
                finally:
                    try:
                        probe.close()
                    except Exception:
                        pass
            src = open_source(spec, speed=speed, loop=loop, unit_mm=unit_mm, depth_mode=depth_mode, fps=fps)
        if not self._opening_recorded:
            self._leave_recorded()  # any other source is scored again
        if mode is None:
            if kind in ("camera", "synthetic"):
                mode = LIVE
            elif kind == "custom":
                try:
                    mode = LIVE if src.info.live else REPLAY
                except Exception:
                    mode = REPLAY
            else:
                mode = REPLAY
        self.close_source()
        self._generation += 1
        self.source = src
        self.desc = SourceDesc(spec, label or spec or type(src).__name__, kind)
        self.mode = mode
        self.info = None
        self.ended = False
        self._started_seen = False
        self._capture_rate.reset()
        self.last_frame = self.last_result = None
        self._cursor = None
        self.latencies_ms.clear()
        self.tracker.reset()
        self.input = TapMailbox() if mode == LIVE else TapQueue(self.replay_queue)
        self.capture = PlaybackThread(src, mailbox=self.input)
        if self.scorer is not None:
            self._start_worker()
        self.capture.start()
        self._set_playing(True)

    def close_source(self, timeout: float = 5.0) -> None:
        """Stop recording, capture and scoring of the current source (never raises). A
        screening still running is closed as interrupted: what it recorded stays."""
        if self.screening is not None and not self.screening.closed:
            try:
                self.screening.interrupt("the source was closed")
            except Exception:
                pass
            try:
                self.end_screening(finished=False)
            except Exception:
                pass
        if self.recorder is not None:
            self.stop_recording()
        if self.input is not None:
            self.input.close()  # a producer blocked on a full replay queue returns at once
        if self.capture is not None:
            self.capture.stop(timeout)
        if self.worker is not None:
            self.worker.stop(timeout)
            self.worker = None
        self.capture = None
        self.input = None
        self.source = None
        self.results = None
        with self._points_lock:
            self._points.clear()
        self._set_playing(False)

    def shutdown(self) -> None:
        self.close_source()

    @property
    def can_seek(self) -> bool:
        return bool(self.info is not None and self.info.can_seek and not self.info.live)

    @property
    def is_live(self) -> bool:
        return bool(self.info is not None and self.info.live) or (self.desc is not None and self.desc.kind == "camera")

    # -- playback ------------------------------------------------------------------------------
    def _set_playing(self, playing: bool) -> None:
        if playing != self.playing:
            self.playing = playing
            self.playing_changed.emit(playing)

    def play(self) -> None:
        if self.capture is None:
            return
        if self.ended or self.capture.state == State.ENDED:
            self.ended = False
            self.capture.seek_index(0)
            self.tracker.reset()
        self.capture.resume()
        self._set_playing(True)

    def pause(self) -> None:
        if self.capture is None:
            return
        self.capture.pause()
        self._set_playing(False)

    def toggle_play(self) -> None:
        self.pause() if self.playing else self.play()

    @property
    def position(self) -> int | None:
        """The frame on show, or the one a step or seek is going to (None before the first)."""
        return self._cursor

    def step(self, delta: int) -> None:
        """Pause and show the frame ``delta`` frames away (files only)."""
        if self.capture is None or not self.can_seek:
            return
        self.pause()
        pos = self.position if self.position is not None else -1
        n = self.info.frame_count if self.info is not None else None
        target = max(0, pos + int(delta))
        if n:
            target = min(target, n - 1)
        self.ended = False
        self._cursor = target
        self.capture.step_to(target)

    def seek(self, position: int) -> None:
        """Go to frame ``position``; while paused, show it."""
        if self.capture is None or not self.can_seek:
            return
        position = max(0, int(position))
        n = self.info.frame_count if self.info is not None else None
        if n:
            position = min(position, n - 1)
        self.ended = False
        self._cursor = position
        if self.playing:
            self.capture.seek_index(position)
        else:
            self.capture.step_to(position)

    def set_speed(self, speed: float) -> None:
        if self.capture is not None and not self.is_live:
            self.capture.set_speed(float(speed))

    # -- recording -------------------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        return self.recorder is not None

    def start_recording(self, folder: str | os.PathLike[str], subject_id: str, operator: str | None = None) -> Path:
        """Record every frame of the running source into a new session folder; the verdict
        settings and the model go into the session header's settings."""
        from capture.session import SessionMeta, SessionWriter

        if self.capture is None or self.source is None:
            raise CaptureError("there is no running source to record")
        if self.recorder is not None:
            raise CaptureError(f"already recording into {self.recording_path}")
        subject_id = check_subject_id(subject_id)
        info = self.info
        if info is None:
            try:
                info = self.source.info
            except Exception as exc:
                raise CaptureError(f"the source is not ready yet ({exc})") from None
        if (info.extra or {}).get("sizes_vary"):
            raise CaptureError("the images of this folder differ in size (hand crops?), and a session holds "
                               "frames of one size: replay and score the folder, but it cannot be recorded")
        settings: dict[str, Any] = dict(verdict_settings_to_session(self.tracker.settings))
        settings["model"] = {"name": self.model_name, "threshold": self.threshold}
        from capture.sources.spec import public_source_label

        settings["source"] = {"label": public_source_label(self.desc.label) if self.desc else "",  # never a serial
                              "kind": self.desc.kind if self.desc else ""}
        meta = SessionMeta.from_stream(
            info,
            subject_id=subject_id,
            operator=(operator or "").strip() or None,
            settings=settings,
        )
        writer = SessionWriter.create(folder, meta)
        capture = self.capture
        rec = Recorder(writer, on_event=capture.post_event).start()
        self.recorder, self.recording_path = rec, Path(folder)
        capture.set_recorder(rec)
        # frames stamped from now on are handed to the recorder (a frame is stamped just before
        # it is published): a screening records the results of those frames only
        self.recording_since_ns = time.monotonic_ns()
        self.recording_changed.emit(True, str(folder))
        return Path(folder)

    def stop_recording(self, timeout: float = 10.0) -> tuple[Path | None, int]:
        """Stop recording; returns the session folder and the frames written."""
        rec, path = self.recorder, self.recording_path
        if rec is None:
            return None, 0
        if self.capture is not None:
            self.capture.set_recorder(None)
        time.sleep(0.01)  # a frame being handed on right now still reaches the recorder
        rec.stop(timeout)
        self.recorder, self.recording_path = None, None
        self.recording_changed.emit(False, str(path))
        return path, rec.written

    # -- the display's pull ------------------------------------------------------------------------
    def poll(self) -> Tick:
        """Called by the display timer (GUI thread): the newest frame and result, the score
        points since the last call, and the events turned into signals."""
        frame = self.input.take_new() if self.input is not None else None
        if frame is not None:
            self.last_frame = frame
            self._cursor = int(frame.index)
        result = self.results.take() if self.results is not None else None
        if result is not None:
            self.last_result = result
        gen = self._generation
        with self._points_lock:
            points = [p for p in self._points if p.generation == gen]
            self._points.clear()
        for p in points:
            self.latencies_ms.append(p.latency_ms)
        self.delivered.extend(points)
        self._dispatch_events()
        self._check_screening()
        return Tick(frame, result, points)

    def _check_screening(self) -> None:
        """A screening whose recording failed is closed as interrupted (what was written
        stays); one whose recording ended has its attempt interrupted once every frame
        read has been judged."""
        sc = self.screening
        if sc is None or sc.closed:
            return
        if sc.write_error is not None:
            msg = sc.write_error
            try:
                self.end_screening(finished=False)
            except Exception:
                pass
            self.event.emit("screening", "stopped", msg)
            return
        if not (self.ended and str(sc.phase) == "running"):  # also an attempt begun after the end
            self._idle_polls = 0
            return
        idle = self.worker is None or not self.worker.alive or self.worker.idle
        self._idle_polls = self._idle_polls + 1 if idle else 0
        if self._idle_polls >= 2:  # twice: a frame just taken from the queue is not yet "busy"
            self._idle_polls = 0
            try:
                sc.interrupt("the recording ended")
            except Exception as exc:
                self.event.emit("worker", "error", f"the screening could not record the interruption: {exc}")

    def _dispatch_events(self) -> None:
        cap = self.capture
        if cap is not None:
            for ev in cap.drain_events():
                self._on_capture_event(cap, ev)
        if self.worker is not None:
            for wev in self.worker.drain_events():
                self.event.emit("worker", wev.kind.value, wev.message)

    def _on_capture_event(self, cap: PlaybackThread, ev: CaptureEvent) -> None:
        sc = self.screening
        try:
            if ev.kind == EventKind.DEVICE_LOST and sc is not None and not sc.closed:
                sc.interrupt("camera lost")  # the attempt is marked interrupted; a retry is offered
            # at END_OF_STREAM the last frames read may still wait for scoring: a running
            # attempt ends once they are judged (see _check_screening), not before
            elif ev.kind == EventKind.RECORDER_ERROR and sc is not None and not sc.closed:
                sc.recording_failed(ev.message)
        except Exception as exc:  # a full disk: said, and the other events still dispatched
            self.event.emit("worker", "error", f"the screening could not record the interruption: {exc}")
        if ev.kind == EventKind.STARTED:
            self._started_seen = True
            try:
                self.info = cap.source.info
            except Exception:
                self.info = None
            self.source_started.emit(self.info)
        elif ev.kind == EventKind.END_OF_STREAM:
            self.ended = True
            self._set_playing(False)
        self.event.emit("capture", ev.kind.value, ev.message)
        if ev.kind == EventKind.ERROR and cap.state == State.FAILED:
            self._set_playing(False)
            self.source_failed.emit(ev.message)

    # -- numbers for the status bar and the benchmark -------------------------------------------
    def stats(self) -> dict[str, Any]:
        inp = self.input
        posted = int(getattr(inp, "posted", 0) or 0) if inp is not None else 0
        out: dict[str, Any] = {
            "capture_fps": self._capture_rate.update(posted),
            "captured": posted,
            "scoring_fps": 0.0,
            "scored": 0,
            "dropped": 0,
            "latency_ms": None,
            "device": self.device,
            "backend": str(getattr(self.scorer, "backend_label", "")) if self.scorer is not None else "",
            "backend_note": str(getattr(self.scorer, "backend_note", "")) if self.scorer is not None else "",
            "model": self.model_name,
            "threshold": self.threshold,
            "mode": self.mode,
            "recording": self.recording,
            "recorded": 0 if self.recorder is None else self.recorder.written,
            "record_backlog": 0 if self.recorder is None else self.recorder.backlog,
            "record_behind": False if self.recorder is None else self.recorder.falling_behind,
            "worker_errors": 0,
        }
        if self.worker is not None:
            ws = self.worker.stats
            out.update(
                scoring_fps=ws.fps,
                scored=ws.scored,
                dropped=ws.dropped,
                latency_ms=ws.last_latency_ms,
                worker_errors=ws.errors,
                busy=ws.busy,
            )
        return out


def _as_screened(r: Any) -> dict[str, Any]:
    a = r.extra.get("as_screened") if r.extra else None
    return {} if not a else {"as_screened": a.get("smoothed"), "as_screened_verdict": str(a.get("verdict") or "")}


def _desc_kind(spec: str) -> str:
    """A spec's kind for ``SourceDesc``: camera, synthetic, or file for any recording."""
    kind = source_kind(spec)
    return kind if kind in ("camera", "synthetic") else "file"


def clone_info(info: SourceInfo | None) -> SourceInfo | None:
    return None if info is None else dataclasses.replace(info)
