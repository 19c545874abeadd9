import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from capture.errors import CaptureError
from capture.session import SessionMeta, SessionWriter
from capture.sources import Paced, kinect_device, open_source, source_kind
from capture.sources.images import ImageFolderSource
from capture.sources.kinect import KinectSource
from capture.sources.session import SessionSource
from capture.sources.synthetic import SyntheticSource

REPO = Path(__file__).resolve().parents[1]


def test_open_source_dispatch(tmp_path):
    k = open_source("kinect:000123", depth_mode="WFOV_2X2BINNED")
    assert isinstance(k, KinectSource) and k.device == "000123" and k.depth_mode == "WFOV_2X2BINNED"
    assert open_source("kinect").device == 0 and open_source("kinect:1").device == 1
    s = open_source("synthetic", speed=None)
    assert isinstance(s, Paced) and isinstance(s.inner, SyntheticSource) and s.speed is None
    cv2.imwrite(str(tmp_path / "0.png"), np.zeros((3, 3), np.uint16))
    img = open_source(str(tmp_path), unit_mm=0.125, loop=True)
    assert isinstance(img.inner, ImageFolderSource) and img.inner.unit_mm == 0.125 and img.loop
    with SessionWriter.create(tmp_path / "sess", SessionMeta()) as w:
        w.append(next(iter(SyntheticSource(8, 6, n_frames=1))))
    assert isinstance(open_source(str(tmp_path / "sess")).inner, SessionSource)
    with pytest.raises(CaptureError, match="not a camera"):
        open_source(str(tmp_path / "nothing.txt"))


def test_source_kind_is_the_one_reading_of_a_spec(tmp_path):
    for spec in ("kinect", "kinect:1", "kinect:000123"):
        assert source_kind(spec) == "camera"
    assert source_kind("synthetic") == "synthetic"
    assert source_kind(tmp_path / "take.MKV") == "mkv"  # by its name, before it is opened
    SessionWriter.create(tmp_path / "sess", SessionMeta()).close()
    assert source_kind(tmp_path / "sess") == "session" and source_kind(str(tmp_path / "sess")) == "session"
    (tmp_path / "pngs").mkdir()
    assert source_kind(tmp_path / "pngs") == "images"
    assert source_kind(tmp_path / "nothing.txt") == "unknown" and source_kind("kinectic") == "unknown"
    assert [kinect_device(s) for s in ("kinect", "kinect:1", "kinect:12", "kinect:000123", "kinect:AB1")] == [
        0, 1, 12, "000123", "AB1"
    ]


def test_session_replay_with_seek_loop_and_info(tmp_path):
    frames = list(SyntheticSource(16, 12, fps=30, n_frames=10, seed=4))
    with SessionWriter.create(tmp_path / "s", SessionMeta(sensor="synthetic", fps=30.0, settings={"a": 1})) as w:
        for f in frames:
            w.append(f)
    src = Paced(SessionSource(tmp_path / "s"), speed=None, loop=True)
    with src:
        info = src.info
        src.seek(0.2)  # frame 6
        got = [src.read().index for _ in range(6)]
        src.seek_index(9)
        last = src.read()
    assert info.frame_count == 10 and info.can_seek and info.duration_s == pytest.approx(0.3)
    assert info.extra["settings"] == {"a": 1}
    assert got == [6, 7, 8, 9, 0, 1]
    assert last.index == 9 and np.array_equal(last.depth, frames[9].depth)


def test_empty_session_is_a_clear_error(tmp_path):
    SessionWriter.create(tmp_path / "s", SessionMeta()).close()
    with pytest.raises(CaptureError, match="no frames"):
        SessionSource(tmp_path / "s").open()


def test_capture_imports_neither_torch_nor_qt():
    code = (
        "import sys, pkgutil, importlib, capture\n"
        "for m in pkgutil.walk_packages(capture.__path__, 'capture.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'PySide6', 'pyqtgraph')]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
