"""One scoring path: the bundled model's demo scores are as they were, and every caller
(the app's FrameScorer, the experiments' score_dataset, training's threshold, evaluate)
gives a frame the same scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from capture.session.reader import SessionReader
from core.assets import default_model_path, demo_session_path
from core.runtime.scorer import FrameScorer
from core.spader.checkpoint import load_model
from core.spader.scorers import M_SAMPLES, SCORER_KEYS, score_dataset, score_inputs
from support import tiny_model

REFERENCE = Path(__file__).parent / "data" / "demo_scores.json"


@pytest.mark.slow
def test_the_bundled_model_scores_every_demo_frame_as_before() -> None:
    """tests/data/demo_scores.json was written by tests/data/make_demo_reference.py before
    the method moved into core/spader; every frame must score the same to float rounding."""
    ref = json.loads(REFERENCE.read_text())
    scorer = FrameScorer(load_model(default_model_path()), device="cpu")
    frames = list(SessionReader(demo_session_path()))
    assert len(frames) == len(ref) > 100
    for frame in frames:
        (res,) = scorer.score_frames([frame])
        want = ref[str(frame.index)]
        if want is None:
            assert not res.has_hand
            continue
        assert res.has_hand, frame.index
        for k in SCORER_KEYS:
            assert res.scores[k] == pytest.approx(want[k], abs=1e-5), (frame.index, k)


def test_the_experiments_path_equals_the_app_path() -> None:
    """score_dataset (sweeps, threshold, evaluate) and FrameScorer (app, spader score)
    give each frame the same seven scores, for a plain and an ensemble BatchNorm model."""
    x = torch.from_numpy(np.random.default_rng(3).random((11, 1, 32, 32), dtype=np.float32))
    plain = tiny_model()
    ensemble = tiny_model(seed=1, members=3, norm="batch")
    for seed in (0, 5):
        table = score_dataset(plain.vae, {"plain": plain.regressor}, x, seed=seed, batch=4)["plain"]
        app = FrameScorer(plain, device="cpu", seed=seed).score_arrays(x, range(len(x))).scores
        for k in SCORER_KEYS:
            np.testing.assert_allclose(table[k], app[k], atol=1e-5, rtol=0, err_msg=k)
    model = tiny_model()
    model.regressor = ensemble.regressor
    table = score_dataset(model.vae, {"a": plain.regressor, "b": ensemble.regressor}, x, seed=2, batch=5)
    app = FrameScorer(model, device="cpu", seed=2).score_arrays(x, range(len(x))).scores
    for k in SCORER_KEYS:
        np.testing.assert_allclose(table["b"][k], app[k], atol=1e-5, rtol=0, err_msg=k)
    # the shared reconstructions make the VAE-only rows identical between regressors
    np.testing.assert_array_equal(table["a"]["vae"], table["b"]["vae"])


def test_a_frames_scores_depend_on_its_index_and_seed_not_its_batch() -> None:
    m = tiny_model()
    x = torch.rand(6, 1, 32, 32)
    whole = score_inputs(m.vae, m.regressor, x, range(10, 16), seed=4).scores["spader"]
    for i in range(6):
        one = score_inputs(m.vae, m.regressor, x[i : i + 1], [10 + i], seed=4).scores["spader"]
        assert float(one[0]) == pytest.approx(float(whole[i]), abs=1e-5)
    other_seed = score_inputs(m.vae, m.regressor, x[:1], [10], seed=5).scores["vae"]
    assert float(other_seed[0]) != pytest.approx(float(score_inputs(m.vae, m.regressor, x[:1], [10], seed=4).scores["vae"][0]), abs=1e-7)


def test_m_has_one_source() -> None:
    assert M_SAMPLES == 5
    assert FrameScorer(tiny_model(), device="cpu").m == M_SAMPLES
