"""A full screening in the window (pytest-qt, offscreen) on the demo recording, whose pose
timeline is known: the pigeon from 2.8 to 6.0 s and from 17.6 s on, anomalies between.
The first attempt (started at 7.5 s) ends "not imitated" 10 s later; the retry, started
as soon as it ends, is imitated once the pigeon is held for 1 s."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app_support import *  # noqa: F401,F403  (fixtures)
from core.assets import DEMO_SESSION, DEFAULT_MODEL

pytestmark = pytest.mark.slow
FRAME_S = 0.1  # the demo's frame step (10 fps)


def _protocol(tmp_path: Path) -> Path:
    d = json.loads((Path(__file__).parents[1] / "assets" / "protocols" / "pigeon.json").read_text())
    d["tasks"][0]["countdown_s"] = 0  # Space starts the attempt at once: the test knows when
    p = tmp_path / "protocol.json"
    p.write_text(json.dumps(d))
    return p


def test_a_full_screening_in_the_window(make_window, qtbot, tmp_path: Path, monkeypatch) -> None:
    from pypdf import PdfReader

    from core.screening.audit import verify
    from core.screening.record import read_events, read_results
    from core.screening.store import list_screenings
    from core.spader.checkpoint import load_model

    data = tmp_path / "data"
    win, ctrl, _ = make_window(model=load_model(DEFAULT_MODEL))
    win.settings.set("screening/data_dir", str(data))
    assert win.open_recording(DEMO_SESSION)
    ctrl.set_speed(2.0)
    assert win.start_screening("P-0009", operator="op-1", site="ward", protocol_path=str(_protocol(tmp_path)))
    sc = ctrl.screening
    assert win.screening_panel.isVisible() and not win.act_screen_start.isEnabled()
    qtbot.waitUntil(lambda: win.screening_panel.state[3] == "Space: start the attempt", timeout=5000)
    # before the attempt, hands in view are "waiting", never ANOMALY
    qtbot.waitUntil(lambda: (sc.last_t or 0) >= 3.5, timeout=20000)
    assert win.verdict_panel.verdict == "WAITING"
    qtbot.waitUntil(lambda: (sc.last_t or 0) >= 7.5, timeout=20000)
    win.act_play.trigger()  # Space
    qtbot.waitUntil(lambda: str(sc.phase) == "running", timeout=5000)
    qtbot.waitUntil(lambda: str(sc.phase) == "outcome", timeout=20000)
    a1 = sc.screening.last_attempt
    assert a1.outcome.value == "not_imitated"
    assert a1.end_t - a1.start_t == pytest.approx(10.0, abs=FRAME_S + 1e-6)
    qtbot.waitUntil(lambda: win.screening_panel.state[1] == "not imitated within 10 s", timeout=5000)
    # the attempt is a window on the live plot, as long as it lasted
    qtbot.waitUntil(lambda: win.score_plot.attempt_labels == ["attempt 1: not imitated"], timeout=5000)
    region = win.score_plot._attempt_items[0]
    lo, hi = region.getRegion()
    assert hi - lo == pytest.approx(10.0, abs=0.2)
    win.act_play.trigger()  # Space: retry
    qtbot.waitUntil(lambda: str(sc.phase) == "outcome" and len(sc.screening.attempts["pigeon"]) == 2, timeout=20000)
    a2 = sc.screening.last_attempt
    assert a2.outcome.value == "imitated" and a2.end_t < 21.0
    # the pigeon is on screen from 17.6 s: the hold begins at or after it and lasts 1 s
    assert a2.start_t + a2.reached_s >= 17.6 - FRAME_S and a2.end_t - (a2.start_t + a2.reached_s) == pytest.approx(1.0, abs=FRAME_S + 1e-6)
    qtbot.waitUntil(lambda: win.screening_panel.state[1].startswith("imitated in"), timeout=5000)
    win.act_screen_next.trigger()  # N: the last task: the screening is done
    assert str(sc.phase) == "done"
    qtbot.waitUntil(lambda: win.screening_panel.state[1] == "All imitated", timeout=5000)
    assert "Screening aid, not a diagnosis." in win.screening_panel.state[2]
    win.act_screen_next.trigger()  # N again closes it
    assert sc.closed and ctrl.recorder is None and win.act_screen_start.isEnabled()
    (listed,) = list_screenings(data)
    assert listed.status == "complete" and listed.overall == "all imitated" and listed.subject_id == "P-0009"
    session = listed.path / "session"
    rows = read_results(session)
    frames = sorted((session / "frames").glob("*.png"))
    # every recorded frame has its result, but for the few in flight (the replay queue) when it closed
    assert len(frames) - 5 <= len(rows) <= len(frames) and len(frames) > 150
    from capture.session import SessionReader

    recorded = {e.device_ts_us for e in SessionReader(session).entries}
    assert {int(r["device_ts_us"]) for r in rows} <= recorded  # no result without its frame on disk
    assert {r["verdict"] for r in rows} >= {"NORMAL", "ANOMALY"}
    # what the window showed: between attempts the frames are "waiting", during them "running"
    assert {"instruction", "running"} <= {r["phase"] for r in rows} <= {"instruction", "running", "outcome", "done"}
    events = [e["event"] for e in read_events(session)]
    assert events == ["attempt_started", "attempt_ended", "attempt_started", "attempt_ended", "task_left",
                      "screening_finished"]
    pdf = win.export_report(out=tmp_path / "report.pdf")
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(str(pdf)).pages)
    assert "P-0009" in text and "not imitated within 10 s" in text and "imitated in" in text
    assert verify(data).ok


def test_the_scripted_demo_screening_fails_then_succeeds(make_window, qtbot, tmp_path: Path) -> None:
    from core.screening.store import list_screenings
    from core.spader.checkpoint import load_model

    data = tmp_path / "data"
    win, ctrl, _ = make_window(model=load_model(DEFAULT_MODEL))
    win.settings.set("screening/data_dir", str(data))
    assert win.demo_screening()  # in real time: the scripted operator's 1 s countdown is wall time
    qtbot.waitUntil(lambda: ctrl.screening is not None and ctrl.screening.closed, timeout=60000)
    (listed,) = list_screenings(data)
    assert listed.status == "complete" and listed.overall == "all imitated" and listed.subject_id == "DEMO-001"
    res = json.loads((listed.path / "results.json").read_text())
    assert [a["outcome"] for a in res["tasks"][0]["attempts"]] == ["not_imitated", "imitated"]
    assert win.screening_panel.state[1] == "All imitated" and win.act_screen_report.isEnabled()


def test_the_screenings_list_filters_by_subject_and_opens_one(make_window, qtbot, tmp_path: Path) -> None:
    from app.dialogs import ScreeningsDialog
    from core.screening.store import ScreeningFolder

    data = tmp_path / "data"
    for sid in ("P-1", "P-2", "P-1"):
        ScreeningFolder.create(data, {"subject_id": sid, "protocol": {"tasks": [{"id": "pigeon"}]}})
    win, _, _ = make_window()
    dlg = ScreeningsDialog(win, data)
    qtbot.addWidget(dlg)
    assert dlg.table.rowCount() == 3 and not dlg.open_button.isEnabled()
    dlg.filter.setText("P-1")
    assert dlg.table.rowCount() == 2 and {dlg.table.item(i, 1).text() for i in range(2)} == {"P-1"}
    assert dlg.table.item(0, 5).text() == "running"  # this process holds their locks
    dlg.table.selectRow(1)
    assert dlg.open_button.isEnabled()
    dlg.open_button.click()
    assert dlg.action == "open" and dlg.chosen == dlg.rows[1].path


def test_a_screening_replays_with_its_recorded_scores_and_verdicts(make_window, qtbot, tmp_path: Path) -> None:
    import numpy as np

    from core.cli.main import main
    from core.screening.record import read_results
    from core.screening.store import list_screenings

    data = tmp_path / "data"
    assert main(["screening", "run", str(DEMO_SESSION), "--subject", "P-5", "--starts", "7.5", "17.5",
                 "--data", str(data)]) == 0
    (listed,) = list_screenings(data)
    rows = read_results(listed.path / "session")
    win, ctrl, _ = make_window()  # the tiny model: a re-score would give other numbers
    assert win.replay_screening(listed.path)
    assert ctrl.scorer.backend == "recorded"
    ctrl.set_speed(4.0)
    qtbot.waitUntil(lambda: ctrl.ended and len(win.score_plot.raw) >= len(rows), timeout=40000)
    y = np.array(list(win.score_plot.raw), dtype=float)
    want = np.array([float(r["spader"]) if r["spader"] else np.nan for r in rows])
    np.testing.assert_allclose(y[-len(want):], want, atol=1e-6, equal_nan=True)
    assert list(win.score_plot.verdicts)[-len(rows):] == [r["verdict"] for r in rows]
    assert win.score_plot.attempt_labels == ["attempt 1: not imitated", "attempt 2: imitated"]
    # a model opened during the replay changes nothing on show; it is the one a re-score uses
    from core.spader.checkpoint import load_model

    win.controller.set_model(load_model(DEFAULT_MODEL))
    assert ctrl.scorer.backend == "recorded" and ctrl.scoring_error is None
    # re-scoring is its own action: the new scores, and beside them what was recorded
    assert win.act_screen_rescore.isEnabled() and win.rescore_screening()
    assert ctrl.scorer.backend != "recorded" and ctrl.rescoring
    qtbot.waitUntil(lambda: ctrl.ended and len(win.score_plot.raw) >= len(rows) and ctrl.worker.idle, timeout=60000)
    win.score_plot.redraw()
    screened = np.array(list(win.score_plot.screened), dtype=float)[-len(rows):]
    want_sm = np.array([float(r["smoothed"]) if r["smoothed"] else np.nan for r in rows])
    np.testing.assert_allclose(screened, want_sm, atol=1e-6, equal_nan=True)
    assert list(win.score_plot.screened_verdicts)[-len(rows):] == [r["verdict"] for r in rows]
    x, y = win.score_plot.screened_curve.getData()
    assert x is not None and np.isfinite(y).sum() > 100  # the dashed line is drawn
    assert "as screened" in win.score_plot.getPlotItem().titleLabel.text
    assert ctrl.compared[0] == len(rows)  # every frame compared
    assert win.score_plot.attempt_labels == ["attempt 1: not imitated", "attempt 2: imitated"]
    qtbot.waitUntil(lambda: win.banner.has("rescore"), timeout=5000)
    assert f"Re-scored {len(rows)} frames" in win.banner.messages["rescore"][1]
    assert f"when it was screened on {ctrl.compared[1]} " in win.banner.messages["rescore"][1]
    assert "as screened:" in win.verdict_panel.detail_label.text()
    # any other source is scored again by the model
    assert win.open_recording(DEMO_SESSION) and ctrl.scorer.backend != "recorded"
    qtbot.waitUntil(lambda: win.score_plot.attempt_labels == [], timeout=10000)
    assert not ctrl.rescoring and "as screened" not in win.score_plot.getPlotItem().titleLabel.text


def test_a_camera_lost_during_an_attempt_interrupts_it_and_offers_it_again(make_window, qtbot, tmp_path: Path) -> None:
    from app_support import flaky_camera

    data = tmp_path / "data"
    win, ctrl, _ = make_window()
    win.settings.set("screening/data_dir", str(data))
    cam = flaky_camera()
    win.open_source_object(cam, label="Fake camera", kind="camera")
    qtbot.waitUntil(lambda: len(ctrl.delivered) > 3, timeout=20000)
    assert win.start_screening("P-8", protocol_path=str(_protocol(tmp_path)))
    sc = ctrl.screening
    qtbot.waitUntil(lambda: sc.last_t is not None, timeout=10000)
    win.act_play.trigger()  # Space (no countdown in this protocol)
    qtbot.waitUntil(lambda: str(sc.phase) == "running", timeout=5000)
    cam.unplug()
    qtbot.waitUntil(lambda: str(sc.phase) == "outcome", timeout=10000)
    a = sc.screening.last_attempt
    assert a.outcome.value == "interrupted" and a.note == "camera lost"
    assert sc.screening.can_retry() and sc.screening.attempts_left() == 2  # it does not count
    qtbot.waitUntil(lambda: win.screening_panel.state[1] == "interrupted (camera lost)", timeout=5000)
    assert "Space: retry" in win.screening_panel.state[3]
    cam.plug_back()
    win.end_screening()
    assert sc.closed


def test_a_full_disk_during_an_attempt_stops_the_screening_and_keeps_what_was_written(
        make_window, qtbot, tmp_path: Path, monkeypatch) -> None:
    from app_support import flaky_camera
    from disk_support import FullDisk

    from core.screening.record import read_events, read_results
    from core.screening.store import list_screenings

    data = tmp_path / "data"
    win, ctrl, _ = make_window()
    win.settings.set("screening/data_dir", str(data))
    cam = flaky_camera()
    win.open_source_object(cam, label="Fake camera", kind="camera")
    qtbot.waitUntil(lambda: len(ctrl.delivered) > 3, timeout=20000)
    assert win.start_screening("P-8", protocol_path=str(_protocol(tmp_path)))
    sc = ctrl.screening
    win.act_play.trigger()  # Space (no countdown in this protocol)
    qtbot.waitUntil(lambda: str(sc.phase) == "running" and (sc.last_t or 0) > 0.5, timeout=10000)
    disk = FullDisk(monkeypatch, data)
    before = read_results(sc.folder.session_path)
    disk.fill()
    qtbot.waitUntil(lambda: sc.closed, timeout=10000)
    assert sc.screening.last_attempt.outcome.value == "interrupted"
    assert "recording failed" in sc.screening.last_attempt.note
    assert ctrl.recorder is None and win.act_screen_start.isEnabled()
    assert win.banner.has("screening") and "No space left on device" in win.banner.messages["screening"][1]
    assert "kept" in win.banner.messages["screening"][1]
    disk.free()
    (listed,) = list_screenings(data)
    assert listed.status == "interrupted"
    session = listed.path / "session"
    after = read_results(session)  # what was written before the disk filled stays
    assert before and after[:len(before)] == before
    assert [e["event"] for e in read_events(session)] == ["attempt_started"]  # the end never reached the disk
    # with space again, a new screening starts and the banner goes
    assert win.start_screening("P-8", protocol_path=str(_protocol(tmp_path))) and not win.banner.has("screening")
    win.end_screening()


def test_an_attempt_cut_by_the_end_of_the_recording_ends_at_its_last_judged_frame(make_window, qtbot, tmp_path: Path) -> None:
    from core.screening.record import read_results

    data = tmp_path / "data"
    win, ctrl, _ = make_window()
    win.settings.set("screening/data_dir", str(data))
    assert win.open_recording(DEMO_SESSION)
    win.transport.loop_box.setChecked(False)
    ctrl.set_speed(4.0)  # frames queue for scoring when the recording ends
    assert win.start_screening("P-7", protocol_path=str(_protocol(tmp_path)))
    sc = ctrl.screening
    qtbot.waitUntil(lambda: (sc.last_t or 0) >= 20.2, timeout=30000)
    win.act_play.trigger()  # Space: 0.8 s before the end, too short for the 1 s hold
    qtbot.waitUntil(lambda: str(sc.phase) == "outcome", timeout=20000)
    a = sc.screening.last_attempt
    assert a.outcome.value == "interrupted" and a.note == "the recording ended"
    win.act_play.trigger()  # a retry after the end has no frames: it ends at once, said the same way
    qtbot.waitUntil(lambda: str(sc.phase) == "outcome" and len(sc.screening.attempts["pigeon"]) == 2, timeout=5000)
    assert sc.screening.last_attempt.note == "the recording ended"
    win.end_screening()
    rows = read_results(sc.folder.session_path)
    assert a.end_t == pytest.approx(float(rows[-1]["t_s"]), abs=1e-6)  # every frame read was judged first
    assert len(rows) == 210 - int(rows[0]["index"])


def test_opening_another_source_during_a_screening_asks_first(make_window, qtbot, tmp_path: Path, monkeypatch) -> None:
    from app import dialogs
    from core.screening.store import list_screenings

    data = tmp_path / "data"
    win, ctrl, _ = make_window()
    win.settings.set("screening/data_dir", str(data))
    assert win.open_recording(DEMO_SESSION)
    assert win.start_screening("P-6", protocol_path=str(_protocol(tmp_path)))
    sc = ctrl.screening
    asked = []
    monkeypatch.setattr(dialogs, "confirm", lambda *a, **k: asked.append(a[2]) or False)
    assert not win.open_recording(DEMO_SESSION) and not win.replay_screening(sc.folder.path)
    assert len(asked) == 2 and "kept as interrupted" in asked[0] and not sc.closed  # Cancel: nothing changed
    monkeypatch.setattr(dialogs, "confirm", lambda *a, **k: True)
    assert win.open_recording(DEMO_SESSION) and sc.closed
    (listed,) = list_screenings(data)
    assert listed.status == "interrupted"
