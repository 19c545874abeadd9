"""core.preprocess: raw depth frames of any unit and size -> the model's input and crop box."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from capture.frame import DepthFrame
from capture.pngio import read_png16
from core.data.synth.raycast import LABEL_LEFT_HAND, LABEL_RIGHT_HAND
from core.data.synth.render import render_frame, sample_scene
from core.preprocess import PreprocessConfig, map_to_frame, preprocess_depth, preprocess_frame
from tests.conftest import shared_path


def scene_frame(cls: str, seed: int) -> tuple[DepthFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    params = sample_scene(cls, rng)
    depth, labels = render_frame(params, rng, return_labels=True)
    return DepthFrame(depth, 1.0, 0, intrinsics=params.camera), labels


def inside(box, mask: np.ndarray) -> float:
    """Share of the mask's pixels inside the box."""
    x0, y0, x1, y1 = box
    return float(mask[y0:y1, x0:x1].sum() / max(mask.sum(), 1))


@pytest.mark.parametrize("seed", range(4))
def test_synthetic_pigeon_crop_holds_both_hands(seed: int) -> None:
    frame, labels = scene_frame("pigeon", seed)
    p = preprocess_frame(frame, PreprocessConfig())
    assert p.has_hand and p.reason == ""
    hands = (labels == LABEL_RIGHT_HAND) | (labels == LABEL_LEFT_HAND)
    assert inside(p.box, hands) > 0.95
    x0, y0, x1, y1 = p.box
    assert x1 - x0 == y1 - y0 and 0 <= x0 and 0 <= y0 and x1 <= frame.width and y1 <= frame.height
    assert p.image.shape == (128, 128) and p.image.dtype == np.float32
    assert 0.0 <= p.image.min() and p.image.max() <= 1.0 and p.image.max() > 0.9
    # the hands' own depth: within a hand's thickness of the nearest hand pixel
    hand_mm = frame.depth_mm()[hands & (frame.depth > 0)]
    assert abs(p.ref_depth_mm - np.percentile(hand_mm, 1)) < 40


def test_distance_to_the_camera_does_not_change_the_input() -> None:
    frame, _ = scene_frame("pigeon", 7)
    cfg = PreprocessConfig(crop_mm=None)  # crop from the hand region: the image is the same object
    mm = frame.depth_mm()
    near = preprocess_depth(mm, cfg, frame.intrinsics.fx)
    shifted = np.where(mm > 0, mm + 300.0, 0.0).astype(np.float32)  # the whole scene 30 cm further
    far = preprocess_depth(shifted, cfg, frame.intrinsics.fx)
    assert near.box == far.box
    assert far.ref_depth_mm == pytest.approx(near.ref_depth_mm + 300.0, abs=1.0)
    assert np.abs(near.image - far.image).max() < 1e-4


def test_unit_is_applied() -> None:
    frame, _ = scene_frame("pigeon", 3)
    eighth = DepthFrame((frame.depth.astype(np.uint32) * 8).clip(0, 65535).astype(np.uint16), 0.125, 0,
                        intrinsics=frame.intrinsics)
    a, b = preprocess_frame(frame, PreprocessConfig()), preprocess_frame(eighth, PreprocessConfig())
    assert a.box == b.box and a.ref_depth_mm == pytest.approx(b.ref_depth_mm)
    assert np.abs(a.image - b.image).max() < 1e-4


@pytest.mark.parametrize(
    "mm, why",
    [
        (np.zeros((120, 160), np.float32), "working range"),
        (np.full((120, 160), 2500.0, np.float32), "working range"),  # a wall behind the range
        (np.full((120, 160), 1200.0, np.float32), "fills the view"),  # a wall in range
    ],
)
def test_no_hand_has_a_reason_and_no_input(mm: np.ndarray, why: str) -> None:
    p = preprocess_depth(mm, PreprocessConfig(size=32))
    assert not p.has_hand and why in p.reason and p.box is None
    assert p.image.shape == (32, 32) and not p.image.any()


def test_speckle_nearer_than_the_hand_is_ignored() -> None:
    mm = np.full((144, 160), 1300.0, np.float32)
    mm[40:80, 60:100] = 600.0  # a hand
    rng = np.random.default_rng(0)
    ys, xs = rng.integers(0, 144, 12), rng.integers(0, 160, 12)
    mm[ys, xs] = 300.0  # isolated flying pixels
    p = preprocess_depth(mm, PreprocessConfig(size=32, crop_mm=None))
    assert p.has_hand and p.ref_depth_mm == pytest.approx(600.0)
    x0, y0, x1, y1 = p.box
    assert x0 <= 60 and y0 <= 40 and x1 >= 100 and y1 >= 80 and x1 - x0 < 70


def test_fixed_roi_without_hand_search() -> None:
    mm = np.full((100, 200), 900.0, np.float32)
    cfg = PreprocessConfig(size=16, hand_search=False, roi=(0.5, 0.0, 1.0, 1.0))
    p = preprocess_depth(mm, cfg)
    assert p.has_hand and p.box == (100, 0, 200, 100)
    whole = preprocess_depth(mm, PreprocessConfig(size=16, hand_search=False))
    assert whole.box == (0, 0, 200, 100)


def test_config_round_trip_and_validation() -> None:
    cfg = PreprocessConfig(size=64, hand_search=False, roi=(0.1, 0.2, 0.9, 0.8))
    assert PreprocessConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown"):
        PreprocessConfig.from_dict({"size": 64, "colour": "red"})
    with pytest.raises(ValueError, match="near < far"):
        PreprocessConfig(near_mm=900, far_mm=500)


def test_map_to_frame_places_the_map_in_the_box() -> None:
    m = np.ones((8, 8), np.float32)
    out = map_to_frame(m, (10, 20, 30, 40), (50, 60))
    assert out.shape == (50, 60)
    assert out[20:40, 10:30].min() == 1.0 and out.sum() == pytest.approx(400.0)


# -- real sensors ----------------------------------------------------------------------------
@pytest.mark.shared_data
def test_sr305_frames_in_eighth_millimetres() -> None:
    root = shared_path("sr305")
    files = sorted(root.glob("2*/*.png"))
    assert files
    for f in files:
        frame = DepthFrame(read_png16(f), 0.125)
        p = preprocess_frame(frame, PreprocessConfig())
        assert p.has_hand, f"{f}: {p.reason}"
        mm = frame.depth_mm()
        assert 250 < p.ref_depth_mm < 900, f"{f}: reference {p.ref_depth_mm} mm is not a hand's distance"
        # the hand (the largest surface within 6 cm of the nearest) is in the crop
        near = ((mm > 0) & (mm < p.ref_depth_mm + 60)).astype(np.uint8)
        n, lab, stats, _ = cv2.connectedComponentsWithStats(near)
        hand = lab == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        assert inside(p.box, hand) > 0.9, f"{f}: box {p.box} misses the hand"
        x0, y0, x1, y1 = p.box
        assert (x1 - x0) * (y1 - y0) < 0.8 * mm.size  # a crop, not the whole frame


@pytest.mark.shared_data
def test_asl_crops_without_hand_search() -> None:
    root = shared_path("asl_depth")
    files = sorted(root.glob("*/*.png"))[::60]
    cfg = PreprocessConfig(size=64, hand_search=False)
    for f in files:
        frame = DepthFrame(read_png16(f), 1.0)
        p = preprocess_frame(frame, cfg)
        assert p.has_hand, f"{f}: {p.reason}"
        assert p.box == (0, 0, frame.width, frame.height)
        assert p.image.max() > 0.9 and (p.image > 0.05).mean() > 0.1, f"{f}: the hand does not show"
