"""The one-known sweep: says so when a regressor never left the constant-output plateau."""

from __future__ import annotations

import torch

from core.experiments.sweep import SweepSettings, run_sweep
from core.models import RegressorConfig, VAEConfig
from core.training import TrainConfig


def _settings(reg_lr: float) -> SweepSettings:
    quick = TrainConfig(epochs=3, batch_size=8, lr=1e-3, progress=False, device="cpu")
    return SweepSettings(
        vae=VAEConfig(input_size=16, latent_dim=4, widths=(4, 8)),
        regressor=RegressorConfig(input_size=16, widths=(4, 8)),
        vae_train=quick,
        reg_train=TrainConfig(epochs=3, batch_size=8, lr=reg_lr, progress=False, device="cpu"),
        m=2,
    )


def _data() -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    normal = torch.rand(24, 1, 16, 16, generator=g) * 0.1
    normal[:, :, 4:12, 4:12] += 0.8
    known = torch.rand(24, 1, 16, 16, generator=g) * 0.1
    return normal, {"blank": known}, torch.cat([normal[:4], known[:4]])


def test_a_regressor_that_did_not_learn_is_reported() -> None:
    normal, known, test_x = _data()
    said: list[str] = []
    outcome = run_sweep(normal, known, test_x, _settings(reg_lr=0.0), progress=said.append)
    assert set(outcome.scores) == {"blank"}
    warnings = [m for m in said if m.startswith("warning:")]
    assert len(warnings) == 1 and "'blank' did not learn" in warnings[0] and "--seed" in warnings[0]


def test_a_regressor_that_learned_brings_no_warning() -> None:
    normal, known, test_x = _data()
    said: list[str] = []
    run_sweep(normal, known, test_x, _settings(reg_lr=1e-2), progress=said.append)
    assert not [m for m in said if m.startswith("warning:")]
