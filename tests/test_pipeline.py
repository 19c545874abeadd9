"""FrameScorer: the one path from depth frames to results."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from capture.frame import DepthFrame
from core.spader.checkpoint import load_model, save_model
from core.errors import DataError, SpaderError
from core.runtime.scorer import FrameScorer, model_preprocess_config
from core.runtime.results import MAP_NAMES
from core.spader.scorers import SCORER_KEYS, frame_seed, score_inputs
from support import pose_frames, tiny_model


W, H = 160, 144


@pytest.fixture(scope="module")
def frames() -> list[DepthFrame]:
    return pose_frames(6, width=W, height=H)


@pytest.fixture
def scorer() -> FrameScorer:
    return FrameScorer(tiny_model(), device="cpu")


def test_results_carry_every_score_map_and_timestamp(scorer: FrameScorer, frames) -> None:
    results = scorer.score_frames(frames)
    assert [r.index for r in results] == [f.index for f in frames]
    hands = [r for r in results if r.has_hand]
    assert hands, "the synthetic poses must show a hand to the preprocessing"
    for r, f in zip(results, frames):
        assert r.frame_shape == (H, W)
        assert r.captured_ns == f.host_ts_ns and r.scored_ns >= r.captured_ns
        assert r.device_ts_us == f.device_ts_us and r.depth is f.depth
        assert r.model_name == scorer.model.name and r.device == "cpu"
        if r.has_hand:
            assert set(r.scores) == set(SCORER_KEYS)
            assert all(isinstance(v, float) and np.isfinite(v) for v in r.scores.values())
            assert r.score == r.scores["spader"]
            assert set(MAP_NAMES) <= set(r.maps)
            for name in MAP_NAMES:
                assert r.maps[name].shape == (32, 32) and r.maps[name].dtype == np.float32
            x0, y0, x1, y1 = r.box
            assert 0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H
            full = r.frame_map("cam")
            assert full is not None and full.shape == (H, W)
            assert r.ref_depth_mm is not None
        else:
            assert r.scores == {} and r.reason


def test_batch_scoring_equals_one_by_one(scorer: FrameScorer, frames) -> None:
    batch = scorer.score_frames(frames)
    other = FrameScorer(tiny_model(), device="cpu")
    other.score_frames(frames[3:])  # scoring history must not matter
    single = [other.score_frame(f) for f in frames]
    assert any(r.has_hand for r in batch)
    for a, b in zip(batch, single):
        assert a.index == b.index and a.has_hand == b.has_hand and a.box == b.box
        for k in a.scores:
            assert a.scores[k] == pytest.approx(b.scores[k], abs=1e-5)
        for name in a.maps:
            np.testing.assert_allclose(a.maps[name], b.maps[name], atol=1e-5)


def test_one_frame_equals_the_reference_scoring_function(scorer: FrameScorer) -> None:
    """The pipeline scores through core.spader.scorers.score_inputs; a frame's noise comes from (seed, index)."""
    x = np.random.default_rng(0).random((3, 32, 32), dtype=np.float32)
    sb = scorer.score_arrays(x, indices=[7, 8, 9])
    m = scorer.model
    for row, idx in enumerate([7, 8, 9]):
        ref = score_inputs(m.vae, m.regressor, torch.from_numpy(x[row : row + 1, None]), [idx], seed=0).numpy()
        for k in SCORER_KEYS:
            assert sb.scores[k][row] == pytest.approx(float(ref.scores[k][0]), abs=1e-5)
        np.testing.assert_allclose(sb.cam[row], ref.cam[0], atol=1e-5)
    # another seed or index draws other samples
    assert FrameScorer(m, device="cpu", seed=1).score_arrays(x[:1], [7]).scores["vae"][0] != pytest.approx(
        sb.scores["vae"][0], abs=1e-7
    )
    assert frame_seed(0, 1) != frame_seed(1, 0) != frame_seed(0, 0)


def test_no_hand_frame_gives_a_result_without_scores(scorer: FrameScorer) -> None:
    empty = DepthFrame(np.zeros((H, W), np.uint16), 1.0, 5)
    r = scorer.score_frame(empty)
    assert not r.has_hand and r.scores == {} and r.reason and r.score is None
    assert r.index == 5


def test_malformed_inputs_raise_clear_errors(scorer: FrameScorer, frames) -> None:
    bad = replace(frames[0])
    bad.depth = np.zeros((4, H, W), np.uint16)  # bypasses DepthFrame's own check
    with pytest.raises(DataError, match="2-D uint16"):
        scorer.score_frames([frames[1], bad])
    with pytest.raises(DataError, match="shape"):
        scorer.score_arrays(np.zeros((2, 16, 16), np.float32))
    assert scorer.score_arrays(np.zeros((0, 32, 32), np.float32)).scores["spader"].shape == (0,)
    with pytest.raises(SpaderError):
        FrameScorer(tiny_model(), device="cpu", m=0)


def test_switching_model_and_device(scorer: FrameScorer, frames) -> None:
    before = scorer.score_frame(frames[0])
    other = tiny_model(seed=5, name="other")
    scorer.set_model(other)
    after = scorer.score_frame(frames[0])
    assert after.model_name == "other"
    assert after.scores["spader"] != pytest.approx(before.scores["spader"], abs=1e-6)
    scorer.set_device("cpu")
    assert scorer.device.type == "cpu" and scorer.model.device.type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(SpaderError, match="CUDA"):
            scorer.set_device("cuda")


def test_saved_model_scores_the_same_and_keeps_its_preprocessing(tmp_path: Path, frames) -> None:
    from core.preprocess import PreprocessConfig

    model = tiny_model(name="saved")
    cfg = model_preprocess_config(model)
    assert cfg == PreprocessConfig(size=32)
    model.meta["preprocess"] = cfg.to_dict()
    path = save_model(model, tmp_path / "m.safetensors")
    loaded = load_model(path)
    a = FrameScorer(model, device="cpu").score_frames(frames[:2])
    b = FrameScorer(loaded, device="cpu").score_frames(frames[:2])
    for x, y in zip(a, b):
        assert x.scores.keys() == y.scores.keys()
        for k in x.scores:
            assert x.scores[k] == pytest.approx(y.scores[k], abs=1e-6)
    assert FrameScorer(loaded, device="cpu").preprocess == cfg
    wrong = tiny_model()
    wrong.meta["preprocess"] = PreprocessConfig(size=64).to_dict()
    with pytest.raises(SpaderError, match="size"):
        FrameScorer(wrong, device="cpu")
