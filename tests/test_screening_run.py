"""`spader screening run` on the bundled demo: a scripted subject whose first attempt
fails and whose second succeeds; the screening folder holds the session, every frame's
result and the events; the list and the audit trail agree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.assets import DEMO_SESSION
from core.cli.main import main
from core.screening.audit import verify
from core.screening.record import read_events, read_results
from core.screening.store import LOCK, ScreeningFolder, list_screenings


@pytest.mark.slow
def test_the_demo_screening_fails_then_succeeds_and_everything_is_recorded(tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    rc = main(["screening", "run", str(DEMO_SESSION), "--subject", "P-0001", "--starts", "7.5", "17.5",
               "--data", str(data), "--operator", "op-3", "--site", "bench"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "attempt 1 at 17.5 s: not imitated within 10 s" in out
    assert "overall: all imitated (Screening aid, not a diagnosis.)" in out
    (listed,) = list_screenings(data)
    assert listed.subject_id == "P-0001" and listed.status == "complete" and listed.overall == "all imitated"
    assert "P-0001" not in listed.path.name  # the folder name never carries the pseudonym
    folder = ScreeningFolder(listed.path)
    h = folder.header()
    assert h["operator"] == "op-3" and h["site"] == "bench" and h["protocol"]["name"] == "YFPIT pigeon (bundled)"
    assert len(h["models"]["pigeon"]["sha256"]) == 64 and h["models"]["pigeon"]["threshold_source"] == "model"
    from core.assets import DEFAULT_MODEL
    from core.spader.checkpoint import load_model, model_digest

    # the model's digest, the one a calibration of it names (not the file's bytes)
    assert h["models"]["pigeon"]["sha256"] == model_digest(load_model(DEFAULT_MODEL))
    res = folder.results()
    (task,) = res["tasks"]
    assert [a["outcome"] for a in task["attempts"]] == ["not_imitated", "imitated"]
    a1, a2 = task["attempts"]
    assert a1["start_t"] == pytest.approx(7.5, abs=0.1) and a1["end_t"] == pytest.approx(17.5, abs=0.1)
    assert 17.5 <= a2["start_t"] <= 17.7 and a2["end_t"] < 21.0  # the pigeon is shown from 17.6 s
    # the session: every frame, every frame's result, the events
    frames = sorted((folder.session_path / "frames").glob("*.png"))
    rows = read_results(folder.session_path)
    assert len(frames) == len(rows) == 210
    assert {r["verdict"] for r in rows} >= {"NORMAL", "ANOMALY"} and all(r["threshold"] for r in rows)
    events = [e["event"] for e in read_events(folder.session_path)]
    assert events == ["attempt_started", "attempt_ended", "attempt_started", "attempt_ended", "task_left",
                      "screening_finished"]
    report = verify(data)
    assert report.ok and report.entries == 1 + len(events)  # created, then every event
    assert main(["screening", "list", "--data", str(data), "--subject", "P-0001"]) == 0
    assert "all imitated" in capsys.readouterr().out
    assert (folder.path / "attempts.csv").read_text().splitlines()[1].startswith("pigeon,pass,1,7.5,17.5,not_imitated")
    # the report: made from the folder alone, the same file again, and it says what matters
    pdf = tmp_path / "report.pdf"
    assert main(["screening", "report", str(folder.path), "--out", str(pdf), "--operator", "op-3"]) == 0
    again = tmp_path / "again.pdf"
    assert main(["screening", "report", str(folder.path), "--out", str(again)]) == 0
    assert pdf.read_bytes() == again.read_bytes()
    from pypdf import PdfReader

    pages = PdfReader(str(pdf)).pages
    text = " ".join(" ".join(pg.extract_text().split()) for pg in pages)
    for needle in ("P-0001", "op-3", "bench", "YFPIT pigeon (bundled), version 1.0", h["models"]["pigeon"]["sha256"],
                   "not imitated within 10 s", "imitated in", "Result: all imitated", "not a diagnosis",
                   f"page 1 of {len(pages)}", "attempt 1: not imitated", "anomaly", "normal",
                   "Grad-CAM of the recorded model"):  # the header's digest found the model
        assert needle in text, needle
    import shutil

    if shutil.which("pdftotext"):  # poppler, where it is installed: the same words
        out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        flat = " ".join(out.split())
        for needle in ("P-0001", h["models"]["pigeon"]["sha256"], "not imitated within 10 s", "not a diagnosis"):
            assert needle in flat, needle
    entries = [json.loads(line) for line in (data / "audit.jsonl").read_text().splitlines()]
    assert entries[-2]["event"] == "report_exported" and entries[-2]["actor"] == "op-3" and verify(data).ok


def test_bad_input_to_a_screening_run_is_a_message(tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    assert main(["screening", "run", str(DEMO_SESSION), "--subject", "Jane Doe 1950-02-03", "--starts", "1",
                 "--data", str(data)]) == 2
    assert "pseudonym" in capsys.readouterr().err
    proto = json.loads((Path(__file__).parents[1] / "assets" / "protocols" / "pigeon.json").read_text())
    proto["tasks"][0]["model"] = "missing.safetensors"
    p = tmp_path / "p.json"
    p.write_text(json.dumps(proto))
    assert main(["screening", "run", str(DEMO_SESSION), "--subject", "P-2", "--starts", "1", "--data", str(data),
                 "--protocol", str(p)]) == 2
    err = capsys.readouterr().err
    assert "model file not found" in err and "missing.safetensors" in err
    assert not list_screenings(data)  # nothing half-made


def test_a_screening_whose_process_died_is_listed_as_interrupted(tmp_path: Path) -> None:
    folder = ScreeningFolder.create(tmp_path, {"subject_id": "P-7", "protocol": {"tasks": [{"id": "pigeon"}]}})
    assert folder.status() == "running"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (folder.path / LOCK).write_text(str(dead.pid))
    (listed,) = list_screenings(tmp_path)
    assert listed.status == "interrupted" and listed.overall == "—" and listed.tasks == ["pigeon"]


@pytest.mark.slow
def test_sigkill_during_an_attempt_leaves_an_interrupted_screening_missing_at_most_one_second(tmp_path: Path) -> None:
    """Five kills at different moments of an attempt: each screening is listed as
    interrupted; its frames, their results and the attempt's start are all on disk."""
    import os
    import signal
    import time

    from capture.session import SessionReader

    data = tmp_path / "data"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    figures = []
    for k in range(5):
        child = subprocess.Popen([sys.executable, "-m", "core.cli.main", "screening", "run", str(DEMO_SESSION),
                                  "--subject", f"P-{k}", "--starts", "2", "--data", str(data)],
                                 cwd=str(Path(__file__).parents[1]), env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        started = None
        while time.monotonic() < deadline and started is None:
            for ev in data.glob("*/session/events.jsonl"):
                if f'"P-{k}"' in (ev.parents[1] / "screening.json").read_text() and "attempt_started" in ev.read_text():
                    started = ev
            time.sleep(0.02)
        assert started is not None, "the attempt never started"
        time.sleep(0.15 * k)  # a different moment of the attempt each time
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        folder = ScreeningFolder(started.parents[1])
        assert folder.status() == "interrupted" and folder.results() is None
        frames = len(SessionReader(folder.session_path))
        rows = read_results(folder.session_path)
        missing = frames - len(rows)
        figures.append((frames, len(rows)))
        assert 0 <= missing <= 10, (frames, len(rows))  # 10 frames = 1 s of the 10 fps demo
        events = [e["event"] for e in read_events(folder.session_path)]
        assert events[0] == "attempt_started"
        if k == 0:  # its report: the attempt as far as it got, rebuilt from the events
            from pypdf import PdfReader

            from core.screening.report import build_report

            pdf = build_report(folder, tmp_path / "interrupted.pdf")
            text = " ".join(" ".join(pg.extract_text().split()) for pg in PdfReader(str(pdf)).pages)
            assert "(interrupted)" in text and "pigeon 1 2.0" in text, text[:600]
    listed = {s.subject_id: s.status for s in list_screenings(data)}
    assert listed == {f"P-{k}": "interrupted" for k in range(5)}, figures
    print("frames, results per kill:", figures)


def test_a_recorded_screening_runs_again_from_its_own_attempt_times(tmp_path: Path, capsys) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(["screening", "run", str(DEMO_SESSION), "--subject", "P-3", "--starts", "7.5", "17.5",
                 "--data", str(first)]) == 0
    (done,) = list_screenings(first)
    capsys.readouterr()
    assert main(["screening", "run", str(done.path / "session"), "--subject", "P-3", "--starts-from-events",
                 "--data", str(second)]) == 0
    (again,) = list_screenings(second)
    a = [x["start_t"] for x in ScreeningFolder(done.path).results()["tasks"][0]["attempts"]]
    b = [x["start_t"] for x in ScreeningFolder(again.path).results()["tasks"][0]["attempts"]]
    assert b == pytest.approx(a, abs=0.11) and again.overall == done.overall == "all imitated"
    assert main(["screening", "run", str(DEMO_SESSION), "--subject", "P-3", "--starts-from-events",
                 "--data", str(second)]) == 2
    assert "holds no screening events" in capsys.readouterr().err
