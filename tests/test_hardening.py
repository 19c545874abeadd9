"""Hardening (issue #28), one test per finding fixed: health data written 600/700 whatever
the umask, no device serial and no full-precision factory intrinsics in a session, model
metadata checked with bounds on load, model names never rendered or printed raw."""

from __future__ import annotations

import json
import shutil
import os
import stat
from pathlib import Path

import pytest

from core.errors import SpaderError


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_sessions_are_written_600_and_700_whatever_the_umask(tmp_path: Path) -> None:
    from capture.session import SessionMeta, SessionWriter
    from support import pose_frames

    old = os.umask(0)
    try:
        w = SessionWriter.create(tmp_path / "s", SessionMeta(sensor="test", unit_mm=1.0, fps=30.0, subject_id="P-1"))
        for f in pose_frames(3):
            w.append(f)
        w.close()
    finally:
        os.umask(old)
    s = tmp_path / "s"
    assert _mode(s) == 0o700 and _mode(s / "frames") == 0o700
    files = [p for p in s.rglob("*") if p.is_file()]
    assert files and {_mode(p) for p in files} == {0o600}, {p.name: oct(_mode(p)) for p in files}


def test_the_device_serial_never_reaches_a_session() -> None:
    from capture.sources.spec import public_source_label

    assert public_source_label("kinect:001514394512") == "kinect"
    assert public_source_label("Azure Kinect 001514394512 (NFOV_UNBINNED)") == "Azure Kinect (NFOV_UNBINNED)"
    assert public_source_label("Azure Kinect 0 (NFOV_UNBINNED)") == "Azure Kinect 0 (NFOV_UNBINNED)"
    assert public_source_label("demo-session") == "demo-session"


def test_factory_intrinsics_are_kept_only_to_the_precision_scoring_needs() -> None:
    from capture.frame import Intrinsics
    from capture.session.writer import public_intrinsics

    i = public_intrinsics(Intrinsics(504.6076354980469, 504.7186584472656, 322.1234567, 330.98765, 640, 576,
                                     (0.51384848713875, -0.013912345)))
    assert (i.fx, i.fy, i.cx, i.cy) == (504.61, 504.72, 322.12, 330.99) and i.distortion == (0.5138, -0.0139)


def _with_meta(src: Path, dst: Path, change) -> Path:
    """A copy of a model file with its metadata JSON changed (the weights untouched)."""
    import struct

    raw = src.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = json.loads(header["__metadata__"]["meta"])
    change(meta)
    header["__metadata__"]["meta"] = json.dumps(meta)
    if "sha256" in header["__metadata__"]:  # as a save would: the digest of the new content
        from safetensors.torch import load_file

        from core.spader.checkpoint import content_digest

        header["__metadata__"]["sha256"] = content_digest(header["__metadata__"]["meta"], load_file(str(src)))
    body = json.dumps(header).encode()
    body += b" " * (-len(body) % 8)
    dst.write_bytes(struct.pack("<Q", len(body)) + body + raw[8 + n:])
    return dst


@pytest.mark.parametrize("field, value, message", [
    ("threshold", float("nan"), "not a usable number"), ("threshold", float("inf"), "not a usable number"),
    ("threshold", 1e308, "not a usable number"), ("threshold", "0.1", "not a usable number"),
    ("threshold", True, "not a usable number"), ("preprocess", [1, 2], "not a JSON object"),
    ("vae.latent_dim", 200_000_000, "outside 1..4096"), ("vae.widths", [16, -1], "whole numbers"),
    ("regressor.members", 1000, "outside 1..16"), ("name", {"x": 1}, "not text"),
])
def test_a_models_metadata_is_checked_with_bounds_on_load(tmp_path: Path, field: str, value, message: str) -> None:
    from core.assets import DEFAULT_MODEL
    from core.spader.checkpoint import load_model

    def change(meta: dict) -> None:
        *parents, key = field.split(".")
        d = meta
        for p in parents:
            d = d[p]
        d[key] = value

    bad = _with_meta(Path(DEFAULT_MODEL), tmp_path / "bad.safetensors", change)
    with pytest.raises(SpaderError, match=message):
        load_model(bad)


