"""The window as a clinician meets it (issue #27): the seek bar jumps where clicked, the
demo loops only when asked, the developer's stream is out of the clinician's way, Enter
or Esc hands the keys back after typing a threshold, quitting while recording asks, the
title names the subject and a recording, and a shared machine does not offer the last
operator's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from app_support import *  # noqa: F401,F403  (fixtures)


def test_clicking_the_seek_bars_track_jumps_there(make_window, qtbot, small_session) -> None:
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    win, ctrl, _ = make_window()
    assert win.open_recording(small_session)
    qtbot.waitUntil(lambda: win.transport.slider.maximum() > 10, timeout=10000)
    ctrl.pause()
    s = win.transport.slider
    seen = []
    win.transport.seek.connect(seen.append)
    QTest.mouseClick(s, Qt.LeftButton, pos=QPoint(int(s.width() * 0.8), s.height() // 2))
    assert seen and abs(seen[-1] - 0.8 * s.maximum()) <= 0.08 * s.maximum()  # not 10 frames on


def test_the_demo_loops_only_when_loop_is_ticked(make_window, small_session) -> None:
    win, ctrl, _ = make_window(demo_path=small_session)
    win.transport.loop_box.setChecked(False)
    win.open_demo()
    assert ctrl.source.loop is False
    win.transport.loop_box.setChecked(True)
    win.open_demo()
    assert ctrl.source.loop is True


def test_the_synthetic_stream_is_a_developers_entry(make_window) -> None:
    win, _, _ = make_window()
    source_menu = next(a.menu() for a in win.menuBar().actions() if a.text() == "&Source")
    top = [a for a in source_menu.actions() if a.menu() is None]
    assert win.act_synth not in top
    dev = next(a.menu() for a in source_menu.actions() if a.menu() is not None)
    assert win.act_synth in dev.actions() and "ANOMALY" in win.act_synth.text()


@pytest.mark.parametrize("key", ["Return", "Escape"])
def test_enter_or_esc_in_the_threshold_box_hands_the_keys_back(make_window, qtbot, key: str) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    win, ctrl, _ = make_window()
    win.activateWindow()
    win.threshold_spin.setFocus()
    qtbot.waitUntil(win.threshold_spin.hasFocus, timeout=3000)
    before = ctrl.threshold
    win.threshold_spin.lineEdit().selectAll()
    QTest.keyClicks(win.threshold_spin.lineEdit(), "0.250")
    QTest.keyClick(win.threshold_spin, getattr(Qt, f"Key_{key}"))
    assert not win.threshold_spin.hasFocus()
    if key == "Return":
        assert ctrl.threshold == pytest.approx(0.25)
    else:  # Esc drops what was typed
        assert ctrl.threshold == pytest.approx(before) and win.threshold_spin.value() == pytest.approx(before)


def test_quitting_while_recording_asks_and_says_what_is_kept(make_window, qtbot, small_session, tmp_path: Path,
                                                            monkeypatch) -> None:
    from app import dialogs

    win, ctrl, _ = make_window()
    assert win.open_recording(small_session)
    qtbot.waitUntil(lambda: len(ctrl.delivered) > 2, timeout=10000)
    ctrl.start_recording(tmp_path / "rec", "P-3")
    assert "● recording" in win.windowTitle()
    asked = []
    monkeypatch.setattr(dialogs, "confirm", lambda *a, **k: asked.append(a[2]) or False)
    win.close()
    assert win.isVisible() and ctrl.recording and "is kept" in asked[0] and "quitting stops it" in asked[0]
    monkeypatch.setattr(dialogs, "confirm", lambda *a, **k: True)
    win.close()
    assert not ctrl.recording and (tmp_path / "rec" / "session.json").exists()


def test_the_title_names_the_subject_on_screen(make_window, qtbot, small_session) -> None:
    win, ctrl, _ = make_window()
    assert win.open_recording(small_session)
    qtbot.waitUntil(lambda: ctrl.info is not None, timeout=10000)
    sid = (ctrl.info.extra or {}).get("subject_id")
    if sid:
        assert f"subject {sid}" in win.windowTitle()
    assert win.windowTitle().startswith("SPADER")


def test_a_shared_machine_does_not_offer_the_last_operator(make_window, tmp_path: Path) -> None:
    settings = tmp_path / "shared.ini"
    win, _, _ = make_window(settings_path=settings)
    win.settings.set("recording/operator", "op-1")
    win.save_settings()
    win.shutdown()
    win2, _, _ = make_window(settings_path=settings)
    assert win2.settings.get("recording/operator") == ""
    win2.settings.set("operator/remember", True)
    win2.settings.set("recording/operator", "op-2")
    win2.shutdown()
    win3, _, _ = make_window(settings_path=settings)
    assert win3.settings.get("recording/operator") == "op-2"  # remembered when asked to


def test_the_tracker_says_which_verdict_is_coming_and_when() -> None:
    from core.runtime.verdict import Verdict, VerdictSettings, VerdictTracker

    tr = VerdictTracker(VerdictSettings(threshold=0.0, smoothing_s=0.0, normal_hold_s=1.0, anomaly_hold_s=1.0))
    st = tr.update(0.0, 0.5)
    assert st.verdict is Verdict.PENDING and st.pending is Verdict.NORMAL and st.pending_in_s == pytest.approx(1.0)
    st = tr.update(0.6, 0.5)
    assert st.pending_in_s == pytest.approx(0.4)
    st = tr.update(1.0, 0.5)
    assert st.verdict is Verdict.NORMAL and st.pending is None
    st = tr.update(1.1, -0.5)  # the score says ANOMALY; the verdict holds for 1 s
    assert st.verdict is Verdict.NORMAL and st.pending is Verdict.ANOMALY and st.pending_in_s == pytest.approx(1.0)


def test_the_panel_explains_a_verdict_the_numbers_contradict(make_window, qtbot, small_session) -> None:
    win, ctrl, _ = make_window()
    assert win.open_recording(small_session)
    qtbot.waitUntil(lambda: "→" in win.verdict_panel.detail_label.text(), timeout=10000)
    assert "hold time" in win.verdict_panel.detail_label.text()


def test_a_recording_shorter_than_the_hold_time_says_so_at_its_end(make_window, qtbot, tmp_path: Path) -> None:
    from app_support import hand_frames, write_session

    short = write_session(tmp_path / "short", hand_frames(12))  # 0.4 s: no verdict can be held for 1 s
    win, ctrl, _ = make_window()
    win.transport.loop_box.setChecked(False)
    assert win.open_recording(short)
    qtbot.waitUntil(lambda: win.banner.has("end"), timeout=15000)
    text = win.banner.messages["end"][1]
    assert "ended before a verdict could be held" in text and "last 0." in text
    assert win.verdict_panel.verdict == "PENDING" and "recording ended" in win.verdict_panel.detail_label.text()


def test_while_paused_a_new_threshold_shows_at_once_in_the_panel_and_the_bands(make_window, qtbot, small_session) -> None:
    win, ctrl, _ = make_window()
    win.transport.loop_box.setChecked(False)
    assert win.open_recording(small_session)
    qtbot.waitUntil(lambda: ctrl.ended and len(win.score_plot.raw) >= 60, timeout=20000)
    ctrl.pause()
    assert "NORMAL" in set(win.score_plot.verdicts) or "ANOMALY" in set(win.score_plot.verdicts)
    win.set_threshold(1e3)  # nothing is normal at this threshold
    assert "threshold +1000.000" in win.verdict_panel.detail_label.text()
    assert "NORMAL" not in set(win.score_plot.verdicts) and "ANOMALY" in set(win.score_plot.verdicts)
    win.set_threshold(-1e3)
    assert "ANOMALY" not in set(win.score_plot.verdicts) and "NORMAL" in set(win.score_plot.verdicts)


def _image_folder(path: Path, n: int = 6) -> Path:
    from app_support import hand_frames
    from capture.pngio import encode_png16

    path.mkdir(parents=True)
    for i, f in enumerate(hand_frames(n)):
        (path / f"{i:04d}.png").write_bytes(encode_png16(f.depth))
    return path


def test_an_image_folders_unit_is_asked_by_sensor_and_remembered(make_window, tmp_path: Path, monkeypatch) -> None:
    from app import dialogs

    folder = _image_folder(tmp_path / "sr305")
    win, ctrl, _ = make_window()
    offered = []

    def fake_exec(self) -> bool:
        offered.append(self.unit.value())
        self.sensor.setCurrentIndex(self.sensor.findText("RealSense SR305 / SR300 (0.125 mm)"))
        return True

    monkeypatch.setattr(dialogs.ImageFolderDialog, "exec", fake_exec)
    assert win.open_recording(folder)
    assert ctrl.source is not None
    assert win.open_recording(folder)
    assert offered == [1.0, 0.125]  # the second time the folder's own unit is offered
    assert win.settings.folder_units(folder) == (0.125, 30.0)
    win.settings.sync()
    text = Path(win.settings.path).read_text()
    units = text[text.index("[image_folder]"):].split("\n[")[0]
    assert str(folder) not in units  # keyed by a hash: the path itself is not kept for this


def test_depth_outside_any_working_range_says_the_unit_may_be_wrong(make_window, qtbot, tmp_path: Path) -> None:
    folder = _image_folder(tmp_path / "wrong-unit")
    win, ctrl, _ = make_window()
    assert win.open_recording(folder, unit_mm=0.01)  # read as 0.01 mm per unit: every hand a few mm away
    qtbot.waitUntil(lambda: win.banner.has("units"), timeout=10000)
    assert "depth unit may be wrong" in win.banner.messages["units"][1]
    assert win.open_recording(folder, unit_mm=1.0)
    qtbot.waitUntil(lambda: len(ctrl.delivered) > 2, timeout=10000)
    assert not win.banner.has("units")


def test_replay_keeps_its_history_when_stepping_back(make_window, qtbot, small_session) -> None:
    win, ctrl, _ = make_window()
    win.transport.loop_box.setChecked(False)
    assert win.open_recording(small_session)
    qtbot.waitUntil(lambda: ctrl.ended and len(win.score_plot.raw) >= 65, timeout=20000)
    plot = win.score_plot
    assert plot.history and list(plot.indices) == sorted(plot.indices)
    n = len(plot.raw)
    verdicts = dict(zip(plot.indices, plot.verdicts))
    target = 40  # a frame with a hand, long after the start: its verdict was reached
    assert verdicts[target] in ("NORMAL", "ANOMALY")
    win.act_prev.trigger()
    for _ in range(3):
        ctrl.seek(target)
    qtbot.waitUntil(lambda: ctrl.position == target and ctrl.last_result is not None
                    and ctrl.last_result.index == target, timeout=30000)  # generous: a busy CI machine
    qtbot.waitUntil(lambda: win.verdict_panel.verdict == verdicts[target], timeout=10000)
    assert len(plot.raw) == n  # nothing cleared
    plot.redraw()
    lo, hi = plot.vb.viewRange()[0]
    assert lo <= target / 30.0 <= hi and plot.cursor.value() == pytest.approx(target / 30.0)
    assert dict(zip(plot.indices, plot.verdicts))[target] == verdicts[target]


def test_a_recording_that_cannot_be_opened_leaves_the_working_source_playing(make_window, qtbot, small_session,
                                                                           tmp_path: Path, dialogs_seen) -> None:
    bad = tmp_path / "bad-session"
    bad.mkdir()
    (bad / "session.json").write_text("{ damaged")
    win, ctrl, _ = make_window()
    assert win.open_recording(small_session)
    qtbot.waitUntil(lambda: len(ctrl.delivered) > 2, timeout=10000)
    label = win.source_label.text()
    assert not win.open_recording(bad)
    assert dialogs_seen and dialogs_seen[-1][1] == "Cannot open the source" and "bad-session" in dialogs_seen[-1][2]
    assert ctrl.source is not None and ctrl.desc.spec == str(small_session) and win.source_label.text() == label
    n = len(ctrl.delivered)
    ctrl.play()
    qtbot.waitUntil(lambda: len(ctrl.delivered) > n or ctrl.ended, timeout=10000)
