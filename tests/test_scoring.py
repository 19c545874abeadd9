"""The seven scorers: shapes, the maps a viewer needs, the definitions, and the sign."""

from __future__ import annotations

import torch

from core.spader import VAE, Regressor, RegressorConfig, VAEConfig
from core.spader.scorers import SCORER_KEYS, reconstruct, score_inputs, score_reconstructions


def _models(size: int = 32) -> tuple[VAE, Regressor]:
    torch.manual_seed(0)
    vae = VAE(VAEConfig(input_size=size, widths=(8, 16), latent_dim=8)).eval()
    reg = Regressor(RegressorConfig(input_size=size, widths=(4, 8))).eval()
    return vae, reg


def test_every_scorer_and_map_per_frame() -> None:
    vae, reg = _models()
    x = torch.rand(3, 1, 32, 32)
    with torch.inference_mode():
        out = score_inputs(vae, reg, x, range(3), m=5).numpy()
    assert set(out.scores) == set(SCORER_KEYS) and len(SCORER_KEYS) == 7
    for k in SCORER_KEYS:
        assert out.scores[k].shape == (3,)
    for name in ("recon", "loss_map", "cam", "weighted_loss"):
        assert getattr(out, name).shape == (3, 32, 32), name
    assert (out.cam >= 0).all() and (out.loss_map >= 0).all()


def test_definitions_follow_the_paper() -> None:
    vae, reg = _models()
    x = torch.rand(4, 1, 32, 32)
    recons, loss = reconstruct(vae, x, range(4), seed=1, m=5)
    assert recons.shape == (4, 5, 1, 32, 32)
    torch.testing.assert_close(loss, (recons - x[:, None]).abs().sum(dim=1)[:, 0])  # summed over M
    out = score_reconstructions(reg, x, recons, loss)
    s = out.scores
    f = reg(x)
    torch.testing.assert_close(s["cnn_reg"], f, atol=1e-6, rtol=0)
    torch.testing.assert_close(s["vae"], -loss.mean(dim=(1, 2)))
    torch.testing.assert_close(s["vae_cnn_reg"], s["vae"] + f, atol=1e-6, rtol=0)
    spade = (loss * out.cam).sum(dim=(1, 2)) / out.cam.sum(dim=(1, 2))
    torch.testing.assert_close(s["spade"], -spade)
    torch.testing.assert_close(s["spader"], -spade + f, atol=1e-6, rtol=0)
    torch.testing.assert_close(s["spade_wo_norm"], -(loss * out.cam).mean(dim=(1, 2)))


def test_higher_is_more_normal_for_reconstruction_scorers() -> None:
    """A frame the VAE reconstructs perfectly scores higher than a noisy copy of it."""
    vae, reg = _models()
    with torch.no_grad():
        clean = vae.reconstruct(torch.rand(1, 1, 32, 32), 1)[:, 0]
        clean = vae.decode(vae.encode(clean)[0])  # a fixed point-ish image the decoder can make
    noisy = (clean + 0.4 * torch.randn_like(clean)).clamp(0, 1)
    with torch.inference_mode():
        out = score_inputs(vae, reg, torch.cat([clean, noisy]), [0, 1], m=5)
    for k in ("vae", "spade"):
        assert out.scores[k][0] > out.scores[k][1], k


def test_the_seed_and_frame_indices_make_scores_reproducible() -> None:
    vae, reg = _models()
    x = torch.rand(2, 1, 32, 32)
    a = score_inputs(vae, reg, x, [3, 4], seed=7).scores["spader"]
    b = score_inputs(vae, reg, x, [3, 4], seed=7).scores["spader"]
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_batched_equals_one_by_one() -> None:
    vae, reg = _models()
    x = torch.rand(3, 1, 32, 32)
    recons, loss = reconstruct(vae, x, range(3), seed=0, m=3)
    whole = score_reconstructions(reg, x, recons, loss)
    for i in range(3):
        one = score_reconstructions(reg, x[i : i + 1], recons[i : i + 1], loss[i : i + 1])
        for k in SCORER_KEYS:
            torch.testing.assert_close(one.scores[k], whole.scores[k][i : i + 1], atol=1e-5, rtol=1e-5)
