import numpy as np
import pytest

from capture.errors import BadFrame, CaptureError
from capture.frame import DepthFrame, Intrinsics


def test_depth_mm_scales_by_unit_and_keeps_holes():
    raw = np.array([[0, 8, 16000]], dtype=np.uint16)
    mm = DepthFrame(raw, unit_mm=0.125).depth_mm()
    assert mm.dtype == np.float32
    assert mm.tolist() == [[0.0, 1.0, 2000.0]]
    assert DepthFrame(raw).depth_mm().tolist() == [[0.0, 8.0, 16000.0]]


@pytest.mark.parametrize(
    "array, words",
    [
        (np.zeros((4, 4), np.float32), "uint16"),
        (np.zeros((4, 4, 3), np.uint16), "2-D"),
        (np.zeros(4, np.uint16), "2-D"),
    ],
)
def test_bad_arrays_are_rejected_clearly(array, words):
    with pytest.raises(BadFrame, match=words):
        DepthFrame(array)


def test_not_an_array_and_bad_unit():
    with pytest.raises(BadFrame, match="numpy array"):
        DepthFrame([[1, 2]])  # type: ignore[arg-type]
    with pytest.raises(BadFrame, match="unit"):
        DepthFrame(np.zeros((2, 2), np.uint16), unit_mm=0)
    assert issubclass(BadFrame, CaptureError)


def test_host_timestamp_defaults_to_monotonic_and_size_properties():
    import time

    before = time.monotonic_ns()
    f = DepthFrame(np.zeros((3, 5), np.uint16), index=7)
    assert before <= f.host_ts_ns <= time.monotonic_ns()
    assert (f.width, f.height, f.index, f.device_ts_us) == (5, 3, 7, None)


def test_intrinsics_round_trip():
    k = Intrinsics(500.0, 501.0, 320.5, 288.0, 640, 576, distortion=(0.1, -0.2))
    assert Intrinsics.from_dict(k.to_dict()) == k
    assert Intrinsics.from_dict(None) is None
    plain = Intrinsics(1, 2, 3, 4, 5, 6)
    assert "distortion" not in plain.to_dict()