def test_model_names_with_terminal_escapes_or_html_are_neither_printed_raw_nor_rendered(tmp_path: Path, qapp) -> None:
    from PySide6.QtCore import Qt

    from app.controller import Controller
    from app.main_window import MainWindow
    from app.settings import AppSettings
    from core.assets import DEFAULT_MODEL
    from core.spader.checkpoint import load_model

    p = _with_meta(Path(DEFAULT_MODEL), tmp_path / "x.safetensors",
                   lambda m: m.update(name="\x1b[31m<b>bold</b>\x1b[0m"))
    m = load_model(p)
    assert "\x1b" not in m.name and m.name == "[31m<b>bold</b>[0m"
    win = MainWindow(Controller(m, threads=1), AppSettings(tmp_path / "s.ini"))
    try:
        lab = win.status_labels["model"]
        assert lab.textFormat() == Qt.PlainText and "<b>bold</b>" in lab.text()
        assert win.banner.label.textFormat() == Qt.PlainText
    finally:
        win.shutdown()


@pytest.mark.parametrize("argv, option", [
    (["train", "--data", "x", "--normal", "a", "--known", "b", "--out", "m", "--batch-size", "-4"], "--batch-size"),
    (["train", "--data", "x", "--normal", "a", "--known", "b", "--out", "m", "--batch-size", "0"], "--batch-size"),
    (["train", "--data", "x", "--normal", "a", "--known", "b", "--out", "m", "--size", "7"], "--size"),
    (["train", "--data", "x", "--normal", "a", "--known", "b", "--out", "m", "--size", "-1"], "--size"),
    (["train", "--data", "x", "--normal", "a", "--known", "b", "--out", "m", "--smooth-px", "nan"], "--smooth-px"),
    (["train", "--data", "x", "--normal", "a", "--known", "b", "--out", "m", "--lr", "nan"], "--lr"),
    (["train", "--data", "x", "--normal", "a", "--known", "b", "--out", "m", "--vae-epochs", "-1"], "--vae-epochs"),
    (["train", "--data", "x", "--normal", "a", "--known", "b", "--out", "m", "--workers", "0"], "--workers"),
    (["train", "--data", "x", "--normal", "a", "--known", "b", "--out", "m", "--workers", "-3"], "--workers"),
    (["app", "--threads", "-1"], "--threads"), (["app", "--device", "tpu"], "--device"),
    (["app", "--benchmark", "nan"], "--benchmark"), (["score", "rec", "--out", "o", "--device", "tpu"], "--device"),
    (["score", "rec", "--out", "o", "--samples", "100000"], "--samples"),
    (["tune", "--replicates", "0"], "--replicates"),
])
def test_bad_option_values_are_a_clear_message_and_exit_status_2(argv: list[str], option: str, capsys) -> None:
    from core.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}" in err and "Traceback" not in err


def test_a_device_saved_by_an_older_version_is_not_a_reason_to_stop_scoring(tmp_path: Path) -> None:
    from core.cli.option_types import device

    assert device("CUDA:0") == "cuda:0" and device("auto") == "auto"
    settings = tmp_path / "s.ini"
    settings.write_text("[scoring]\ndevice=tpu\n")
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "core.cli.main", "app", "--benchmark", "2", "--settings", str(settings)],
                         capture_output=True, text=True, timeout=120, cwd=str(Path(__file__).parents[1]),
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-1500:]
    assert '"frames_scored": 0' not in out.stdout


