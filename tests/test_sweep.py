"""The training recipe (train_networks): says so when a regressor never left the constant-output plateau; an
ensemble of regressors keeps the single regressor as its first member; the regressors can
learn from a subset of the normal frames while the VAE learns from all."""

from __future__ import annotations

from dataclasses import replace

import torch

from core.spader.recipe import RecipeSettings, train_networks
from core.spader import RegressorConfig, VAEConfig
from core.spader.fitting import TrainConfig


def _settings(reg_lr: float) -> RecipeSettings:
    quick = TrainConfig(epochs=3, batch_size=8, lr=1e-3, progress=False, device="cpu")
    return RecipeSettings(
        vae=VAEConfig(input_size=16, latent_dim=4, widths=(4, 8)),
        regressor=RegressorConfig(input_size=16, widths=(4, 8)),
        vae_train=quick,
        reg_train=TrainConfig(epochs=3, batch_size=8, lr=reg_lr, progress=False, device="cpu"),
    )


def _data() -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    normal = torch.rand(24, 1, 16, 16, generator=g) * 0.1
    normal[:, :, 4:12, 4:12] += 0.8
    known = torch.rand(24, 1, 16, 16, generator=g) * 0.1
    return normal, {"blank": known}, torch.cat([normal[:4], known[:4]])


def test_a_regressor_that_did_not_learn_is_reported() -> None:
    normal, known, _ = _data()
    said: list[str] = []
    outcome = train_networks(normal, known, _settings(reg_lr=0.0), progress=said.append)
    assert set(outcome.regressors) == {"blank"} and len(outcome.histories["blank"]) == 1
    assert not outcome.histories["blank"][0].learned
    warnings = [m for m in said if m.startswith("warning:")]
    assert len(warnings) == 1 and "'blank' did not learn" in warnings[0] and "--seed" in warnings[0]


def test_a_regressor_that_learned_brings_no_warning() -> None:
    normal, known, _ = _data()
    said: list[str] = []
    train_networks(normal, known, _settings(reg_lr=1e-2), progress=said.append)
    assert not [m for m in said if m.startswith("warning:")]


def test_an_ensemble_keeps_the_single_regressor_as_its_first_member() -> None:
    normal, known, _ = _data()
    base = replace(_settings(reg_lr=1e-2), pseudo_share=0.5)
    single = train_networks(normal, known, base)
    said: list[str] = []
    ens = train_networks(normal, known, replace(base, regressor=replace(base.regressor, members=2)),
                    progress=said.append)
    one, two = single.regressors["blank"], ens.regressors["blank"]
    assert two.config.members == 2 and one.config.members == 1
    width = one.features[0].weight.shape[0]
    # member 1 is the regressor a single run trains (same seeds); member 2 is another one
    torch.testing.assert_close(two.features[0].weight[:width], one.features[0].weight)
    assert not torch.allclose(two.features[0].weight[width:], one.features[0].weight)
    with torch.no_grad():
        first_member_out = two.head.fc.weight[0, : one.head.fc.weight.shape[1]] * 2
    torch.testing.assert_close(first_member_out, one.head.fc.weight[0])
    assert any("'blank'" in m and "2 members" in m for m in said)
    assert sum("pseudo-anomalies" in m for m in said) == 1


def test_the_regressors_can_learn_from_fewer_normal_frames_than_the_vae(monkeypatch) -> None:
    import core.spader.recipe as sweep

    normal, known, _ = _data()
    seen: dict[str, list[torch.Tensor]] = {"vae": [], "reg": [], "pseudo": []}
    real_vae, real_reg = sweep.train_vae, sweep.train_regressor

    def vae_spy(vae, x, config):
        seen["vae"].append(x)
        return real_vae(vae, x, config)

    def reg_spy(reg, x_normal, x_known, config, **kw):
        seen["reg"].append(x_normal)
        seen["pseudo"].append(kw["pseudo"])
        return real_reg(reg, x_normal, x_known, config, **kw)

    monkeypatch.setattr(sweep, "train_vae", vae_spy)
    monkeypatch.setattr(sweep, "train_regressor", reg_spy)
    said: list[str] = []
    s = replace(_settings(reg_lr=1e-2), pseudo_share=0.5, reg_normal_frames=10,
                regressor=replace(_settings(1e-2).regressor, members=2))
    train_networks(normal, known, s, progress=said.append)
    assert len(seen["vae"][0]) == 24
    subset = seen["reg"][0]
    assert len(subset) == 10 and all(len(x) == 10 for x in seen["reg"])
    assert all(len(p) == 10 for p in seen["pseudo"])  # pseudo-anomalies come from the same subset
    # the subset is made of real normal frames, each once, in their original order
    rows = [int(torch.nonzero((normal == f).flatten(1).all(1))[0]) for f in subset]
    assert rows == sorted(set(rows))
    assert any("10 of the 24 normal training images" in m for m in said)
    # the same seed picks the same subset; without a limit every frame is used
    assert torch.equal(sweep.regressor_normals(normal, 10, 0), subset)
    assert sweep.regressor_normals(normal, None, 0) is normal and sweep.regressor_normals(normal, 99, 0) is normal
