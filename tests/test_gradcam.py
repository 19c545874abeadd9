"""Grad-CAM: the fast path (no backward pass) equals autograd and an independent implementation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from core.spader.gradcam import gradcam
from core.spader import Regressor, RegressorConfig


def _model(kind: str = "plain", seed: int = 0) -> Regressor:
    torch.manual_seed(seed)
    return Regressor(RegressorConfig(input_size=48, widths=(8, 16, 16), kind=kind)).eval()


@pytest.mark.parametrize("kind", ["plain", "resnet"])
def test_fast_path_equals_autograd(kind: str) -> None:
    model = _model(kind)
    x = torch.rand(6, 1, 48, 48)
    y_fast, cam_fast = gradcam(model, x, method="fast")
    y_auto, cam_auto = gradcam(model, x, method="autograd")
    assert cam_fast.shape == (6, 48, 48)
    torch.testing.assert_close(y_fast, y_auto, rtol=0, atol=1e-6)
    torch.testing.assert_close(cam_fast, cam_auto, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(y_fast, model(x), rtol=0, atol=1e-6)


def test_maps_are_signed_and_not_trivial() -> None:
    model = _model()
    x = torch.rand(4, 1, 48, 48)
    _, cam = gradcam(model, x)
    with torch.no_grad():
        model.head.fc.weight.neg_()
    _, flipped = gradcam(model, x)
    torch.testing.assert_close(flipped, -cam)  # signed: the scorers apply Abs / ReLU themselves
    assert not cam.requires_grad
    assert not torch.allclose(cam[0], cam[1])


def test_agrees_with_captum_layergradcam() -> None:
    captum_attr = pytest.importorskip("captum.attr")
    model = _model(seed=3)
    x = torch.rand(5, 1, 48, 48)
    _, ours = gradcam(model, x, method="fast")
    lgc = captum_attr.LayerGradCam(model, model.features)
    attr = lgc.attribute(x, relu_attributions=False)
    ref = captum_attr.LayerAttribution.interpolate(attr, (48, 48), interpolate_mode="bilinear")[:, 0]
    torch.testing.assert_close(ours, ref.detach(), rtol=1e-5, atol=1e-6)


def test_fast_path_refuses_other_heads() -> None:
    model = _model()
    model.head = nn.Sequential(nn.Flatten(), nn.LazyLinear(1), nn.Flatten(0))
    x = torch.rand(2, 1, 48, 48)
    model.head(model.features(x))  # materialise the lazy layer
    with pytest.raises(ValueError, match="global-average-pool"):
        gradcam(model, x, method="fast")
    y, cam = gradcam(model, x)  # auto falls back to autograd
    assert cam.shape == (2, 48, 48) and y.shape == (2,)


def test_works_in_inference_mode() -> None:
    model = _model()
    with torch.inference_mode():
        _, cam = gradcam(model, torch.rand(2, 1, 48, 48))
    assert torch.isfinite(cam).all()


def test_an_ensemble_is_one_network_whose_output_and_cam_are_the_members_means() -> None:
    members = [_model(seed=s) for s in range(3)]
    ensemble = Regressor.from_members(members)
    assert ensemble.config.members == 3 and ensemble.config.widths == members[0].config.widths
    x = torch.rand(5, 1, 48, 48)
    ys, cams = zip(*(gradcam(m, x) for m in members))
    y, cam = gradcam(ensemble, x, method="fast")
    torch.testing.assert_close(y, torch.stack(ys).mean(dim=0), rtol=0, atol=1e-6)
    torch.testing.assert_close(cam, torch.stack(cams).mean(dim=0), rtol=1e-5, atol=1e-7)
    _, cam_auto = gradcam(ensemble, x, method="autograd")
    torch.testing.assert_close(cam_auto, cam, rtol=1e-5, atol=1e-7)
    # the towers are independent: changing one member's weights moves only its share
    with torch.no_grad():
        members[1].head.fc.bias.add_(3.0)
    torch.testing.assert_close(Regressor.from_members(members)(x), y + 1.0, rtol=0, atol=1e-5)


def test_ensembles_are_made_only_of_like_single_plain_regressors() -> None:
    with pytest.raises(ValueError, match="members"):
        Regressor.from_members([])
    with pytest.raises(ValueError, match="one configuration"):
        Regressor.from_members([_model(), Regressor(RegressorConfig(input_size=48, widths=(8, 16)))])
    with pytest.raises(ValueError, match="one configuration"):
        Regressor.from_members([_model("resnet"), _model("resnet")])
    with pytest.raises(ValueError, match="plain kind"):
        RegressorConfig(kind="resnet", members=2)
    for bad in (0, 1.5):
        with pytest.raises(ValueError, match="members"):
            RegressorConfig(members=bad)


def test_fewer_halvings_give_a_finer_grad_cam_layer_that_ensembles_and_autograd_agree_on() -> None:
    torch.manual_seed(0)
    config = RegressorConfig(input_size=48, widths=(8, 16, 16, 16), halvings=2)
    members = [Regressor(config).eval() for _ in range(2)]
    x = torch.rand(4, 1, 48, 48)
    with torch.no_grad():
        assert members[0].features(x).shape[-2:] == (12, 12)  # 48 / 2**2, not 48 / 2**3
        assert Regressor(RegressorConfig(input_size=48, widths=(8, 16, 16, 16))).features(x).shape[-2:] == (6, 6)
    ensemble = Regressor.from_members(members)
    assert ensemble.config.halvings == 2
    y, cam = gradcam(ensemble, x, method="fast")
    _, cam_auto = gradcam(ensemble, x, method="autograd")
    torch.testing.assert_close(cam_auto, cam, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(y, torch.stack([m(x) for m in members]).mean(dim=0), rtol=0, atol=1e-6)
    for bad in (-1, 4, 1.5):
        with pytest.raises(ValueError, match="halvings"):
            RegressorConfig(widths=(8, 16, 16, 16), halvings=bad)
    with pytest.raises(ValueError, match="plain kind"):
        RegressorConfig(kind="resnet", halvings=1)


def test_batch_normed_members_ensemble_with_their_own_statistics() -> None:
    config = RegressorConfig(input_size=32, widths=(4, 8, 8), norm="batch")
    members = []
    for seed in range(3):  # trained statistics differ per member: each tower must keep its own
        torch.manual_seed(seed)
        m = Regressor(config).train()
        with torch.no_grad():
            m(torch.rand(8, 1, 32, 32) * (seed + 1))
        members.append(m.eval())
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in members[0].features) == 3
    ensemble = Regressor.from_members(members)
    x = torch.rand(4, 1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ensemble(x), torch.stack([m(x) for m in members]).mean(dim=0), rtol=0, atol=1e-6)
    y, cam = gradcam(ensemble, x, method="fast")
    _, cam_auto = gradcam(ensemble, x, method="autograd")
    torch.testing.assert_close(cam_auto, cam, rtol=1e-5, atol=1e-7)
    member_cams = torch.stack([gradcam(m, x)[1] for m in members]).mean(dim=0)
    torch.testing.assert_close(cam, member_cams, rtol=1e-5, atol=1e-6)
    # what the scoring pipeline runs: the BatchNorms folded into the convolutions, same results
    folded = ensemble.folded()
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.features)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in ensemble.features)  # the original is untouched
    y_f, cam_f = gradcam(folded, x, method="fast")
    torch.testing.assert_close(y_f, y, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(cam_f, cam, rtol=1e-4, atol=1e-6)
    plain = Regressor(RegressorConfig(input_size=32, widths=(4, 8)))
    assert plain.folded() is plain
    with pytest.raises(ValueError, match="norm"):
        RegressorConfig(norm="layer")
    with pytest.raises(ValueError, match="plain kind"):
        RegressorConfig(kind="resnet", norm="batch")
