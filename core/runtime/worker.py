"""The real-time scoring worker: a thread between the capture mailbox and the display.

    capture thread ─► LatestFrameMailbox (live) or FrameQueue (replay) ─► ScoringWorker
        ─► FrameScorer (preprocess -> SPADER) ─► [VerdictTracker] ─► ResultMailbox ─► GUI timer

Live mode scores the newest frame only: whatever arrived while a frame was being scored
is skipped (counted in ``stats.dropped``), so results never lag behind by a backlog.
Replay mode scores every frame exactly once, in order, in batches of up to ``max_batch``
when it falls behind; give it a lossless ``capture.frame_queue.FrameQueue`` as input (its
backpressure slows the file source down instead of dropping frames).

Nothing here raises into the thread's caller: a malformed frame, a failing model or a
bad setting becomes a ``WorkerEvent`` (kind ERROR) in ``events`` and on the optional
callback, and the worker goes on with the next frame. Model, device and mode switches
requested from any thread are applied between batches. No Qt.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Protocol

from capture.frame import DepthFrame
from capture.events import drain
from capture.mailbox import LatestMailbox
from core.spader.checkpoint import SpaderModel
from core.device import pick_device
from core.runtime.scorer import FrameScorer
from core.runtime.results import FrameResult
from core.runtime.verdict import VerdictTracker

LIVE = "live"
REPLAY = "replay"
MODES = (LIVE, REPLAY)


class FrameInput(Protocol):
    """What the worker reads from: LatestFrameMailbox or FrameQueue."""

    def get(self, timeout: float | None = None) -> DepthFrame | None: ...

    def close(self) -> None: ...


class WorkerEventKind(str, Enum):
    STARTED = "started"
    STOPPED = "stopped"
    ERROR = "error"  # a frame or the model failed; the worker goes on
    MODEL_CHANGED = "model_changed"
    DEVICE_CHANGED = "device_changed"
    MODE_CHANGED = "mode_changed"
    INPUT_CLOSED = "input_closed"  # the frame input was closed: nothing more will come

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class WorkerEvent:
    kind: WorkerEventKind
    message: str = ""
    index: int | None = None  # the frame concerned, when there is one
    host_ts_ns: int = field(default_factory=time.monotonic_ns)

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.message}" if self.message else self.kind.value


class ResultMailbox(LatestMailbox[FrameResult]):
    """One slot holding the newest result. ``put`` replaces an unread result (counted in
    ``overwritten``) and stamps ``published_ns``; the GUI takes the newest at display rate."""

    def _on_put(self, result: FrameResult) -> None:
        result.published_ns = time.monotonic_ns()

    @property
    def overwritten(self) -> int:
        return self.replaced


@dataclass
class WorkerStats:
    scored: int = 0  # frames scored (with or without a hand)
    with_hand: int = 0
    fps: float = 0.0  # frames scored per second over the last second
    dropped: int = 0  # frames never scored: dropped by the input mailbox + skipped by the worker
    last_latency_ms: float | None = None  # captured -> published, of the last result
    device: str = "cpu"
    backend: str = ""  # e.g. "onnxruntime CPU, 1 thread" (the scorer's backend_label)
    backend_note: str = ""  # why the fastest backend is not in use, "" when it is
    busy: float = 0.0  # fraction of the last second spent scoring (1.0 = cannot keep up)
    errors: int = 0
    batches: int = 0
    last_batch: int = 0
    mode: str = LIVE
    model_name: str = ""
    running: bool = False


def _where(scorer: Any) -> str:
    """"cpu (onnxruntime CPU, 1 thread)": the device and, when the scorer says, its backend."""
    label = getattr(scorer, "backend_label", "")
    return f"{scorer.device} ({label})" if label else str(scorer.device)


def result_time_s(result: FrameResult) -> float:
    """The time a verdict tracker uses: device time when known, else host capture time."""
    if result.device_ts_us is not None:
        return result.device_ts_us / 1e6
    return result.captured_ns / 1e9


class ScoringWorker:
    def __init__(
        self,
        frames_in: FrameInput,
        results: ResultMailbox,
        scorer: FrameScorer,
        mode: str = LIVE,
        on_event: Callable[[WorkerEvent], None] | None = None,
        max_batch: int = 16,
        *,
        tracker: VerdictTracker | None = None,
        on_result: Callable[[FrameResult], None] | None = None,
        poll_s: float = 0.05,
        max_events: int = 1000,
        threads: int | None = None,
    ) -> None:
        """``threads``: torch intra-op threads for this worker's thread only (None = torch's
        default; 1 is often fastest on a 2-core machine also running capture and the GUI).
        ``tracker``: when given, every result gets ``result.verdict`` (a VerdictState).
        ``on_result``: called on the worker thread for every result, after it is published
        (in replay mode: every frame, in order; the result mailbox keeps only the newest)."""
        if mode not in MODES:
            raise ValueError(f"worker mode must be one of {MODES}, got {mode!r}")
        self.frames_in = frames_in
        self.results = results
        self.scorer = scorer
        self.mode = mode
        self.on_event = on_event
        self.on_result = on_result
        self.tracker = tracker
        self.max_batch = max(1, int(max_batch))
        self.threads = threads
        self.poll_s = poll_s
        self.events: queue.Queue[WorkerEvent] = queue.Queue(maxsize=max_events)
        self._lock = threading.Lock()
        self._pending: dict[str, Any] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._busy = False
        self._window: deque[tuple[int, int, int]] = deque()  # (end ns, frames, busy ns) per batch
        self._started_ns = 0
        self._scored = 0
        self._with_hand = 0
        self._skipped = 0
        self._errors = 0
        self._batches = 0
        self._last_batch = 0
        self._last_latency_ms: float | None = None
        self._last_error: tuple[str, int] = ("", 0)
        self.last_result: FrameResult | None = None

    # -- owner API (any thread) ---------------------------------------------------------
    def start(self) -> "ScoringWorker":
        if self._thread is not None:
            raise RuntimeError("scoring worker already started")
        self._started_ns = time.monotonic_ns()
        self._thread = threading.Thread(target=self._run, name="scoring-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop after the batch in progress and join; True when no thread is left.

        A FrameQueue input is closed too (without its consumer a lossless queue would block
        its producer forever); a LatestFrameMailbox is left open."""
        self._stop.set()
        from capture.frame_queue import FrameQueue

        if isinstance(self.frames_in, FrameQueue):
            self.frames_in.close()
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"worker mode must be one of {MODES}, got {mode!r}")
        self._request("mode", mode)

    def set_model(self, model: SpaderModel, preprocess: Any | None = None) -> None:
        """Score with ``model`` from the next batch on."""
        self._request("model", (model, preprocess))

    def set_device(self, device: str) -> None:
        """Move scoring to ``device`` from the next batch on; raises SpaderError at once
        when the device does not exist."""
        pick_device(str(device))
        self._request("device", str(device))

    def set_input(self, frames_in: FrameInput) -> None:
        """Read frames from another mailbox or queue from the next batch on."""
        self._request("input", frames_in)

    def _request(self, key: str, value: Any) -> None:
        with self._lock:
            self._pending[key] = value
        if self._thread is None:  # not running yet: apply now
            self._apply_pending()

    @property
    def stats(self) -> WorkerStats:
        now = time.monotonic_ns()
        with self._lock:
            while self._window and self._window[0][0] < now - 1_000_000_000:
                self._window.popleft()
            span_ns = min(1_000_000_000, max(1, now - self._started_ns)) if self._started_ns else 1_000_000_000
            frames = sum(n for _, n, _ in self._window)
            busy_ns = sum(b for _, _, b in self._window)
            inp_dropped = int(getattr(self.frames_in, "dropped", 0) or 0)
            return WorkerStats(
                scored=self._scored,
                with_hand=self._with_hand,
                fps=frames / (span_ns / 1e9),
                dropped=inp_dropped + self._skipped,
                last_latency_ms=self._last_latency_ms,
                device=str(self.scorer.device),
                backend=str(getattr(self.scorer, "backend_label", "")),
                backend_note=str(getattr(self.scorer, "backend_note", "")),
                busy=min(1.0, busy_ns / span_ns),
                errors=self._errors,
                batches=self._batches,
                last_batch=self._last_batch,
                mode=self.mode,
                model_name=self.scorer.model.name,
                running=self.alive,
            )

    @property
    def idle(self) -> bool:
        """Nothing being scored and nothing waiting in the input."""
        peek = getattr(self.frames_in, "peek", None)
        return not self._busy and (peek is None or peek() is None)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle:
                return True
            time.sleep(0.005)
        return self.idle

    def drain_events(self) -> list[WorkerEvent]:
        return drain(self.events)

    # -- the thread ----------------------------------------------------------------------
    def _emit(self, kind: WorkerEventKind, message: str = "", index: int | None = None) -> None:
        ev = WorkerEvent(kind, message, index)
        while True:
            try:
                self.events.put_nowait(ev)
                break
            except queue.Full:  # nobody drains: keep the newest
                try:
                    self.events.get_nowait()
                except queue.Empty:
                    pass
        if self.on_event is not None:
            try:
                self.on_event(ev)
            except Exception:  # a broken callback must not kill scoring
                pass

    def _error(self, exc: BaseException, index: int | None = None) -> None:
        self._errors += 1
        msg = f"{type(exc).__name__}: {exc}"
        now = time.monotonic_ns()
        last_msg, last_ns = self._last_error
        # the same failure on every frame (a broken model) is reported about once a second
        key = msg if index is None else msg.replace(str(index), "#")
        if key == last_msg and now - last_ns < 1_000_000_000:
            return
        self._last_error = (key, now)
        where = "" if index is None else f"frame {index}: "
        self._emit(WorkerEventKind.ERROR, where + msg, index)

    def _apply_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        if "input" in pending:
            self.frames_in = pending["input"]
        if "mode" in pending and pending["mode"] != self.mode:
            self.mode = pending["mode"]
            self._emit(WorkerEventKind.MODE_CHANGED, self.mode)
        if "device" in pending:
            try:
                self.scorer.set_device(pending["device"])
                self._emit(WorkerEventKind.DEVICE_CHANGED, _where(self.scorer))
            except Exception as exc:
                self._error(exc)
        if "model" in pending:
            model, pre = pending["model"]
            try:
                self.scorer.set_model(model, pre)
                self._emit(WorkerEventKind.MODEL_CHANGED, model.name)
            except Exception as exc:
                self._error(exc)

    def _take(self) -> list[DepthFrame]:
        inp = self.frames_in
        first = inp.get(self.poll_s)
        if first is None:
            return []
        self._busy = True
        if self.mode == REPLAY:
            get_many = getattr(inp, "get_many", None)
            out = [first]
            if get_many is not None and self.max_batch > 1:
                out += get_many(self.max_batch - 1, 0)
            else:
                while len(out) < self.max_batch:
                    f = inp.get(0)
                    if f is None:
                        break
                    out.append(f)
            return out
        newest = first  # live: only the newest frame counts
        while True:
            f = inp.get(0)
            if f is None:
                return [newest]
            self._skipped += 1
            newest = f

    def _score(self, frames: list[DepthFrame]) -> list[FrameResult]:
        try:
            return self.scorer.score_frames(frames)
        except Exception as exc:
            if len(frames) == 1:
                self._error(exc, getattr(frames[0], "index", None))
                return []
        out: list[FrameResult] = []  # one bad frame must not cost the batch: retry one by one
        for f in frames:
            try:
                out += self.scorer.score_frames([f])
            except Exception as exc:
                self._error(exc, getattr(f, "index", None))
        return out

    def _publish(self, results: list[FrameResult]) -> None:
        for r in results:
            if self.tracker is not None and not r.extra.get("recorded"):  # a recorded result keeps its verdict
                try:
                    r.verdict = self.tracker.update(result_time_s(r), r.score)
                except Exception as exc:
                    self._error(exc, r.index)
            self.results.put(r)
            self.last_result = r
            self._last_latency_ms = r.latency_ms
            if self.on_result is not None:
                try:
                    self.on_result(r)
                except Exception as exc:
                    self._error(exc, r.index)

    def _run(self) -> None:
        if self.threads:
            import torch

            torch.set_num_threads(int(self.threads))  # OpenMP: affects this thread only
            set_threads = getattr(self.scorer, "set_threads", None)
            if set_threads is not None:  # a graph backend's own thread pool
                set_threads(int(self.threads))
        self._emit(WorkerEventKind.STARTED, f"{self.mode} on {_where(self.scorer)}")
        closed_reported = False
        try:
            while not self._stop.is_set():
                if self._pending:
                    self._apply_pending()
                try:
                    frames = self._take()
                except Exception as exc:  # a broken input object
                    self._error(exc)
                    self._stop.wait(self.poll_s)
                    continue
                if not frames:
                    if getattr(self.frames_in, "closed", False):
                        if not closed_reported:
                            closed_reported = True
                            self._emit(WorkerEventKind.INPUT_CLOSED)
                        self._stop.wait(self.poll_s)
                    continue
                closed_reported = False
                if self._pending:  # a switch requested while waiting applies to these frames
                    self._apply_pending()
                t0 = time.monotonic_ns()
                results = self._score(frames)
                self._publish(results)
                t1 = time.monotonic_ns()
                with self._lock:
                    self._window.append((t1, len(results), t1 - t0))
                    while self._window and self._window[0][0] < t1 - 1_000_000_000:
                        self._window.popleft()
                    self._scored += len(results)
                    self._with_hand += sum(1 for r in results if r.has_hand)
                    self._batches += 1
                    self._last_batch = len(frames)
                self._busy = False
        finally:
            self._busy = False
            self._emit(WorkerEventKind.STOPPED)
