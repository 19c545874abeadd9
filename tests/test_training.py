"""Training: learns, is seeded, stops early, restores the best weights, resumes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from core.spader import VAE, Regressor, RegressorConfig, VAEConfig
from core.spader.fitting import TrainConfig, train_regressor, train_vae


def _blobs(n: int, solid: bool, seed: int) -> torch.Tensor:
    """Normal: a solid square; anomaly: thin stripes of the same extent (GAP sees texture)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 24, 24, generator=g) * 0.2
    if solid:
        x[:, :, 6:18, 6:18] += 0.7
    else:
        x[:, :, 6:18:3, 6:18] += 0.7
    return x.clamp(0, 1)


CFG = TrainConfig(epochs=6, batch_size=16, lr=3e-3, progress=False, seed=1)


def test_regressor_learns_normal_vs_known() -> None:
    torch.manual_seed(0)
    reg = Regressor(RegressorConfig(input_size=24, widths=(4, 8)))
    hist = train_regressor(reg, _blobs(64, True, 0), _blobs(64, False, 1), replace(CFG, epochs=30, patience=30))
    assert hist.val_loss[-1] < hist.val_loss[0] and hist.starts == 1
    with torch.no_grad():
        f_normal = reg(_blobs(32, True, 5)).mean()
        f_anom = reg(_blobs(32, False, 6)).mean()
    assert f_normal > 0.75 and f_anom < 0.25


def test_vae_loss_goes_down_and_model_is_left_in_eval_mode() -> None:
    torch.manual_seed(0)
    vae = VAE(VAEConfig(input_size=24, widths=(8, 16), latent_dim=4))
    hist = train_vae(vae, _blobs(96, True, 0), CFG)
    assert hist.train_loss[-1] < hist.train_loss[0]
    assert not vae.training
    assert 0 <= hist.best_epoch < CFG.epochs


