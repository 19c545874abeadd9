"""Issue #28, the findings that had no test of their own elsewhere: one test per finding,
named after it, from a user's point of view (exit codes and messages of `spader`, what
the window shows, what lands on disk). The other findings' tests are in
tests/test_hardening.py, tests/test_capture_session*.py, tests/test_screening_core.py,
tests/test_app_*.py and tests/test_train_cli.py.

Tests marked ``xfail(strict=True)`` describe a part of a finding that the code does not do
yet: each fails today and will report XPASS (a failure, under strict) once it is fixed;
then drop its marker.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app_support import W, H, dialogs_seen, hand_frames, make_window, write_session  # noqa: F401 - fixtures
from core.errors import SpaderError

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.timeout(120)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def _demo_frames(n: int):
    from capture.session import SessionReader
    from core.assets import DEMO_SESSION

    r = SessionReader(DEMO_SESSION)
    return [r[i] for i in range(n)]


def _short_demo(path: Path, n: int = 24) -> Path:
    """The first ``n`` frames of the bundled demo as a closed session (fast to score)."""
    return write_session(path, _demo_frames(n), subject_id="P-1")


def _env() -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


# -- 1. one damaged frame ends app replay for good --------------------------------------------------
# (the source level: tests/test_capture_session_damage.py::test_replay_reports_a_damaged_frame_once_and_goes_on)
def test_one_damaged_frame_does_not_end_app_replay(make_window, qtbot, tmp_path: Path, dialogs_seen) -> None:
    s = write_session(tmp_path / "S", hand_frames(30))
    (s / "frames" / "000010.png").write_bytes(b"")  # `: > S/frames/000010.png`
    win, ctrl, _ = make_window()
    win.transport.loop_box.setChecked(False)
    assert win.open_recording(s)
    qtbot.waitUntil(lambda: ctrl.ended and len(ctrl.delivered) >= 29, timeout=30000)
    assert sorted(r.index for r in ctrl.delivered) == [i for i in range(30) if i != 10]  # on past the damage
    assert win.banner.has("capture")
    level, text = win.banner.messages["capture"]
    assert "frame 10" in text and "damaged" in text, text
    assert not [d for d in dialogs_seen if d[1] == "Cannot open the source"]


def test_one_damaged_frame_does_not_end_the_app_benchmark_replay(tmp_path: Path) -> None:
    from core.assets import DEMO_SESSION

    s = tmp_path / "S"
    shutil.copytree(DEMO_SESSION, s)
    (s / "frames" / "000003.png").write_bytes(b"")  # within the benchmark's 1 s warm-up at 10 fps
    out = subprocess.run([sys.executable, "-m", "core.cli.main", "app", "--source", str(s), "--benchmark", "1.5",
                          "--settings", str(tmp_path / "s.ini"), "--threads", "1"],
                         capture_output=True, text=True, timeout=100, cwd=ROOT, env=_env())
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Cannot open the source" not in out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["frames_scored"] > 0  # scored after the damaged frame 3


# -- 2. `spader score` hides damage ------------------------------------------------------------------
# (a cut index.csv, three bad frames in a row, an empty --out folder: tests/test_hardening.py)
def test_spader_score_names_a_deleted_frame_in_its_summary(tmp_path: Path, capsys) -> None:
    from core.cli.main import main

    s = _short_demo(tmp_path / "S")
    (s / "frames" / "000007.png").unlink()
    out = tmp_path / "out"
    assert main(["score", str(s), "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    problems = summary["recording"]["problems"]
    assert any("missing" in p and "000007.png" in p for p in problems), problems
    assert summary["counts"]["frames"] == 23
    assert "the recording is damaged" in capsys.readouterr().err


def test_spader_score_names_an_unclosed_session_in_its_summary(tmp_path: Path, capsys) -> None:
    from core.cli.main import main

    s = _short_demo(tmp_path / "S")
    h = json.loads((s / "session.json").read_text())
    h.update(closed=False, frame_count=None, end_time=None)  # what the writer leaves before close()
    (s / "session.json").write_text(json.dumps(h))
    out = tmp_path / "out"
    assert main(["score", str(s), "--out", str(out), "--quiet"]) == 0
    problems = json.loads((out / "summary.json").read_text())["recording"]["problems"]
    assert any("not closed" in p for p in problems), problems
    assert "the recording is damaged: session was not closed" in capsys.readouterr().err


# -- 3. the device serial leaks into session.json; factory intrinsics at full precision ---------------
def test_the_device_serial_and_full_precision_intrinsics_never_reach_a_recorded_session(
        make_window, qtbot, tmp_path: Path) -> None:
    from capture.frame import Intrinsics
    from support import FakeSource

    serial = "001514394512"
    factory = Intrinsics(252.6076354980469, 252.7186584472656, 160.1234567, 144.98765, W, H,
                         (0.51384848713875, -0.013912345))
    cam = FakeSource(hand_frames(30), forever=True, fps=30.0, live=True, paced=True, sensor="Azure Kinect",
                     depth_mode="NFOV_2X2BINNED", intrinsics=factory)
    win, ctrl, _ = make_window()
    win.open_source_object(cam, label=f"kinect:{serial}", kind="camera")
    qtbot.waitUntil(lambda: ctrl.info is not None and len(ctrl.delivered) > 2, timeout=20000)
    out = tmp_path / "rec"
    assert win.start_recording(out, "P-0007")
    qtbot.waitUntil(lambda: ctrl.recorder.written >= 3, timeout=20000)
    win.stop_recording()
    for f in out.rglob("*"):
        if f.is_file():
            assert serial.encode() not in f.read_bytes(), f"the serial leaked into {f}"
    h = json.loads((out / "session.json").read_text())
    assert h["settings"]["source"] == {"label": "kinect", "kind": "camera"}
    i = h["intrinsics"]
    assert (i["fx"], i["fy"], i["cx"], i["cy"]) == (252.61, 252.72, 160.12, 144.99), i
    assert "0.51384848713875" not in (out / "session.json").read_text()


# -- 4. `spader convert --subject` accepts ../../x, dates of birth, control characters -----------------
# (the writer's rule: tests/test_capture_session.py::test_writer_refuses_a_subject_id_that_is_not_a_pseudonym...;
# the window: tests/test_app_record.py::test_bad_subject_ids_are_refused)
@pytest.mark.parametrize("subject", ["../../x", "Jane Doe 12.03.1980", "P-1\x1b[2J", "P\t1", "P-1\u202e", "P/../1"])
def test_spader_convert_refuses_a_subject_id_the_app_refuses(tmp_path: Path, monkeypatch, capsys, subject) -> None:
    import capture.convert
    from core.cli.main import main
    from support import FakeSource

    # no MKV needs to be read: a stand-in for MkvSource that hands over two frames
    monkeypatch.setattr(capture.convert, "MkvSource",
                        lambda path: FakeSource(hand_frames(2), sensor="Azure Kinect", depth_mode="NFOV_2X2BINNED"))
    (tmp_path / "rec.mkv").write_bytes(b"")
    work = tmp_path / "work"
    work.mkdir()
    assert main(["convert", str(tmp_path / "rec.mkv"), str(work / "s"), "--subject", subject]) == 2
    err = capsys.readouterr().err
    assert "pseudonym" in err and "Traceback" not in err
    assert list(work.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["rec.mkv", "work"]
    # the same command with a pseudonym writes the session (the stand-in is a valid recording)
    assert main(["convert", str(tmp_path / "rec.mkv"), str(work / "s"), "--subject", "P-0001"]) == 0


# -- 5. sessions, results, reports and audit logs world-readable under the default umask -------------
# (sessions alone: tests/test_hardening.py::test_sessions_are_written_600_and_700_whatever_the_umask)
def test_screening_results_events_reports_and_audit_logs_are_600_and_700_whatever_the_umask(
        tmp_path: Path, capsys) -> None:
    from core.cli.main import main

    rec = _short_demo(tmp_path / "rec", n=40)
    data = tmp_path / "data"
    pdf = tmp_path / "report.pdf"
    old = os.umask(0)
    try:
        assert main(["screening", "run", str(rec), "--subject", "P-0001", "--starts", "0.5", "--data", str(data)]) == 0
        (folder,) = [p for p in data.iterdir() if p.is_dir()]
        assert main(["screening", "report", str(folder), "--out", str(pdf)]) == 0
    finally:
        os.umask(old)
    names = {p.relative_to(data).as_posix() for p in data.rglob("*")}
    for wanted in ("audit.jsonl", f"{folder.name}/screening.json", f"{folder.name}/results.json",
                   f"{folder.name}/session/results.csv", f"{folder.name}/session/events.jsonl"):
        assert wanted in names, sorted(names)
    dirs = {p.relative_to(tmp_path).as_posix(): oct(_mode(p)) for p in [data, *data.rglob("*")] if p.is_dir()}
    files = {p.relative_to(tmp_path).as_posix(): oct(_mode(p)) for p in [pdf, *data.rglob("*")] if p.is_file()}
    assert set(dirs.values()) == {"0o700"}, dirs
    assert set(files.values()) == {"0o600"}, {k: v for k, v in files.items() if v != "0o600"}


def test_spader_score_with_overlays_and_video_is_600_and_700_whatever_the_umask(tmp_path: Path) -> None:
    """The scores, the summary, the overlay pictures and the video show a subject: owner only."""
    from core.cli.main import main

    rec = _short_demo(tmp_path / "S", n=4)
    out = tmp_path / "out"
    old = os.umask(0)
    try:
        assert main(["score", str(rec), "--out", str(out), "--overlays", "--video", "--quiet"]) == 0
    finally:
        os.umask(old)
    files = {p.relative_to(out).as_posix(): oct(_mode(p)) for p in out.rglob("*") if p.is_file()}
    dirs = {p.relative_to(tmp_path).as_posix(): oct(_mode(p)) for p in [out, *out.rglob("*")] if p.is_dir()}
    assert {"scores.csv", "summary.json", "overlays/000000.png", "overlay.mp4"} <= set(files), sorted(files)
    assert set(files.values()) == {"0o600"}, files
    assert set(dirs.values()) == {"0o700"}, dirs


@pytest.mark.parametrize("argv", [["bench", "--tiny", "--json"], ["app", "--benchmark", "1", "--benchmark-json"],
                                  ["app", "--benchmark", "1", "--screenshot"]])
def test_a_benchmark_output_inside_a_file_is_refused_before_the_run(argv: list[str], tmp_path: Path, capsys) -> None:
    from core.cli.main import main

    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SystemExit) as exc:
        main([*argv, str(blocker / "x")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "is a file, not a folder" in err and "Traceback" not in err and blocker.read_text() == ""


# -- 6. a model with one flipped byte in its weights loads --------------------------------------------
def _flip_a_weight_byte(src: Path, dst: Path) -> Path:
    raw = bytearray(src.read_bytes())
    n = struct.unpack("<Q", raw[:8])[0]
    raw[8 + n + len(raw[8 + n:]) // 2] ^= 0x01  # one bit of one byte in the middle of the tensors
    dst.write_bytes(bytes(raw))
    return dst


def test_a_model_with_one_flipped_byte_in_its_weights_does_not_load(tmp_path: Path, capsys) -> None:
    from core.cli.main import main
    from core.spader.checkpoint import load_model, save_model
    from support import tiny_model

    good = save_model(tiny_model(), tmp_path / "m.safetensors")
    load_model(good)
    bad = _flip_a_weight_byte(good, tmp_path / "bad.safetensors")
    with pytest.raises(SpaderError, match="damaged"):
        load_model(bad)
    assert main(["model", "info", str(bad)]) == 2
    assert "damaged" in capsys.readouterr().err


def test_the_bundled_model_with_one_flipped_byte_in_its_weights_does_not_load(tmp_path: Path) -> None:
    from core.assets import DEFAULT_MODEL
    from core.spader.checkpoint import load_model

    bad = _flip_a_weight_byte(Path(DEFAULT_MODEL), tmp_path / "bad.safetensors")
    with pytest.raises(SpaderError, match="damaged"):
        load_model(bad)


def test_the_calibration_and_the_report_name_the_same_model_digest() -> None:
    from core.screening.headless import task_models
    from core.screening.protocol import load_protocol
    from core.tuning.calibration import model_sha256

    (tm,) = task_models(load_protocol()).values()  # the bundled protocol: the bundled model
    assert tm.sha256 == model_sha256(tm.model)  # the header's (and so the report's) digest == the calibration's


# -- 10. a saved `--device tpu` disabled scoring; the benchmark then said rc 0 with 0 frames scored ----
# (the saved device: tests/test_hardening.py::test_a_device_saved_by_an_older_version_is_not_a_reason_to_stop_scoring)
def test_a_benchmark_that_scored_no_frame_exits_1(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA: --device cuda is how this test makes scoring fail")
    out = subprocess.run([sys.executable, "-m", "core.cli.main", "app", "--source", "synthetic", "--benchmark", "1",
                          "--device", "cuda", "--settings", str(tmp_path / "s.ini"), "--threads", "1"],
                         capture_output=True, text=True, timeout=100, cwd=ROOT, env=_env())
    assert out.returncode == 1, out.stderr[-2000:]
    assert "error: the benchmark scored no frame (CUDA was requested" in out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1])["frames_scored"] == 0


# -- 11. tracebacks for bad option values and output folders ------------------------------------------
# (the option values: tests/test_hardening.py::test_bad_option_values_are_a_clear_message_and_exit_status_2;
# train's --out: tests/test_hardening.py::test_train_checks_its_output_before_training)
def test_a_size_of_0_is_a_clear_message_and_exit_status_2(capsys) -> None:
    from core.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(["train", "--data", "x", "--normal", "a", "--known", "b", "--out", "m", "--size", "0"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --size: 0 is outside" in err and "Traceback" not in err


def test_a_score_output_folder_that_is_a_file_is_a_clear_message(tmp_path: Path, capsys) -> None:
    from core.cli.main import main

    blocker = tmp_path / "file"
    blocker.write_text("")
    rec = _short_demo(tmp_path / "S", n=2)
    assert main(["score", str(rec), "--out", str(blocker), "--quiet"]) == 2
    assert "is not a folder" in capsys.readouterr().err and blocker.read_text() == ""


def test_a_score_output_folder_inside_a_file_is_a_clear_message(tmp_path: Path, capsys) -> None:
    from core.cli.main import main

    blocker = tmp_path / "file"
    blocker.write_text("")
    rec = _short_demo(tmp_path / "S", n=2)
    try:
        rc = main(["score", str(rec), "--out", str(blocker / "out"), "--quiet"])
    except OSError as exc:  # what a user sees as a traceback
        pytest.fail(f"traceback: {exc!r}")
    assert rc == 2 and "cannot" in capsys.readouterr().err


# -- 12. a subject pattern such as (a+)+ in dataset.json (ReDoS) --------------------------------------
# (nested repetition: tests/test_hardening.py::test_a_subject_pattern_that_backtracks_exponentially_is_refused_at_once)
def test_a_subject_pattern_with_overlapping_alternatives_is_refused_or_bounded(tmp_path: Path) -> None:
    (tmp_path / "pigeon").mkdir()
    (tmp_path / "pigeon" / ("a" * 34 + "!.png")).write_bytes(b"")
    (tmp_path / "dataset.json").write_text(json.dumps({"subject_pattern": r"(?P<subject>(a|a)+)\.png$",
                                                       "unit_mm": 1.0}))
    code = ("import sys\nfrom core.data.folders import open_dataset\nfrom core.errors import SpaderError\n"
            f"try:\n    open_dataset({str(tmp_path)!r})\nexcept SpaderError as e:\n    print(e)\n")
    try:
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(), capture_output=True, text=True,
                             timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("open_dataset ran for more than 30 s on one 38-character file name")
    assert "took more than 0.25 s on this file name" in out.stdout, out.stdout + out.stderr


# -- 13. an SR305 folder opened without its unit, or of mixed units, silently finds no hand ------------
# (the window, depth read with a wrong unit:
# tests/test_app_clinician.py::test_depth_outside_any_working_range_says_the_unit_may_be_wrong)
def _sr305_folder(path: Path, sr305_from: int = 0, n: int = 10) -> Path:
    """Depth PNGs of the hand scene in RealSense SR305 units (0.125 mm) from frame ``sr305_from``
    on (1 mm before), and no dataset.json to say so."""
    from capture.pngio import encode_png16

    path.mkdir(parents=True)
    for i, f in enumerate(hand_frames(n)):
        d = f.depth if i < sr305_from else np.clip(f.depth.astype(np.int64) * 8, 0, 65535).astype(np.uint16)
        (path / f"{i:04d}.png").write_bytes(encode_png16(d))
    return path


def test_an_sr305_folder_opened_as_1_mm_says_the_unit_may_be_wrong(make_window, qtbot, tmp_path: Path) -> None:
    folder = _sr305_folder(tmp_path / "sr305")
    win, ctrl, _ = make_window()
    assert win.open_recording(folder, unit_mm=1.0)
    qtbot.waitUntil(lambda: win.banner.has("units"), timeout=10000)
    text = win.banner.messages["units"][1]
    assert "depth unit may be wrong" in text and "SR305 0.125 mm" in text


def test_spader_score_of_an_sr305_folder_opened_as_1_mm_says_the_unit_may_be_wrong(tmp_path: Path, capsys) -> None:
    from core.cli.main import main

    folder = _sr305_folder(tmp_path / "sr305")
    out = tmp_path / "out"
    main(["score", str(folder), "--out", str(out), "--quiet"])
    captured = capsys.readouterr()
    said = (captured.out + captured.err + (out / "summary.json").read_text()).lower()
    assert "unit" in said and "wrong" in said



def test_a_folder_of_mixed_units_says_the_unit_may_be_wrong(make_window, qtbot, tmp_path: Path) -> None:
    folder = _sr305_folder(tmp_path / "mixed", sr305_from=3)  # frames 0-2 in mm, 3-9 in SR305 units
    win, ctrl, _ = make_window()
    win.transport.loop_box.setChecked(False)
    assert win.open_recording(folder, unit_mm=1.0)
    qtbot.waitUntil(lambda: ctrl.ended and len(ctrl.delivered) >= 10, timeout=10000)
    qtbot.wait(300)
    assert [r.has_hand for r in sorted(ctrl.delivered, key=lambda r: r.index)] == [True] * 3 + [False] * 7
    assert win.banner.has("units"), win.banner.messages
