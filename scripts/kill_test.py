"""SIGKILL a recording (and a screening in the window) and measure what is lost.

    .venv/bin/python scripts/kill_test.py     # recorder at 30, 60, 120 fps and a screening, 5 kills each
    .venv/bin/python scripts/kill_test.py --kills 2 --fps 120 --no-screening

A child process records a synthetic 640x576 stream (the Azure Kinect's NFOV unbinned
size) paced at the given rate, printing the device time of every frame it hands on (each
one accepted by the recorder first). It is killed 2 to 4 s in; the parent then opens the
session as a user would and counts the frames handed on that are not on disk. For the
screening, the child is the real window (offscreen) on the synthetic live stream with an
attempt running; the parent also counts how far the results (results.csv) lag behind the
frames on disk. Prints one table row per case: seconds lost, mean and worst of the kills.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

RECORDER_CHILD = r"""
import sys
from capture.mailbox import LatestFrameMailbox
from capture.recorder import Recorder
from capture.session import SessionMeta, SessionWriter
from capture.sources.pacing import Paced
from capture.sources.synthetic import SyntheticSource
from capture.thread import CaptureThread

class Reporting(LatestFrameMailbox):
    def put(self, frame):
        super().put(frame)
        sys.stdout.write(f"{frame.device_ts_us}\n"); sys.stdout.flush()

fps = float(sys.argv[2])
writer = SessionWriter.create(sys.argv[1], SessionMeta(sensor="synthetic", fps=fps, subject_id="KILL"))
recorder = Recorder(writer).start()
source = Paced(SyntheticSource(640, 576, fps=fps, seed=3), speed=1.0)
thread = CaptureThread(source, Reporting(), recorder).start()
thread.join()
"""

SCREENING_CHILD = r"""
import json, os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from pathlib import Path
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
import capture.thread as ct

orig = ct.CaptureThread._publish
def publish(self, frame):
    orig(self, frame)
    if self.recorder is not None:  # handed to the screening's recorder
        sys.stdout.write(f"{frame.device_ts_us}\n"); sys.stdout.flush()
ct.CaptureThread._publish = publish

from app import theme
from app.controller import Controller
from app.main_window import MainWindow
from app.settings import AppSettings
from core.assets import DEFAULT_MODEL
from core.spader.checkpoint import load_model

data, work = Path(sys.argv[1]), Path(sys.argv[2])
proto = json.loads((Path("assets/protocols/pigeon.json")).read_text())
proto["tasks"][0]["countdown_s"] = 0
(work / "protocol.json").write_text(json.dumps(proto))
qapp = QApplication([])
theme.apply_theme(qapp)
ctrl = Controller(load_model(DEFAULT_MODEL), threads=1)
win = MainWindow(ctrl, AppSettings(work / "settings.ini"), list_cameras=lambda: [], demo_path=work / "no-demo")
win.resize(1200, 780); win.show()
win.settings.set("screening/data_dir", str(data))
win.open_synthetic()
def start():
    assert win.start_screening("P-KILL", operator="op-1", protocol_path=str(work / "protocol.json"))
    QTimer.singleShot(500, win.act_play.trigger)  # Space: the attempt starts