def test_same_seed_same_weights() -> None:
    def run() -> list[torch.Tensor]:
        torch.manual_seed(123)  # different init RNG state must not matter: the config seed rules
        reg = Regressor(RegressorConfig(input_size=24, widths=(4, 8)))
        train_regressor(reg, _blobs(32, True, 0), _blobs(32, False, 1), replace(CFG, epochs=3))
        return [p.detach().clone() for p in reg.parameters()]

    for a, b in zip(run(), run()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_early_stopping_and_best_weights() -> None:
    torch.manual_seed(0)
    reg = Regressor(RegressorConfig(input_size=24, widths=(4, 8)))
    # random labels: validation cannot improve for long
    x = torch.rand(64, 1, 24, 24)
    # no plateau guard (random labels never leave it): patience alone decides
    hist = train_regressor(reg, x[:32], x[32:], replace(CFG, epochs=50, patience=2, lr=1e-2, plateau_loss=float("inf")))
    assert hist.stopped_early and len(hist.val_loss) < 50
    assert hist.val_loss[hist.best_epoch] == min(hist.val_loss)


def test_resume_continues_where_it_stopped(tmp_path: Path) -> None:
    state = tmp_path / "state.safetensors"
    normal, anom = _blobs(32, True, 0), _blobs(32, False, 1)

    torch.manual_seed(0)
    straight = Regressor(RegressorConfig(input_size=24, widths=(4, 8)))
    h_straight = train_regressor(straight, normal, anom, replace(CFG, epochs=4, patience=99, plateau_loss=float("inf")))

    torch.manual_seed(0)
    first = Regressor(RegressorConfig(input_size=24, widths=(4, 8)))
    train_regressor(first, normal, anom, replace(CFG, epochs=2, patience=99, plateau_loss=float("inf")), state_path=state)
    assert state.exists()
    torch.manual_seed(99)
    resumed = Regressor(RegressorConfig(input_size=24, widths=(4, 8)))
    h_resumed = train_regressor(resumed, normal, anom, replace(CFG, epochs=4, patience=99, plateau_loss=float("inf")), state_path=state)
    assert h_resumed.resumed_from_epoch == 2
    assert len(h_resumed.val_loss) == 4
    for a, b in zip(h_straight.val_loss, h_resumed.val_loss):
        assert abs(a - b) < 1e-5
    for a, b in zip(straight.parameters(), resumed.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)


def test_regressor_early_stopping_waits_while_it_still_outputs_a_constant() -> None:
    """A regressor on the constant-output plateau (weighted L1 0.5) is not stopped there:
    that once ended runs untrained. Here it outputs 0.5 everywhere and lr=0 keeps it so."""

    def stuck_regressor() -> Regressor:
        reg = Regressor(RegressorConfig(input_size=24, widths=(4, 8)))
        with torch.no_grad():
            reg.head.fc.weight.zero_()
            reg.head.fc.bias.fill_(0.5)
        return reg

    normal, anomalous = _blobs(128, True, 0), _blobs(128, False, 1)
    stuck = replace(CFG, epochs=6, patience=2, lr=0.0)
    hist = train_regressor(stuck_regressor(), normal, anomalous, stuck)
    assert min(hist.val_loss) > 0.45 and len(hist.val_loss) == 6 and not hist.stopped_early
    assert hist.starts == 5 and not hist.learned  # never learned: redone from fresh initialisations, then given up
    # with a plateau level no loss reaches (no guard), the same run stops after its patience
    hist = train_regressor(stuck_regressor(), normal, anomalous, replace(stuck, plateau_loss=float("inf")))
    assert hist.stopped_early and len(hist.val_loss) == 3 and hist.starts == 1


def test_a_regressor_that_never_learned_is_started_again() -> None:
    """All-zero convolutions give zero features and zero gradients: that start cannot learn.
    The next start begins from a fresh initialisation and does."""
    torch.manual_seed(0)
    reg = Regressor(RegressorConfig(input_size=24, widths=(4, 8)))
    with torch.no_grad():
        for p in reg.features.parameters():
            p.zero_()
    normal, anomalous = _blobs(64, True, 0), _blobs(64, False, 1)
    hist = train_regressor(reg, normal, anomalous, replace(CFG, epochs=30, patience=30))
    assert hist.starts == 2 and min(hist.val_loss) < 0.45 and hist.learned
    with torch.no_grad():
        assert reg(_blobs(16, True, 5)).mean() > reg(_blobs(16, False, 6)).mean() + 0.5


def test_a_small_data_set_trains_for_the_step_budget_and_a_large_one_for_its_epochs() -> None:
    """Budgets in optimiser steps: 20 frames at batch 16 are 2 steps a pass, so 2 epochs
    would be 4 steps; ``min_steps`` makes it 60, validated in rounds of at least 10 steps."""
    torch.manual_seed(0)
    small = replace(CFG, epochs=2, patience=99, min_steps=60, round_steps=10)
    hist = train_vae(VAE(VAEConfig(input_size=24, widths=(8, 16), latent_dim=4)), _blobs(20, True, 0), small)
    assert hist.steps == 60 and len(hist.val_loss) == 6  # 6 rounds of 5 passes of 2 steps
    # 200 frames: a pass is 12 steps, more than a round, so the epochs rule as they always did
    hist = train_vae(VAE(VAEConfig(input_size=24, widths=(8, 16), latent_dim=4)), _blobs(200, True, 0),
                     replace(small, epochs=6, min_steps=0))
    assert len(hist.val_loss) == 6 and hist.steps == 6 * 12


def test_the_regressor_validates_on_every_group() -> None:
    """A random 10 % of 40 normal + 4 known + 40 pseudo once held no known frame at all."""
    from core.spader.fitting import _split

    strata = torch.tensor([0] * 40 + [1] * 4 + [2] * 40)
    for seed in range(20):
        val, train = _split(len(strata), 0.1, torch.Generator().manual_seed(seed), strata)
        assert sorted(strata[val].tolist()) == [0] * 4 + [1] + [2] * 4  # each group its share, at least one
        assert len(set(val.tolist()) | set(train.tolist())) == len(strata) == len(val) + len(train)


def test_the_learned_check_reads_the_real_classes_and_the_weights_follow_the_whole_objective() -> None:
    """f(x) = 1 on normal, 0 on known, 1 on pseudo: the real task is solved (task loss 0),
    the objective is not (pseudo weighs 80 % of the anomalous side: 0.4)."""
    from core.spader.fitting import _regressor_val_losses

    x = torch.cat([torch.ones(4, 1, 2, 2), torch.zeros(4, 1, 2, 2), torch.ones(4, 1, 2, 2)])
    group = torch.tensor([0] * 4 + [1] * 4 + [2] * 4)
    oracle = lambda xb: xb.mean(dim=(1, 2, 3))  # noqa: E731
    model = torch.nn.Module()
    model.forward = oracle
    selection, task = _regressor_val_losses(0.8)(model, (x, None, None, group), 5, "cpu")
    assert task == pytest.approx(0.0) and selection == pytest.approx(0.4)
    selection, task = _regressor_val_losses(0.0)(model, (x[:8], None, None, group[:8]), 5, "cpu")
    assert selection == task == pytest.approx(0.0)
