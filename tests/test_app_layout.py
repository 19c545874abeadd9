"""The window's layout at 1024×700, 1280×800 and 150 % scaling: no widget drawn over
another, nothing squeezed below the size its text needs, the seek bar usable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app_support import *  # noqa: F401,F403  (fixtures)

pytestmark = pytest.mark.slow


def layout_problems(win) -> list[str]:
    """What is wrong with the window's geometry now (an empty list when nothing is)."""
    from PySide6.QtCore import QRect

    def rect(w) -> QRect:
        return QRect(w.mapTo(win, w.rect().topLeft()), w.size())

    out = []
    vp = win.verdict_panel
    parts = [vp.verdict_label, vp.score_label, vp.detail_label]
    for a, b in zip(parts, parts[1:]):
        if rect(a).intersects(rect(b)):
            out.append(f"{a.objectName() or a.text()[:12]!r} overlaps {b.text()[:12]!r}")
    for w in parts:
        if w.height() < w.heightForWidth(w.width()) - 1 if w.hasHeightForWidth() else w.height() < w.minimumSizeHint().height():
            out.append(f"{w.text()[:12]!r} is cut ({w.height()} px)")
    for name, w in (("threshold box", win.threshold_spin), ("overlay box", win.overlay_combo)):
        if w.height() < w.minimumSizeHint().height():
            out.append(f"the {name} is squashed ({w.height()} < {w.minimumSizeHint().height()} px)")
    if win.transport.slider.width() < 100:
        out.append(f"the seek bar is {win.transport.slider.width()} px wide")
    if rect(win.score_plot).intersects(rect(win.verdict_panel)):
        out.append("the plot overlaps the verdict")
    return out


def _busy_state(win, ctrl, qtbot, session) -> None:
    """The longest texts the panel shows: a verdict, a threshold source, a pending change."""
    assert win.open_recording(session)
    qtbot.waitUntil(lambda: len(ctrl.delivered) > 20, timeout=20000)
    ctrl.pause()
    win.verdict_panel.set_threshold_source("tuned 2026-12-01 by op-3 · sensitivity 95 % [91.0, 98.0]")
    win.verdict_panel.set_state("ANOMALY", -1.223, -1.280, -0.044, "→ NORMAL in 0.4 s (once it has lasted the hold time)")


@pytest.mark.parametrize("size", [(1024, 700), (1280, 800)])
def test_nothing_overlaps_or_is_cut_at_common_sizes(make_window, qtbot, small_session, size) -> None:
    win, ctrl, _ = make_window()
    win.resize(*size)
    _busy_state(win, ctrl, qtbot, small_session)
    qtbot.wait(200)
    assert layout_problems(win) == []


SCRIPT = r"""
import json, sys, time
sys.path.insert(0, {tests!r})
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app import theme
from app.controller import Controller
from app.main_window import MainWindow
from app.settings import AppSettings
from support import tiny_model
from test_app_layout import layout_problems
theme.apply_theme(app)
win = MainWindow(Controller(tiny_model(), threads=1), AppSettings({settings!r}))
win.resize(1066, 666)  # a 1600 x 1000 screen at 150 %
win.show()
win.verdict_panel.set_threshold_source("tuned 2026-12-01 by op-3 · sensitivity 95 % [91.0, 98.0]")
win.verdict_panel.set_state("ANOMALY", -1.223, -1.280, -0.044, "→ NORMAL in 0.4 s (once it has lasted the hold time)")
end = time.monotonic() + 1.0
while time.monotonic() < end:
    app.processEvents()
print(json.dumps(layout_problems(win)))
win.shutdown()
"""


def test_nothing_overlaps_or_is_cut_at_150_percent(tmp_path: Path) -> None:
    tests = str(Path(__file__).parent)
    env = {**os.environ, "QT_SCALE_FACTOR": "1.5", "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(Path(tests).parent)}
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(tests=tests, settings=str(tmp_path / "s.ini"))],
                         capture_output=True, text=True, env=env, timeout=120, cwd=str(Path(tests).parent))
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
