"""Record the stream into a session from the window, then reopen and replay it."""

from __future__ import annotations

import numpy as np
import pytest

from app_support import dialogs_seen, make_window, small_session  # noqa: F401 - fixtures

pytestmark = pytest.mark.timeout(60)


def test_record_then_replay(make_window, qtbot, tmp_path, small_session):
    from capture.session import SessionReader

    win, ctrl, spies = make_window()
    win.transport.loop_box.setChecked(True)
    assert win.open_recording(small_session)
    qtbot.waitUntil(lambda: ctrl.info is not None and len(ctrl.delivered) > 3, timeout=20000)
    win.threshold_spin.setValue(0.5)
    out = tmp_path / "P-0007_session"
    assert win.start_recording(out, "P-0007", "nurse-2")
    assert win.act_record.isChecked() and "recording" in win.rec_indicator.text()
    assert not win.start_recording(tmp_path / "other", "P-0008")  # one recording at a time
    # longer than the 65-frame session, so the looping source starts over while recording
    qtbot.waitUntil(lambda: ctrl.recorder.written >= 70, timeout=20000)
    path, written = win.stop_recording()
    assert path == out and written >= 70 and not ctrl.recording and not win.act_record.isChecked()

    reader = SessionReader(out)
    assert len(reader) == written
    times = reader.device_ts_us  # one take: the loop does not send time backwards
    assert all(b > a for a, b in zip(times, times[1:]))
    assert reader.meta.subject_id == "P-0007" and reader.meta.operator == "nurse-2"
    verdict = reader.meta.settings["verdict"]
    assert verdict["threshold"] == pytest.approx(0.5) and "normal_hold_s" in verdict
    assert reader.meta.settings["model"]["name"] == "tiny-test"
    # frames on disk are the frames that were played
    src = SessionReader(small_session)
    originals = {src[i].depth.tobytes() for i in range(len(src))}
    assert all(reader[i].depth.tobytes() in originals for i in range(0, len(reader), 7))

    # reopen and replay it: every recorded frame is scored and plotted once
    win.transport.loop_box.setChecked(False)
    assert win.open_recording(out)
    qtbot.waitUntil(lambda: ctrl.ended and len(ctrl.delivered) >= written, timeout=30000)
    qtbot.wait(50)
    assert ctrl.desc.label == out.name
    assert "subject P-0007" in win.source_label.text()
    idx = list(win.score_plot.indices)
    assert idx == list(range(written))
    assert win.depth_view.frames_drawn > 0


def test_bad_subject_ids_are_refused(make_window, qtbot, tmp_path, dialogs_seen):
    win, ctrl, _ = make_window()
    win.open_synthetic()
    qtbot.waitUntil(lambda: ctrl.info is not None, timeout=10000)
    for bad in ("", "Jane Doe", "a/b", "x" * 80):
        assert not win.start_recording(tmp_path / "s", bad)
    assert len(dialogs_seen) == 4 and all("pseudonym" in t for _, _, t in dialogs_seen)
    assert not (tmp_path / "s").exists() and not ctrl.recording
    # an existing session folder is never overwritten
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("keep me")
    assert not win.start_recording(tmp_path / "taken", "P-1")
    assert "already exists" in dialogs_seen[-1][2]


def test_a_disk_too_slow_for_the_stream_is_said_while_it_lasts(make_window, qtbot, tmp_path, small_session,
                                                               monkeypatch):
    """The recorder's queue is bounded: the stream is slowed to the disk, and the window says so."""
    import time

    from capture.session import SessionWriter

    real_append = SessionWriter.append

    def slow_append(self, frame):
        time.sleep(0.15)
        return real_append(self, frame)

    monkeypatch.setattr(SessionWriter, "append", slow_append)
    win, ctrl, _ = make_window()
    win.transport.loop_box.setChecked(True)
    assert win.open_recording(small_session)
    qtbot.waitUntil(lambda: ctrl.info is not None and len(ctrl.delivered) > 3, timeout=20000)
    assert win.start_recording(tmp_path / "slow", "P-0011")
    qtbot.waitUntil(lambda: "can't keep up" in win.status_labels["rec"].text(), timeout=20000)
    assert win.banner.has("recording") and "can't keep up" in win.banner.messages["recording"][1]
    assert ctrl.recorder.backlog <= ctrl.recorder.max_queued  # memory does not grow
    monkeypatch.setattr(SessionWriter, "append", real_append)  # the disk is fast again
    qtbot.waitUntil(lambda: "can't keep up" not in win.status_labels["rec"].text(), timeout=20000)
    path, written = win.stop_recording()
    from capture.session import SessionReader

    assert written >= 8 and len(SessionReader(path)) == written  # every frame taken is on disk
