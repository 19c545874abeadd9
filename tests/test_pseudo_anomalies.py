"""Pseudo-anomalies: local, seeded, in range, smoothed, and they teach the regressor."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from core.spader import Regressor, RegressorConfig
from core.spader.pseudo_anomalies import FOREGROUND, KINDS, damage, make_pseudo_anomalies
from core.runtime.smoothing import smooth_image
from core.spader.fitting import TrainConfig, regressor_targets, train_regressor


def _hands(seed: int = 0, size: int = 64) -> np.ndarray:
    """A model input: two bright bars meeting at the bottom (a "V", the hands) on black."""
    rng = np.random.default_rng(seed)
    img = np.zeros((size, size), np.float32)
    c = size // 2 + int(rng.integers(-4, 5))
    bottom = 3 * size // 4 + int(rng.integers(-3, 4))
    for i in range(size // 5, bottom):
        t = 0.7 * (bottom - i)
        img[i, max(0, int(c - t) - 3) : int(c - t) + 3] = 0.9
        img[i, int(c + t) - 3 : int(c + t) + 3] = 0.95
    return smooth_image(img, 1.0)


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_changes_the_hands_and_stays_in_range(kind: str) -> None:
    img = _hands()
    out = damage(img, kind, np.random.default_rng(1), smooth_px=1.0)
    assert out.shape == img.shape and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert np.abs(out - img).sum() > 1.0  # something visible changed
    assert not np.shares_memory(out, img)


@pytest.mark.parametrize("kind", ("erase", "scar", "bump"))
def test_damage_stays_near_the_hands(kind: str) -> None:
    img = _hands()
    out = damage(img, kind, np.random.default_rng(5), smooth_px=1.0)
    ys, xs = np.nonzero(img > FOREGROUND)
    far = np.ones_like(img, bool)
    far[max(0, ys.min() - 6) : ys.max() + 7, max(0, xs.min() - 6) : xs.max() + 7] = False
    assert np.array_equal(out[far], img[far])


def test_damage_edges_are_no_sharper_than_the_input() -> None:
    """Smoothed like the input: the largest step between neighbours does not grow much."""
    img = _hands()
    for seed in range(10):
        out = damage(img, "erase", np.random.default_rng(seed), smooth_px=1.0)
        step_in = np.abs(np.diff(img, axis=1)).max()
        step_out = np.abs(np.diff(out, axis=1)).max()
        assert step_out <= step_in * 1.25


def test_empty_frame_comes_back_unchanged() -> None:
    img = np.zeros((32, 32), np.float32)
    for kind in KINDS:
        np.testing.assert_array_equal(damage(img, kind, np.random.default_rng(0)), img)


def test_batch_is_seeded_and_cycles_the_kinds() -> None:
    x = torch.from_numpy(np.stack([_hands(s) for s in range(10)]))[:, None]
    a = make_pseudo_anomalies(x, copies=2, seed=4)
    b = make_pseudo_anomalies(x, copies=2, seed=4)
    c = make_pseudo_anomalies(x, copies=2, seed=5)
    assert a.shape == (20, 1, 64, 64)
    assert torch.equal(a, b) and not torch.equal(a, c)
    # every copy is damaged, and every kind of damage is used (turn moves the most pixels)
    changed = (a - torch.cat([x, x])).abs().flatten(1).sum(1)
    assert (changed > 0).all()
    assert changed[KINDS.index("turn")::len(KINDS)].min() > changed[KINDS.index("bump")::len(KINDS)].max()
    assert torch.equal(x, torch.from_numpy(np.stack([_hands(s) for s in range(10)]))[:, None])  # input untouched


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="N, 1, H, W"):
        make_pseudo_anomalies(torch.zeros(4, 32, 32))
    with pytest.raises(ValueError, match="unknown pseudo-anomaly"):
        damage(_hands(), "melt", np.random.default_rng(0))
    with pytest.raises(ValueError, match="unknown pseudo-anomalies"):
        make_pseudo_anomalies(torch.zeros(4, 1, 32, 32), kinds=("erase", "melt"))


def test_a_chosen_subset_of_kinds_is_all_that_is_used() -> None:
    x = torch.from_numpy(np.stack([_hands(s) for s in range(4)]))[:, None]
    only_bumps = make_pseudo_anomalies(x, copies=2, seed=3, kinds=("bump",))
    rng = np.random.default_rng([3, 7])
    expected = [damage(img, "bump", rng) for img in torch.cat([x, x])[:, 0].numpy()]
    np.testing.assert_array_equal(only_bumps[:, 0].numpy(), np.stack(expected))


def test_the_regressor_learns_pseudo_anomalies_as_not_normal() -> None:
    """Known anomaly: no hands at all. Pseudo-anomalies (here: one hand cut away, a kind
    the known class does not show) enter training with target 0, so f(x) learns them as
    not normal; without them f(x) puts one hand much nearer to normal."""
    normal = torch.from_numpy(np.stack([_hands(s) for s in range(48)]))[:, None]
    known = torch.full_like(normal, 0.02)
    def one_hand(x: torch.Tensor) -> torch.Tensor:
        out = x.clone()
        out[..., :, : x.shape[-1] // 2] = 0.0
        return out

    cut = one_hand(normal)
    held_out = one_hand(torch.from_numpy(np.stack([_hands(100 + s) for s in range(16)]))[:, None])
    cfg = TrainConfig(epochs=60, batch_size=16, lr=3e-3, progress=False, seed=1, patience=60)

    def f_one_hand(pseudo: torch.Tensor | None) -> float:
        torch.manual_seed(0)
        # the recipe's regressor (BatchNorm): without it this small one fitted the cut hands
        # only to f = 0.36 on some splits (0.008 with it; 0.72 without pseudo-anomalies)
        reg = Regressor(RegressorConfig(input_size=64, widths=(8, 16, 16), norm="batch"))
        train_regressor(reg, normal, known, replace(cfg), pseudo=pseudo, pseudo_share=0.5 if pseudo is not None else 0.0)
        with torch.no_grad():
            assert reg(normal).mean() > 0.8 and reg(known).mean() < 0.2
            return float(reg(held_out).mean())

    with_pseudo, without = f_one_hand(cut), f_one_hand(None)
    assert with_pseudo < 0.3 and without > with_pseudo + 0.2, (with_pseudo, without)


def test_pseudo_share_must_leave_room_for_the_known_class() -> None:
    reg = Regressor(RegressorConfig(input_size=32, widths=(4, 8)))
    x = torch.zeros(4, 1, 32, 32)
    with pytest.raises(ValueError, match="pseudo_share"):
        train_regressor(reg, x, x, TrainConfig(epochs=1, progress=False), pseudo=x, pseudo_share=1.0)


def test_class_weights_split_the_anomalous_side() -> None:
    normal, known, pseudo = torch.zeros(30, 1, 8, 8), torch.ones(10, 1, 8, 8), torch.full((60, 1, 8, 8), 0.5)
    x, y, w = regressor_targets(normal, known, pseudo, pseudo_share=0.8)
    assert len(x) == len(y) == len(w) == 100
    assert torch.isclose(w.mean(), torch.tensor(1.0))
    total = w.sum()
    assert torch.isclose(w[:30].sum() / total, torch.tensor(0.5))  # normal
    assert torch.isclose(w[30:40].sum() / total, torch.tensor(0.1))  # known: 0.5 * (1 - 0.8)
    assert torch.isclose(w[40:].sum() / total, torch.tensor(0.4))  # pseudo: 0.5 * 0.8
    assert y[:30].eq(1).all() and y[30:].eq(0).all()
    # without pseudo-anomalies (or a share of 0) the paper's equal weighting comes back
    for args in ((None, 0.8), (pseudo, 0.0)):
        x, y, w = regressor_targets(normal, known, *args)
        assert len(x) == 40 and torch.isclose(w[:30].sum(), w[30:].sum())
