"""Threshold tuning in the window (pytest-qt, offscreen): label ranges of a replayed
session, tune in the dialog, apply; the verdict and the status bar follow; after a restart
the calibration is in force and named; a manual override after it is shown as one and is
in the audit trail. And the dialog and `spader tune` agree."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from app_support import *  # noqa: F401,F403  (fixtures)
from core.assets import DEFAULT_MODEL, DEMO_SESSION

pytestmark = pytest.mark.slow


def _runs(labels_csv: Path) -> list[tuple[int, int, str]]:
    """The demo's ground truth as runs of equal class: (first, last, class)."""
    rows = [(int(r["index"]), r["class"]) for r in csv.DictReader(open(labels_csv))]
    out, start = [], 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i][1] != rows[start][1]:
            out.append((rows[start][0], rows[i - 1][0], rows[start][1]))
            start = i
    return out


def _seek(ctrl, qtbot, index: int) -> None:
    ctrl.seek(index)
    qtbot.waitUntil(lambda: ctrl.position == index, timeout=10000)


def test_label_tune_apply_restart_and_override_in_the_window(make_window, qtbot, tmp_path: Path, dialogs_seen) -> None:
    from core.screening.audit import verify
    from core.spader.checkpoint import load_model
    from core.tuning.labels import read_labels

    session = tmp_path / "demo-session"
    shutil.copytree(DEMO_SESSION, session)
    settings = tmp_path / "settings.ini"
    data = tmp_path / "data"
    model = load_model(DEFAULT_MODEL)
    win, ctrl, _ = make_window(model=model, settings_path=settings)
    win.settings.set("screening/data_dir", str(data))
    win.settings.set("operator/remember", True)  # one operator's machine: op-3 again after the restart
    win.settings.set("recording/operator", "op-3")
    assert "model default" in win.status_labels["model"].text()
    assert win.open_recording(session)
    qtbot.waitUntil(lambda: win.labels_box.isVisible() and ctrl.position is not None, timeout=10000)
    ctrl.pause()
    # label the demo's poses as an operator would: in, out, with the class picked
    runs = [r for r in _runs(session / "labels.csv") if r[2] != "transition"]
    for first, last, cls in runs:
        _seek(ctrl, qtbot, first)
        win.act_label_in.trigger()
        _seek(ctrl, qtbot, last)
        win.labels_box.class_combo.setCurrentText("normal" if cls == "pigeon" else cls)
        win.act_label_out.trigger()
    lab = read_labels(session)
    assert [(r.start, r.end, r.label) for r in lab.ranges] == [
        (a, b, "normal" if c == "pigeon" else c) for a, b, c in runs] and lab.labeller == "op-3"
    assert win.label_strip.ranges and "saved in labels.json" in win.labels_box.status.text()
    # tune: the session on show is among the dialog's data
    dlg = win.make_tune_dialog()
    qtbot.addWidget(dlg)
    assert dlg.sessions() == [str(session)]
    assert dlg.normal_edit.text() == "pigeon"  # the model's normal class: the label "normal" is it
    dlg.set_rule("specificity=0.9")
    dlg.start()
    assert dlg.wait(120) and dlg.result is not None, dlg.status.text()
    assert dlg.result.specificity >= 0.9 and "normals kept" in dlg.table.toPlainText()
    x, y = dlg.roc_curve.getData()
    assert len(x) > 5 and dlg.hist_line.value() == pytest.approx(dlg.result.threshold)
    tuned = dlg.result.threshold
    # dragging the threshold on the histogram gives that threshold's rates
    dlg.set_manual(tuned - 0.2)
    assert dlg.wait(60) and dlg.result.rule.kind == "manual" and dlg.result.threshold == pytest.approx(tuned - 0.2)
    dlg.set_rule("cost=3")
    dlg.set_rule("specificity=0.9")  # asked while the last one runs: the newest wins
    assert dlg.wait(60) and dlg.result.threshold == pytest.approx(tuned) and str(dlg.result.rule) == "specificity=0.9"
    path = dlg.apply()
    assert path is not None and path.parent == data / "calibrations"
    assert win.apply_calibration(path)
    assert ctrl.threshold == pytest.approx(tuned) and ctrl.tracker.settings.threshold == pytest.approx(tuned)
    assert "tuned" in win.status_labels["model"].text() and "by op-3" in win.status_labels["model"].text()
    assert "specificity" in win.verdict_panel.detail_label.text()
    # a calibration for another model is refused with a message
    from support import tiny_model

    calib = json.loads(path.read_text())
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**calib, "model": {**calib["model"], "sha256": "0" * 64}}))
    assert not win.apply_calibration(other) and "tuned for another model" in dialogs_seen[-1][2]
    assert ctrl.threshold == pytest.approx(tuned)
    # a screening uses the calibrated threshold for its task model, and records it so
    assert win.start_screening("P-1", operator="op-3")
    assert ctrl.threshold == pytest.approx(tuned) and ctrl.tracker.settings.threshold == pytest.approx(tuned)
    header = json.loads((ctrl.screening.folder.path / "screening.json").read_text())
    m = header["models"]["pigeon"]
    assert m["threshold"] == pytest.approx(tuned) and m["threshold_source"] == "calibration" and "tuned" in m["threshold_note"]
    win.end_screening()
    win.save_settings()
    win.shutdown()

    # a restart: the calibration is in force, and said where the threshold is shown
    win2, ctrl2, _ = make_window(model=model, settings_path=settings)
    assert ctrl2.threshold == pytest.approx(tuned) and win2.threshold_source.kind == "calibration"
    assert "tuned" in win2.status_labels["model"].text() and "tuned" in win2.verdict_panel.detail_label.text()
    # a manual override after it is shown as one, and every change is in the audit trail
    win2.threshold_spin.setValue(tuned + 0.1)
    assert "manual override by op-3" in win2.status_labels["model"].text()
    entries = [json.loads(line) for line in (data / "audit.jsonl").read_text().splitlines()]
    changes = [e for e in entries if e["event"] == "threshold_changed"]
    assert [c["data"]["source"] for c in changes] == ["calibration", "manual"]
    assert changes[0]["data"]["new"] == pytest.approx(tuned) and changes[0]["actor"] == "op-3"
    assert changes[1]["data"]["old"] == pytest.approx(tuned) and changes[1]["data"]["new"] == pytest.approx(round(tuned + 0.1, 3))
    assert "calibration" in changes[0]["data"]["why"] and changes[1]["data"]["why"] == "set by hand in the window"
    assert verify(data).ok
    win2.reset_threshold()
    assert "model default" in win2.status_labels["model"].text() and ctrl2.threshold == pytest.approx(model.threshold)