@pytest.mark.parametrize("pattern", [r"(?P<subject>(a+)+)$", r"(?P<subject>(\w+\s?)*)$", r"(?P<subject>((ab)*)*)"])
def test_a_subject_pattern_that_backtracks_exponentially_is_refused_at_once(tmp_path: Path, pattern: str) -> None:
    import time

    from core.data.folders import open_dataset

    (tmp_path / "pigeon").mkdir()
    (tmp_path / "pigeon" / ("a" * 40 + "!.png")).write_bytes(b"")
    (tmp_path / "dataset.json").write_text(json.dumps({"subject_pattern": pattern, "unit_mm": 1.0}))
    t0 = time.monotonic()
    with pytest.raises(SpaderError, match="exponential time"):
        open_dataset(tmp_path)
    assert time.monotonic() - t0 < 1.0


def test_train_checks_its_output_before_training(tmp_path: Path, capsys) -> None:
    import time

    from core.cli.main import main

    data = tmp_path / "data"
    (data / "pigeon").mkdir(parents=True)
    existing = tmp_path / "m.safetensors"
    existing.write_bytes(b"a model")
    base = ["train", "--data", str(data), "--normal", "pigeon", "--known", "bar"]
    t0 = time.monotonic()
    assert main([*base, "--out", str(existing)]) == 2
    assert "already exists" in capsys.readouterr().err and existing.read_bytes() == b"a model"
    folder = tmp_path / "afolder.safetensors"
    folder.mkdir()
    assert main([*base, "--out", str(folder)]) == 2 and "is a folder" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main([*base, "--out", str(blocker / "m.safetensors")]) == 2
    assert "cannot write the model" in capsys.readouterr().err
    assert time.monotonic() - t0 < 10  # refused before any data is read or a network trained


def _session_copy(tmp_path: Path) -> Path:
    import shutil

    from core.assets import DEMO_SESSION

    s = tmp_path / "S"
    shutil.copytree(DEMO_SESSION, s)
    return s


