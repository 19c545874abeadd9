import numpy as np
import pytest

from capture.errors import CaptureError, CorruptFile
from capture.sources.base import EndOfStream
from capture.sources.mkv import MkvSource
from capture.sources.pacing import Paced
from tests.conftest import shared_path


@pytest.fixture
def mkv():
    return shared_path("azure_kinect", "recording.mkv")


def test_real_recording_depth_track(mkv):
    src = MkvSource(mkv)
    with src:
        info = src.info
        frames = list(src)
    assert (info.sensor, info.depth_mode, info.fps) == ("Azure Kinect", "NFOV_UNBINNED", 5.0)
    assert (info.width, info.height, info.unit_mm, info.can_seek) == (640, 576, 1.0, True)
    assert 0.3 < info.duration_s < 1.0
    k = info.intrinsics
    assert k is not None and 400 < k.fx < 600 and 250 < k.cx < 400 and (k.width, k.height) == (640, 576)
    assert len(frames) == 1  # the test asset holds a single depth frame (plus colour/IR/IMU)
    f = frames[0]
    assert f.depth.dtype == np.uint16 and f.depth.shape == (576, 640)
    assert f.device_ts_us == 800222
    valid = f.depth[f.depth > 0]
    assert 300 < np.median(valid) < 3000  # a desk scene in millimetres


def test_seek_and_loop(mkv):
    with MkvSource(mkv) as src:
        first = src.read()
        with pytest.raises(EndOfStream):
            src.read()
        src.seek(0.0)
        again = src.read()
        src.seek(10.0)  # past the end
        with pytest.raises(EndOfStream):
            src.read()
    assert np.array_equal(first.depth, again.depth)
    looped = Paced(MkvSource(mkv), speed=None, loop=True)
    with looped:
        ts = [looped.read().device_ts_us for _ in range(3)]
    assert ts == [800222] * 3 and looped.loops == 2


def test_paced_playback_at_recorded_rate(mkv):
    src = Paced(MkvSource(mkv), speed=1.0)
    with src:
        assert src.read() is not None
        with pytest.raises(EndOfStream):
            src.read()


def test_truncated_recording_is_a_clear_error(mkv, tmp_path):
    data = mkv.read_bytes()
    bad = tmp_path / "cut.mkv"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFile, match="truncated"):
        MkvSource(bad).open()


def test_not_an_mkv_and_missing(tmp_path):
    junk = tmp_path / "junk.mkv"
    junk.write_bytes(b"hello world" * 100)
    with pytest.raises(CorruptFile, match="not a Matroska"):
        MkvSource(junk).open()
    with pytest.raises(CaptureError, match="not found"):
        MkvSource(tmp_path / "none.mkv").open()


def test_damage_after_the_start_still_gives_the_frames_before(mkv, tmp_path):
    """Overwrite 100 kB in the last quarter (colour/IR clusters): the depth frame before it plays."""
    data = bytearray(mkv.read_bytes())
    start = len(data) * 3 // 4
    data[start : start + 100_000] = np.random.default_rng(0).bytes(100_000)
    bad = tmp_path / "damaged.mkv"
    bad.write_bytes(bytes(data))
    with MkvSource(bad) as src:
        got = []
        while True:
            try:
                got.append(src.read())
            except EndOfStream:
                break
    assert [f.device_ts_us for f in got] == [800222]
    with MkvSource(mkv) as src:
        assert np.array_equal(got[0].depth, src.read().depth)
