import numpy as np
import pytest

from capture.errors import BadFrame
from capture.sources.base import EndOfStream
from capture.sources.synthetic import SyntheticSource


def frames(src, n):
    with src:
        return [src.read() for _ in range(n)]


def test_same_seed_same_frames_other_seed_differs():
    a = frames(SyntheticSource(64, 48, seed=3), 4)
    b = frames(SyntheticSource(64, 48, seed=3), 4)
    c = frames(SyntheticSource(64, 48, seed=4), 4)
    assert all(np.array_equal(x.depth, y.depth) for x, y in zip(a, b))
    assert not np.array_equal(a[0].depth, c[0].depth)


def test_frames_look_like_depth_with_moving_shapes_and_holes():
    src = SyntheticSource(160, 144, fps=30, seed=0)
    f0, f1 = frames(src, 1)[0], None
    with src:
        src.seek(1.0)
        f1 = src.read()
    assert f0.depth.dtype == np.uint16 and f0.depth.shape == (144, 160)
    assert f1.index == 30 and f1.device_ts_us == 1_000_000
    holes = (f0.depth == 0).mean()
    assert 0.005 < holes < 0.05
    near = (f0.depth > 0) & (f0.depth < 700)  # the disc at ~650 mm
    assert near.sum() > 100
    moved = (f1.depth > 0) & (f1.depth < 700)
    assert (near ^ moved).sum() > 50  # the disc moved in one second
    assert f0.intrinsics is not None and f0.intrinsics.width == 160


def test_seek_reproduces_frames_and_finite_stream_ends():
    src = SyntheticSource(32, 24, n_frames=5, seed=9)
    with src:
        first = [src.read() for _ in range(5)]
        with pytest.raises(EndOfStream):
            src.read()
        src.seek_index(2)
        again = src.read()
    assert again.index == 2 and np.array_equal(again.depth, first[2].depth)
    assert src.info.frame_count == 5 and src.info.can_seek and src.info.duration_s == pytest.approx(5 / 30)


def test_custom_generator_plugs_in():
    def gen(i, rng):
        return np.full((10, 20), 100 + i, np.uint16)

    got = frames(SyntheticSource(20, 10, generator=gen, unit_mm=0.5), 3)
    assert [int(f.depth[0, 0]) for f in got] == [100, 101, 102]
    assert got[2].depth_mm()[0, 0] == 51.0


def test_generator_with_wrong_shape_is_a_clear_error():
    src = SyntheticSource(20, 10, generator=lambda i, rng: np.zeros((5, 5), np.uint16))
    with src, pytest.raises(BadFrame, match="shape"):
        src.read()
    src = SyntheticSource(20, 10, generator=lambda i, rng: np.zeros((10, 20), np.float32))
    with src, pytest.raises(BadFrame, match="uint16"):
        src.read()
