"""A live camera that disconnects and comes back: banner, then recovery."""

from __future__ import annotations

import pytest

from app_support import dialogs_seen, flaky_camera, make_window  # noqa: F401 - fixtures

pytestmark = pytest.mark.timeout(60)


def test_camera_lost_shows_a_banner_and_recovers(make_window, qtbot, dialogs_seen):
    win, ctrl, spies = make_window()
    cam = flaky_camera()
    win.open_source_object(cam, label="Fake camera", kind="camera")
    assert ctrl.mode == "live"
    qtbot.waitUntil(lambda: win.depth_view.frames_drawn > 5 and len(ctrl.delivered) > 3, timeout=20000)
    assert not win.banner.isVisible()
    assert not win.transport.slider.isEnabled()  # a live camera cannot seek

    cam.unplug()
    qtbot.waitUntil(lambda: win.banner.has("camera"), timeout=10000)
    assert win.banner.isVisible() and "Camera disconnected" in win.banner.text
    assert win.verdict_panel.verdict == "NO SIGNAL"  # never the last verdict while the camera is gone
    drawn = win.depth_view.frames_drawn
    qtbot.wait(300)
    assert win.depth_view.frames_drawn <= drawn + 1  # nothing new while it is gone
    assert ctrl.capture.alive  # and nothing crashed

    cam.plug_back()
    qtbot.waitUntil(lambda: not win.banner.has("camera"), timeout=10000)
    assert not win.banner.isVisible()
    scored = len(ctrl.delivered)
    qtbot.waitUntil(lambda: win.depth_view.frames_drawn > drawn + 5 and len(ctrl.delivered) > scored + 3, timeout=10000)
    qtbot.waitUntil(lambda: win.verdict_panel.verdict != "NO SIGNAL", timeout=5000)
    assert not dialogs_seen
