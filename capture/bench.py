"""Capture benchmarks: session write and read rates, capture-thread overhead per frame."""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from capture.frame import DepthFrame
from capture.mailbox import LatestFrameMailbox
from capture.recorder import Recorder
from capture.session.format import SessionMeta
from capture.session.reader import SessionReader
from capture.session.writer import SessionWriter
from capture.sources.memory import MemorySource
from capture.sources.synthetic import SyntheticSource
from capture.thread import CaptureThread, State

WIDTH, HEIGHT = 640, 576


@dataclass
class BenchResult:
    frames_written: int
    write_fps: float  # as fast as possible, one thread
    write_cpu_ms_per_frame: float
    write_cores_at_30fps: float  # CPU cores the recorder needs at 30 fps
    frames_read: int
    read_fps: float  # SessionReader.iter_frames with 2 decode threads
    read_fps_single_thread: float
    thread_frames: int
    thread_us_per_frame: float  # capture-thread cost per frame beyond the source's own read
    thread_publish_us_per_frame: float  # of which: mailbox put + recorder queue
    thread_cpu_us_per_frame: float
    bytes_per_frame: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


class _NullWriter:
    path = Path("(memory)")

    def append(self, frame: DepthFrame) -> int:
        return 0

    def close(self) -> None:
        pass


def _frames(n: int) -> list[DepthFrame]:
    with SyntheticSource(WIDTH, HEIGHT, n_frames=n, seed=1) as src:
        return list(src)


def bench_write_read(folder: Path, n_frames: int, distinct: list[DepthFrame]) -> dict[str, float]:
    path = folder / "bench-session"
    writer = SessionWriter.create(path, SessionMeta(sensor="synthetic", fps=30.0))
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(n_frames):
        f = distinct[i % len(distinct)]
        writer.append(DepthFrame(f.depth, f.unit_mm, i, f.device_ts_us, time.monotonic_ns(), f.intrinsics))
    writer.close()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    size = sum(p.stat().st_size for p in (path / "frames").iterdir())
    reader = SessionReader(path)
    t0 = time.perf_counter()
    n_read = sum(1 for _ in reader.iter_frames(prefetch=2))
    read_wall = time.perf_counter() - t0
    t0 = time.perf_counter()
    sum(1 for _ in reader.iter_frames(prefetch=0))
    read1_wall = time.perf_counter() - t0
    return {
        "frames_written": n_frames,
        "write_fps": n_frames / wall,
        "write_cpu_ms_per_frame": cpu / n_frames * 1e3,
        "write_cores_at_30fps": cpu / n_frames * 30,
        "frames_read": n_read,
        "read_fps": n_read / read_wall,
        "read_fps_single_thread": n_read / read1_wall,
        "bytes_per_frame": size / n_frames,
    }


def bench_thread(n_frames: int, distinct: list[DepthFrame]) -> dict[str, float]:
    src = MemorySource(distinct, n_frames)
    with src:  # the source's own cost, measured alone
        t0 = time.perf_counter()
        for _ in range(n_frames):
            src.read()
        source_s = time.perf_counter() - t0
    recorder = Recorder(_NullWriter(), max_queued=10**9).start()  # type: ignore[arg-type]
    thread = CaptureThread(src, LatestFrameMailbox(), recorder, read_timeout_s=0.05)
    t0, c0 = time.perf_counter(), time.process_time()
    thread.start()
    while thread.state not in (State.ENDED, State.FAILED):
        time.sleep(0.002)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    thread.stop()
    recorder.stop()
    n = max(1, thread.frames)
    return {
        "thread_frames": thread.frames,
        "thread_us_per_frame": max(0.0, wall - source_s) / n * 1e6,
        "thread_publish_us_per_frame": thread.publish_ns / n / 1e3,
        "thread_cpu_us_per_frame": cpu / n * 1e6,
    }


def run_bench(quick: bool = False, folder: Path | None = None) -> BenchResult:
    n_write = 20 if quick else 300
    n_thread = 500 if quick else 20000
    distinct = _frames(10 if quick else 30)
    with tempfile.TemporaryDirectory(prefix="spader-bench-", dir=folder) as tmp:
        wr = bench_write_read(Path(tmp), n_write, distinct)
    th = bench_thread(n_thread, distinct)
    return BenchResult(**wr, **th)  # type: ignore[arg-type]


def format_table(r: BenchResult) -> str:
    write_ok = r.write_fps >= 30 and r.write_cores_at_30fps < 1
    rows = [
        ("session read (2 decode threads)", f"{r.read_fps:8.0f} frames/s", "target >= 300", r.read_fps >= 300),
        ("session read (1 thread)", f"{r.read_fps_single_thread:8.0f} frames/s", "", None),
        ("recorder write (as fast as possible)", f"{r.write_fps:8.0f} frames/s", "target >= 30", r.write_fps >= 30),
        ("recorder CPU per frame", f"{r.write_cpu_ms_per_frame:8.1f} ms", "", None),
        ("recorder CPU at 30 fps", f"{r.write_cores_at_30fps:8.2f} cores", "target < 1 core", write_ok),
        ("session size per frame", f"{r.bytes_per_frame / 1024:8.0f} KiB", "", None),
        ("capture-thread overhead", f"{r.thread_us_per_frame:8.1f} us/frame", "", None),
        ("  of which mailbox + recorder queue", f"{r.thread_publish_us_per_frame:8.1f} us/frame", "", None),
        ("  CPU (process) per frame", f"{r.thread_cpu_us_per_frame:8.1f} us/frame", "", None),
    ]
    lines = [f"640x576 uint16 frames; {r.frames_written} written/read, {r.thread_frames} through the thread"]
    for name, value, target, ok in rows:
        mark = "" if ok is None else ("  ok" if ok else "  BELOW TARGET")
        lines.append(f"{name:<38} {value:<18} {target}{mark}")
    return "\n".join(lines)