def test_spader_score_does_not_hide_three_bad_frames_in_a_row(tmp_path: Path, capsys) -> None:
    from core.cli.main import main

    s = _session_copy(tmp_path)
    for i in (10, 11, 12):
        (s / "frames" / f"{i:06d}.png").write_bytes(b"")
    out = tmp_path / "out"
    assert main(["score", str(s), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "scoring stopped after 10 of 210 frames" in err and "Traceback" not in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] is False and "failed reads in a row" in summary["stopped"]


def test_spader_score_names_a_damaged_recording_in_its_summary(tmp_path: Path, capsys) -> None:
    from core.cli.main import main

    s = _session_copy(tmp_path)
    idx = (s / "index.csv").read_text().splitlines()
    (s / "index.csv").write_text("\n".join(idx[:-20]) + "\n")  # the index cut: 20 frames it no longer lists
    out = tmp_path / "out"
    assert main(["score", str(s), "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["recording"]["problems"], summary["recording"]
    assert "the recording is damaged" in capsys.readouterr().err


def test_a_failed_score_run_leaves_no_empty_output_folder(tmp_path: Path) -> None:
    from core.cli.main import main

    out = tmp_path / "out"
    assert main(["score", str(tmp_path / "missing"), "--out", str(out), "--quiet"]) != 0
    assert not out.exists()


# -- timestamps: checked and repaired where a recording is read (capture/timestamps.py) ---------------------------
def _timed_source(times_us: list[int]):
    """A seekable in-memory recording whose frames carry the given device times (µs)."""
    import numpy as np

    from capture.frame import DepthFrame
    from capture.sources.memory import MemorySource

    class Timed(MemorySource):
        def seek(self, t_s: float) -> None:  # only back to the start: what a loop asks for
            self.i = 0

    depth = np.full((4, 4), 800, np.uint16)
    return Timed([DepthFrame(depth, 1.0, i, t) for i, t in enumerate(times_us)], len(times_us))


def _play(times_us: list[int], **paced_kw):
    from capture.sources.pacing import Paced

    src = Paced(_timed_source(times_us), **{"speed": None, **paced_kw})
    frames = list(src)
    return src, frames, src.poll_events()


def _verdicts(times_s: list[float], score: float = -1.0) -> list[str]:
    from core.runtime.verdict import VerdictSettings, VerdictTracker

    tr = VerdictTracker(VerdictSettings(threshold=0.0))
    return [tr.update(t, score).verdict.value for t in times_s]


def test_a_backward_jump_in_the_timestamps_neither_resets_the_verdict_nor_hides_an_anomaly() -> None:
    step = 33_333
    times = [i * step for i in range(150)]
    times[90:] = [t - 10_000_000 for t in times[90:]]  # from frame 90 the clock reads 10 s earlier
    src, frames, events = _play(times)
    got = [f.device_ts_us for f in frames]
    assert got == [i * step for i in range(150)]  # repaired: the recording's own spacing, one take
    verdicts = _verdicts([t / 1e6 for t in got])
    first = verdicts.index("ANOMALY")
    assert set(verdicts[first:]) == {"ANOMALY"}  # was reset to PENDING at frame 90
    assert [e.kind.value for e in events] == ["timestamps"]
    assert "frame 90's time goes back 9.967 s" in events[0].message
    assert src.problems == ["1 frame time(s) did not move forward (placed one frame step on)"]


def test_a_one_hour_gap_in_the_timestamps_does_not_freeze_playback() -> None:
    step = 33_333
    times = [i * step for i in range(60)]
    times[30:] = [t + 3600 * 10**6 for t in times[30:]]
    clock = [0.0]

    def sleep(s: float) -> None:
        clock[0] += s

    src, frames, events = _play(times, speed=1.0, clock=lambda: clock[0], sleep=sleep)
    assert len(frames) == 60
    assert clock[0] < 3.0  # 60 frames at 30 fps, not an hour
    assert "frame 30's time jumps 3600.0 s ahead" in events[0].message
    assert "longest 3600.0 s" in src.problems[0]
    assert frames[30].device_ts_us - frames[29].device_ts_us == step


def test_shuffled_timestamps_still_give_a_verdict_for_nearly_every_frame() -> None:
    import random

    times = [i * 33_333 for i in range(300)]
    random.Random(3).shuffle(times)
    src, frames, events = _play(times)
    got = [f.device_ts_us for f in frames]
    assert all(b > a for a, b in zip(got, got[1:]))  # time only moves forward
    verdicts = _verdicts([t / 1e6 for t in got])
    undamaged = _verdicts([i / 30 for i in range(300)])
    assert verdicts.count("PENDING") <= undamaged.count("PENDING") + 3  # was 98 % PENDING; the hold time stays
    assert any("cannot be trusted" in e.message for e in events)
    assert any("not used after" in p for p in src.problems)


def test_a_seek_or_a_loop_is_not_taken_for_damaged_timestamps() -> None:
    from capture.sources.pacing import Paced

    src = Paced(_timed_source([i * 33_333 for i in range(20)]), speed=None, loop=True)
    src.open()
    for _ in range(45):  # two loops
        src.read()
    src.seek(0.0)
    src.read()
    assert src.problems == [] and not [e for e in src.poll_events() if e.kind.value == "timestamps"]


def test_spader_score_of_a_recording_whose_clock_jumps_back_gives_the_verdicts_of_the_undamaged_one(
    tmp_path: Path, capsys
) -> None:
    import csv

    from core.cli.main import main

    good = _session_copy(tmp_path)
    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    rows = (bad / "index.csv").read_text().splitlines()
    head, body = rows[0], rows[1:]
    for k in range(120, len(body)):  # the device clock restarts 5 s earlier at frame 120
        i, f, dev, host = body[k].split(",")
        body[k] = f"{i},{f},{int(dev) - 5_000_000},{host}"
    (bad / "index.csv").write_text("\n".join([head, *body]) + "\n")
    for s, out in ((good, tmp_path / "g"), (bad, tmp_path / "b")):
        assert main(["score", str(s), "--out", str(out), "--quiet"]) == 0
    read = lambda out: [(r["index"], r["t_s"], r["verdict"]) for r in csv.DictReader(open(out / "scores.csv"))]  # noqa: E731
    assert read(tmp_path / "b") == read(tmp_path / "g")
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert any("did not move forward" in p for p in summary["recording"]["problems"])
    assert "the recording is damaged: 1 frame time(s) did not move forward" in capsys.readouterr().err


def _crops(folder: Path, sizes: list[tuple[int, int]]) -> Path:
    import cv2
    import numpy as np

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate(sizes):
        d = np.full((h, w), 700, np.uint16)
        inner = d[h // 4: 3 * h // 4, w // 4: 3 * w // 4]
        inner[:] = 600 + rng.integers(0, 20, inner.shape)
        cv2.imwrite(str(folder / f"{i}.png"), d)
    return folder


def test_spader_score_scores_every_image_of_a_folder_of_mixed_sizes(tmp_path: Path, capsys) -> None:
    import csv

    from core.cli.main import main

    sizes = [(64, 64), (120, 90), (182, 150), (70, 101), (64, 64), (99, 99)]
    crops = _crops(tmp_path / "crops", sizes)
    out = tmp_path / "out"
    assert main(["score", str(crops), "--out", str(out), "--quiet", "--unit-mm", "1"]) == 0
    rows = list(csv.DictReader(open(out / "scores.csv")))
    assert [int(r["index"]) for r in rows] == list(range(len(sizes)))  # was 1 of 6, then "3 failed reads"
    assert json.loads((out / "summary.json").read_text())["complete"] is True


def test_a_folder_of_mixed_sizes_is_refused_for_recording_with_a_reason(tmp_path: Path) -> None:
    from capture.errors import CaptureError
    from capture.session import SessionMeta, SessionWriter
    from capture.sources import open_source

    src = open_source(str(_crops(tmp_path / "crops", [(64, 64), (80, 64)])), speed=None, loop=False, unit_mm=1.0)
    with src:
        assert src.info.extra.get("sizes_vary") is True
        w = SessionWriter.create(tmp_path / "s", SessionMeta.from_stream(src.info))
        w.append(src.read())
        with pytest.raises(CaptureError, match="frame is 64x80, the session is 64x64"):
            w.append(src.read())
        w.close()


KILLED_WHILE_CREATING = r"""
import sys
import numpy as np
from capture.frame import DepthFrame
from capture.session import SessionMeta, SessionWriter
root = sys.argv[1]
for n in range(100000):
    w = SessionWriter.create(f"{root}/s{n:05d}", SessionMeta(sensor="test", fps=30.0))
    w.append(DepthFrame(np.full((8, 8), 700, np.uint16), 1.0, 0, 0))
    w.close()
"""


@pytest.mark.timeout(120)
def test_a_kill_in_the_first_milliseconds_never_leaves_a_session_without_its_header(tmp_path: Path) -> None:
    import random
    import signal
    import subprocess
    import sys
    import time

    from capture.session import SessionReader

    repo = Path(__file__).resolve().parents[1]
    rng = random.Random(5)
    for k in range(5):
        root = tmp_path / f"run{k}"
        root.mkdir()
        proc = subprocess.Popen([sys.executable, "-c", KILLED_WHILE_CREATING, str(root)], cwd=repo,
                                env={**os.environ, "PYTHONPATH": str(repo)})
        deadline = time.monotonic() + 30
        while not any(root.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.3))  # sessions are being created at about a hundred a second
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        sessions = [p for p in root.iterdir() if not p.name.startswith(".")]
        assert sessions
        for p in sessions:
            r = SessionReader(p)  # opens: its header is there (a session may end after frame 0 or before it)
            assert len(r) in (0, 1)
