"""The screening window: sources, the plot and verdict against the worker's results,
overlays, the threshold, shortcuts, settings, errors (pytest-qt, offscreen)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app_support import (  # noqa: F401 - fixtures
    dialogs_seen,
    grab,
    image_array,
    make_window,
    small_session,
    write_session,
    hand_frames,
)

pytestmark = pytest.mark.timeout(60)


def finished(ctrl, n):
    return lambda: ctrl.ended and len(ctrl.delivered) >= n


def test_no_camera_starts_on_the_demo_session(make_window, small_session):
    win, ctrl, _ = make_window(demo_path=small_session)
    win.start(None)
    assert ctrl.desc.kind == "demo" and ctrl.desc.label == "Demo session"
    assert "No camera found" in win.banner.text


def test_missing_demo_falls_back_to_synthetic_with_a_message(make_window, qtbot, tmp_path):
    win, ctrl, _ = make_window(demo_path=tmp_path / "missing")
    win.start(None)
    assert ctrl.desc.kind == "synthetic"
    assert "demo session is missing" in win.banner.text
    qtbot.waitUntil(lambda: win.depth_view.frames_drawn > 3, timeout=10000)


def test_camera_is_used_when_one_is_listed(make_window, monkeypatch):
    from app.controller import Controller

    class Cam:
        index, serial = 0, "000123"

    opened = []
    monkeypatch.setattr(Controller, "open", lambda self, spec, **kw: opened.append(spec))
    win, ctrl, _ = make_window(list_cameras=lambda: [Cam()])
    win.start(None)
    assert opened == ["kinect:0"]


def test_plot_and_verdict_show_exactly_what_the_worker_published(make_window, qtbot, small_session):
    win, ctrl, spies = make_window()
    assert win.open_recording(small_session)
    qtbot.waitUntil(finished(ctrl, 65), timeout=30000)
    qtbot.wait(300)  # the plot redraws at most 10 times a second
    spy = spies[0]
    produced = sorted(spy.results, key=lambda r: r.index)
    assert [r.index for r in produced] == list(range(65)), "replay mode scores every frame once, in order"
    # the plotted raw curve is the scorer's SPADER score of every frame (NaN without a hand)
    x, y = win.score_plot.plotted_raw()
    assert len(y) == 65
    expected = np.array([np.nan if r.score is None else r.score for r in produced])
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-9, equal_nan=True)
    assert np.all(np.diff(x) > 0)
    # the smoothed curve and the verdict bands come from the worker's verdict states
    _, ys = win.score_plot.smooth_curve.getData()
    exp_s = np.array([np.nan if r.verdict.smoothed is None else r.verdict.smoothed for r in produced])
    np.testing.assert_allclose(ys, exp_s, atol=1e-9, equal_nan=True)
    assert list(win.score_plot.verdicts) == [r.verdict.verdict.value for r in produced]
    # the big indicator shows the last verdict; the wall at the end means NO HAND
    last = produced[-1]
    assert win.verdict_panel.verdict == last.verdict.verdict.value == "NO HAND"
    assert not last.has_hand
    assert any(r.has_hand for r in produced)


def test_threshold_change_is_followed_by_the_verdict(make_window, qtbot, small_session):
    win, ctrl, spies = make_window()
    win.transport.loop_box.setChecked(True)
    assert win.open_recording(small_session)
    qtbot.waitUntil(lambda: any(r.has_hand for r in spies[0].results), timeout=20000)
    scores = [r.score for r in spies[0].results if r.has_hand]
    win.threshold_spin.setValue(round(max(scores)) + 50.0)  # nothing can be normal now
    assert ctrl.threshold == pytest.approx(round(max(scores)) + 50.0)
    assert win.score_plot.threshold_line.value() == pytest.approx(ctrl.threshold)
    qtbot.waitUntil(lambda: win.verdict_panel.verdict == "ANOMALY", timeout=20000)
    win.threshold_spin.setValue(round(min(scores)) - 50.0)
    qtbot.waitUntil(lambda: win.verdict_panel.verdict == "NORMAL", timeout=20000)
    # dragging the threshold line sets the spin box (and the threshold)
    win.score_plot.threshold_line.setValue(1.25)
    win.score_plot.threshold_line.sigPositionChangeFinished.emit(win.score_plot.threshold_line)
    assert win.threshold_spin.value() == pytest.approx(1.25) and ctrl.threshold == pytest.approx(1.25)


def test_switching_the_overlay_changes_the_picture(make_window, qtbot, small_session):
    win, ctrl, _ = make_window()
    win.set_overlay("cam")
    assert win.open_recording(small_session)
    qtbot.waitUntil(lambda: ctrl.info is not None and ctrl.last_result is not None, timeout=20000)
    ctrl.pause()
    ctrl.seek(10)  # paused: shows exactly frame 10
    qtbot.waitUntil(lambda: ctrl.last_result is not None and ctrl.last_result.index == 10, timeout=10000)
    qtbot.wait(150)
    assert ctrl.last_result.has_hand and win.depth_view.overlay_item.isVisible()
    with_cam = image_array(grab(win.depth_view))
    win.set_overlay("none")
    assert not win.depth_view.overlay_item.isVisible()
    plain = image_array(grab(win.depth_view))
    win.set_overlay("weighted_loss")
    weighted = image_array(grab(win.depth_view))
    win.cycle_overlay()  # -> back to "none"
    assert win.depth_view.overlay_name == "none"
    plain_again = image_array(grab(win.depth_view))
    changed = np.any(with_cam != plain, axis=-1).mean()
    assert changed > 0.002, "the Grad-CAM overlay must tint part of the image"
    assert np.any(weighted != with_cam)
    np.testing.assert_array_equal(plain, plain_again)
    # the opacity slider matters too
    win.set_overlay("cam")
    win.opacity_slider.setValue(100)
    strong = image_array(grab(win.depth_view))
    win.opacity_slider.setValue(10)
    weak = image_array(grab(win.depth_view))
    assert np.abs(strong.astype(int) - plain.astype(int)).sum() > np.abs(weak.astype(int) - plain.astype(int)).sum()


def test_stepping_and_seeking_a_paused_recording(make_window, qtbot, small_session):
    win, ctrl, _ = make_window()
    assert win.open_recording(small_session)
    qtbot.waitUntil(lambda: ctrl.info is not None and ctrl.position is not None, timeout=20000)
    ctrl.pause()
    ctrl.seek(20)
    qtbot.waitUntil(lambda: ctrl.last_result is not None and ctrl.last_result.index == 20, timeout=10000)
    win.act_next.trigger()
    qtbot.waitUntil(lambda: ctrl.last_result.index == 21, timeout=10000)
    win.act_prev.trigger()
    win.act_prev.trigger()
    qtbot.waitUntil(lambda: ctrl.position == 19 and ctrl.last_result.index == 19, timeout=10000)
    assert not ctrl.playing
    assert win.transport.slider.value() == 19 and "20 / 65" in win.transport.position_label.text()
    win.transport.speed_box.setCurrentIndex(4)  # 4x
    assert win.settings.get("playback/speed") == 4.0


def test_keyboard_shortcuts(make_window, qtbot, small_session, monkeypatch, tmp_path):
    from app import dialogs

    win, ctrl, _ = make_window()
    assert win.open_recording(small_session)
    qtbot.waitUntil(lambda: ctrl.info is not None, timeout=20000)
    win.activateWindow()
    assert ctrl.playing
    qtbot.keyClick(win, Qt.Key_Space)
    assert not ctrl.playing
    qtbot.keyClick(win, Qt.Key_Space)
    assert ctrl.playing
    qtbot.keyClick(win, Qt.Key_O)
    assert win.depth_view.overlay_name == "loss"  # cam -> loss
    qtbot.keyClick(win, Qt.Key_0)
    assert win.depth_view.overlay_name == "none"
    qtbot.keyClick(win, Qt.Key_B)
    assert not win.depth_view.show_box

    class FakeRecordDialog:
        def __init__(self, parent, root, operator=""):
            self.root = root

        def exec(self):
            return 1

        def values(self):
            return "P-0042", "op", tmp_path / "rec"

    monkeypatch.setattr(dialogs, "RecordDialog", FakeRecordDialog)
    qtbot.keyClick(win, Qt.Key_R)
    assert ctrl.recording and win.act_record.isChecked()
    qtbot.waitUntil(lambda: ctrl.recorder.written > 2, timeout=10000)
    qtbot.keyClick(win, Qt.Key_R)
    assert not ctrl.recording and not win.act_record.isChecked()
    assert (tmp_path / "rec" / "session.json").is_file()


def test_settings_are_remembered(make_window, tmp_path):
    ini = tmp_path / "remember.ini"
    win, ctrl, _ = make_window(settings_path=ini)
    win.set_overlay("loss")
    win.opacity_slider.setValue(35)
    win.box_check.setChecked(False)
    win.threshold_spin.setValue(0.75)
    win.resize(1000, 700)
    win.shutdown()
    win2, ctrl2, _ = make_window(settings_path=ini)
    assert win2.depth_view.overlay_name == "loss"
    assert win2.overlay_combo.currentData() == "loss"
    assert win2.opacity_slider.value() == 35
    assert not win2.box_check.isChecked()
    assert ctrl2.threshold == pytest.approx(0.75)  # remembered for this model name
    assert ini.is_file()


def test_bad_files_get_an_error_dialog_not_a_crash(make_window, qtbot, tmp_path, dialogs_seen):
    win, ctrl, _ = make_window()
    assert not win.open_recording(tmp_path / "missing.mkv")
    assert len(dialogs_seen) == 1 and "no such file" in dialogs_seen[0][2]
    # an MKV that is not one
    junk = tmp_path / "junk.mkv"
    junk.write_bytes(b"not a matroska file at all")
    win.open_recording(junk)
    qtbot.waitUntil(lambda: len(dialogs_seen) >= 2, timeout=10000)
    # a session whose header is damaged
    bad = tmp_path / "bad-session"
    bad.mkdir()
    (bad / "session.json").write_text("{ this is not json")
    win.open_recording(bad)
    qtbot.waitUntil(lambda: len(dialogs_seen) >= 3, timeout=10000)
    assert all(kind == "critical" for kind, _, _ in dialogs_seen)
    assert all("Cannot open" in title for _, title, _ in dialogs_seen)
    assert any("bad-session" in text for _, _, text in dialogs_seen)
    # the window still works afterwards
    win.open_synthetic()
    qtbot.waitUntil(lambda: win.depth_view.frames_drawn > 2, timeout=10000)


def test_no_model_shows_frames_and_says_why(make_window, qtbot, dialogs_seen):
    from app.controller import Controller
    from app.main_window import MainWindow

    win, ctrl, _ = make_window(model=None)
    win._no_scoring("the bundled default model is missing")
    win.open_synthetic()
    qtbot.waitUntil(lambda: win.depth_view.frames_drawn > 2, timeout=10000)
    assert ctrl.worker is None and ctrl.scorer is None
    assert win.verdict_panel.verdict == "NO MODEL"
    assert "No scores" in win.banner.text and "bundled default model is missing" in win.banner.text
    assert not dialogs_seen
    # a damaged model file: a dialog, and still no crash
    assert not win.load_model(__file__)
    assert dialogs_seen and dialogs_seen[-1][1] == "Cannot open the model"


def test_status_bar_and_benchmark_counters(make_window, qtbot, small_session):
    from app.benchmark import format_report, run_benchmark

    win, ctrl, _ = make_window()
    win.transport.loop_box.setChecked(True)
    assert win.open_recording(small_session)
    report = run_benchmark(win, 1.5, warmup_s=0.5)
    assert report["display_fps"] > 5 and report["capture_fps"] > 5 and report["scoring_fps"] > 5
    assert report["latency_ms"]["p50"] is not None and report["dropped"] == 0  # replay drops nothing
    assert "display fps" in format_report(report)
    win._update_status()
    assert win.status_labels["display"].text().startswith("display")
    assert "tiny-test" in win.status_labels["model"].text()
    # where the networks run, and on what: the exported graph on onnxruntime
    assert win.status_labels["device"].text() == "CPU · ONNX"
    assert "onnxruntime CPU" in win.status_labels["device"].toolTip()
    assert report["backend"].startswith("onnxruntime CPU") and not report["backend_note"]


def test_the_status_bar_says_when_scoring_fell_back_to_pytorch(make_window, qtbot, small_session, monkeypatch) -> None:
    from core.runtime import backends

    monkeypatch.setattr(backends, "installed", lambda key: key == "torch")
    win, ctrl, _ = make_window()
    assert win.open_recording(small_session)
    win._update_status()
    assert win.status_labels["device"].text() == "CPU · PyTorch"
    tip = win.status_labels["device"].toolTip()
    assert "onnxruntime is not installed: scoring with PyTorch (slower)" in tip
    assert "scoring with PyTorch" in win.statusBar().currentMessage()


def _depth_pngs(folder: Path, n: int = 4) -> None:
    import cv2

    folder.mkdir(parents=True)
    for i in range(n):
        img = np.full((96, 96), 2000, np.uint16)
        img[30:60, 30:60] = 900
        cv2.imwrite(str(folder / f"s0000_{i:05d}.png"), img)


def test_a_data_sets_class_folder_opens_without_asking_its_unit(make_window, qtbot, tmp_path, dialogs_seen, monkeypatch):
    """The data set's dataset.json gives the unit; a folder with none, where nobody can
    answer the unit dialog (a --benchmark run), fails with a message instead of hanging."""
    from app import dialogs

    monkeypatch.setattr(dialogs, "NON_INTERACTIVE", True)
    _depth_pngs(tmp_path / "ds" / "pigeon")
    (tmp_path / "ds" / "dataset.json").write_text(json.dumps({"unit_mm": 1.0}))
    _depth_pngs(tmp_path / "loose")
    win, ctrl, _ = make_window()
    assert not win.open_recording(tmp_path / "loose")
    assert win.open_recording(tmp_path / "ds" / "pigeon")
    qtbot.waitUntil(lambda: win.depth_view.frames_drawn >= 1, timeout=10000)


def test_a_replay_slower_to_score_than_to_read_still_draws_every_scored_frame(make_window, qtbot, small_session):
    """The window draws the newest result at each tick; results that came as one batch were
    drawn one in four (3.6 of 14 fps with a three-regressor model), so replay scores one
    frame at a time."""
    win, ctrl, _ = make_window(score_delay_s=0.05)  # slower than the session's 30 fps: the replay queue fills
    assert win.open_recording(small_session)
    qtbot.waitUntil(finished(ctrl, 65), timeout=30000)
    assert ctrl.worker.stats.scored == 65
    assert ctrl.worker.stats.batches == 65
