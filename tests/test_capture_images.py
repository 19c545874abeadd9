from pathlib import Path

import cv2
import numpy as np
import pytest

from capture.errors import BadFrame, CaptureError, CorruptFile
from capture.sources.base import EndOfStream
from capture.sources.images import ImageFolderSource
from tests.conftest import shared_path


def write(path, array):
    assert cv2.imwrite(str(path), array)


def test_real_sr305_folder_with_eighth_mm_unit():
    folder = shared_path("sr305", "20210326-230536")
    src = ImageFolderSource(folder, unit_mm=0.125, sensor="RealSense SR305")
    with src:
        frames = list(src)
        info = src.info
    names = [p.name for p in src.files]
    assert names == sorted(names, key=lambda n: int(n.split(".")[0]))  # 30 before 110
    assert len(frames) == info.frame_count == len(names) > 0
    assert (info.width, info.height) == (640, 480)
    mm = frames[0].depth_mm()
    valid = mm[mm > 0]
    assert frames[0].depth.dtype == np.uint16 and (mm == 0).any()  # holes stay holes
    # a person's hand and body at arm's length: tens of centimetres to a couple of metres
    assert 150 < np.median(valid) < 2500
    assert frames[1].index == 1 and frames[1].unit_mm == 0.125


def test_natural_order_and_nominal_timing(tmp_path):
    for n in (10, 2, 1):
        write(tmp_path / f"{n}.png", np.full((4, 6), n, np.uint16))
    src = ImageFolderSource(tmp_path, fps=20)
    with src:
        vals = [int(f.depth[0, 0]) for f in src]
        src.seek(0.1)  # frame 2 at 20 fps
        assert int(src.read().depth[0, 0]) == 10
    assert vals == [1, 2, 10]
    assert src.info.duration_s == pytest.approx(3 / 20)


def test_empty_and_missing_folder(tmp_path):
    with pytest.raises(CaptureError, match="no .png depth images"):
        ImageFolderSource(tmp_path).open()
    with pytest.raises(CaptureError, match="not found"):
        ImageFolderSource(tmp_path / "nope").open()


def test_8bit_png_mid_sequence_reads_frames_before_it(tmp_path):
    write(tmp_path / "0.png", np.full((4, 6), 500, np.uint16))
    write(tmp_path / "1.png", np.full((4, 6), 600, np.uint16))
    write(tmp_path / "2.png", np.full((4, 6), 7, np.uint8))
    write(tmp_path / "3.png", np.full((4, 6), 800, np.uint16))
    src = ImageFolderSource(tmp_path)
    with src:
        assert [int(src.read().depth[0, 0]) for _ in range(2)] == [500, 600]
        with pytest.raises(BadFrame, match="2.png is 8-bit; a depth image must be a single-channel 16-bit PNG"):
            src.read()
        assert int(src.read().depth[0, 0]) == 800  # the bad image is skipped, not retried
        with pytest.raises(EndOfStream):
            src.read()


def test_sizes_that_vary_colour_and_garbage(tmp_path):
    write(tmp_path / "0.png", np.zeros((4, 6), np.uint16))
    write(tmp_path / "1.png", np.zeros((5, 6), np.uint16))
    write(tmp_path / "2.png", np.zeros((4, 6, 3), np.uint16))
    (tmp_path / "3.png").write_bytes(b"\x89PNG not really")
    src = ImageFolderSource(tmp_path)
    with src:
        assert src.info.extra == {"sizes_vary": True} and src.info.depth_mode == "sizes vary"
        assert src.read().depth.shape == (4, 6)
        assert src.read().depth.shape == (5, 6)  # a folder of crops: each image keeps its size
        with pytest.raises(BadFrame, match="3 channels"):
            src.read()
        with pytest.raises(CorruptFile, match="3.png is not a readable PNG"):
            src.read()


def test_folder_unit_comes_from_the_data_set_or_is_unknown(tmp_path: Path) -> None:
    from capture.sources.images import folder_unit_mm

    (tmp_path / "ds" / "pigeon").mkdir(parents=True)
    (tmp_path / "ds" / "dataset.json").write_text('{"unit_mm": 0.125}')
    assert folder_unit_mm(tmp_path / "ds" / "pigeon") == 0.125  # a class folder: the parent's file
    assert folder_unit_mm(tmp_path / "ds") == 0.125
    (tmp_path / "loose").mkdir()
    assert folder_unit_mm(tmp_path / "loose") is None
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "dataset.json").write_text("{ not json")
    assert folder_unit_mm(tmp_path / "bad") is None  # unknown: the app asks
    (tmp_path / "bad" / "dataset.json").write_text('{"unit_mm": -1}')
    assert folder_unit_mm(tmp_path / "bad") is None