def test_the_dialog_and_spader_tune_give_the_same_threshold(make_window, qtbot, tmp_path: Path, capsys) -> None:
    from core.cli.main import main
    from core.spader.checkpoint import load_model
    from core.tuning.calibration import read_calibration

    synth = tmp_path / "synth"  # the bundled model's data set, made again small: 1 frame per subject and class
    assert main(["synth", "dataset", str(synth), "--subjects", "50", "--frames-per-class", "50", "--seed", "1",
                 "--depth-mode", "NFOV_2X2BINNED", "--workers", "1"]) == 0
    out = tmp_path / "cli.json"
    assert main(["tune", "--data", str(synth), "--split", "val", "--rule", "sensitivity=0.95", "--out", str(out)]) == 0
    cli = read_calibration(out)
    win, _, _ = make_window(model=load_model(DEFAULT_MODEL))
    dlg = win.make_tune_dialog()
    qtbot.addWidget(dlg)
    dlg.data_edit.setText(str(synth))
    dlg.split_combo.setCurrentIndex(dlg.split_combo.findData("val"))
    dlg.set_rule("sensitivity=0.95")
    dlg.start()
    assert dlg.wait(120), dlg.status.text()
    assert dlg.result.threshold == cli["threshold"]
    assert dlg.result.frames["subjects"] == cli["data"]["subjects"] == 8


def test_a_screenings_attempts_are_judged_in_replay_and_scoring_can_be_cancelled(make_window, qtbot, tmp_path: Path) -> None:
    from core.cli.main import main
    from core.screening.store import list_screenings
    from core.spader.checkpoint import load_model
    from core.tuning.labels import read_labels

    data = tmp_path / "data"
    assert main(["screening", "run", str(DEMO_SESSION), "--subject", "P-5", "--starts", "7.5", "17.5",
                 "--data", str(data)]) == 0
    (listed,) = list_screenings(data)
    win, ctrl, _ = make_window(model=load_model(DEFAULT_MODEL))
    assert win.replay_screening(listed.path)
    qtbot.waitUntil(lambda: win.labels_box.isVisible(), timeout=10000)
    assert win.labels_box.judge_button.isEnabled()
    assert win.judge_attempts(judgements={"pigeon:1": "not_imitated", "pigeon:2": "imitated"})
    assert read_labels(listed.path / "session").attempts == {"pigeon:1": "not_imitated", "pigeon:2": "imitated"}
    assert "2 attempts judged" in win.labels_box.status.text()
    # Cancel stops the scoring; the dialog says so and nothing is applied
    dlg = win.make_tune_dialog()
    qtbot.addWidget(dlg)
    assert dlg.sessions() == [str(listed.path / "session")]
    dlg.normal_edit.setText("pigeon")
    dlg.start()
    dlg.cancel_button.click()
    assert not dlg.wait(60) and dlg.status.text() == "Cancelled." and not dlg.apply_button.isEnabled()