QTimer.singleShot(1500, start)
qapp.exec()
"""


def _watch(proc: subprocess.Popen, seen: list[tuple[int, float]]) -> threading.Thread:
    def run() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            line = line.strip()
            if line.isdigit():
                seen.append((int(line), time.monotonic()))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def _kill_after(proc: subprocess.Popen, seen: list, wait_s: float, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not seen and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    if not seen:
        err = proc.stderr.read() if proc.poll() is not None else ""  # type: ignore[union-attr]
        raise SystemExit(f"kill-test: the child never started recording\n{err}")
    time.sleep(wait_s)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def _loss(session: Path, seen: list[tuple[int, float]]) -> dict[str, float]:
    from capture.session import SessionReader

    r = SessionReader(session)
    on_disk = {e.device_ts_us for e in r.entries}
    handed = [t for t, _ in seen]
    missing = [t for t in handed if t not in on_disk]
    last_disk = max(on_disk) if on_disk else handed[0]
    return {
        "frames": len(r),
        "lost_s": max(0, handed[-1] - last_disk) / 1e6,  # the newest frame handed on vs the newest on disk
        "missing": len(missing),
        "opens": 1.0,
    }


def recorder_case(fps: float, kills: int, rng: random.Random, root: Path) -> dict[str, object]:
    lost, missing, written_fps = [], [], []
    for k in range(kills):
        session = root / f"rec{int(fps)}-{k}"
        seen: list[tuple[int, float]] = []
        proc = subprocess.Popen([sys.executable, "-c", RECORDER_CHILD, str(session), str(fps)], cwd=REPO,
                                env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        watcher = _watch(proc, seen)
        wait = rng.uniform(2.0, 4.0)
        _kill_after(proc, seen, wait)
        watcher.join(5)
        m = _loss(session, seen)
        lost.append(m["lost_s"])
        missing.append(m["missing"])
        span = (seen[-1][1] - seen[0][1]) or 1.0
        written_fps.append(len(seen) / span)
    return {"case": f"recorder {fps:g} fps", "kills": kills, "lost_mean_s": sum(lost) / kills,
            "lost_max_s": max(lost), "frames_missing_max": max(missing),
            "handed_on_fps": sum(written_fps) / kills}


def screening_case(kills: int, rng: random.Random, root: Path) -> dict[str, object]:
    from core.screening.record import read_results

    lost, missing, behind, rate = [], [], [], []
    for k in range(kills):
        data, work = root / f"scr-data-{k}", root / f"scr-work-{k}"
        work.mkdir(parents=True)
        seen: list[tuple[int, float]] = []
        proc = subprocess.Popen([sys.executable, "-c", SCREENING_CHILD, str(data), str(work)], cwd=REPO,
                                env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        watcher = _watch(proc, seen)
        _kill_after(proc, seen, rng.uniform(2.0, 4.0), timeout_s=90)
        watcher.join(5)
        (session,) = [p / "session" for p in data.iterdir() if p.is_dir() and (p / "session").is_dir()]
        m = _loss(session, seen)
        lost.append(m["lost_s"])
        missing.append(m["missing"])
        rows = read_results(session)
        last_result = max((int(r["device_ts_us"]) for r in rows if r["device_ts_us"]), default=0)
        from capture.session import SessionReader

        last_frame = max(e.device_ts_us for e in SessionReader(session).entries)
        behind.append(max(0, last_frame - last_result) / 1e6)
        rate.append(len(seen) / ((seen[-1][1] - seen[0][1]) or 1.0))
    return {"case": "screening (window, synthetic 30 fps)", "kills": kills, "handed_on_fps": sum(rate) / kills, "lost_mean_s": sum(lost) / kills,
            "lost_max_s": max(lost), "frames_missing_max": max(missing), "results_behind_max_s": max(behind)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fps", type=float, nargs="+", default=[30.0, 60.0, 120.0])
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--no-screening", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    rows = []
    with tempfile.TemporaryDirectory(prefix="kill-test-") as tmp:
        for fps in args.fps:
            rows.append(recorder_case(fps, args.kills, rng, Path(tmp)))
            print(rows[-1], flush=True)
        if not args.no_screening:
            rows.append(screening_case(args.kills, rng, Path(tmp)))
            print(rows[-1], flush=True)
    print("\n| case | kills | frames handed on per s | lost, mean (s) | lost, worst (s) | frames missing, worst | results behind frames, worst (s) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        behind = f"{r['results_behind_max_s']:.2f}" if "results_behind_max_s" in r else "–"
        print(f"| {r['case']} | {r['kills']} | {r['handed_on_fps']:.1f} | {r['lost_mean_s']:.3f} | "
              f"{r['lost_max_s']:.3f} | {r['frames_missing_max']} | {behind} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
