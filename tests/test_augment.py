"""Training-time augmentation: small random similarity transforms and depth offsets."""

from __future__ import annotations

import pytest
import torch

from core.spader.augment import Augmentation, augment


def _square(n: int = 4, size: int = 32) -> torch.Tensor:
    x = torch.zeros(n, 1, size, size)
    x[:, :, 10:22, 12:20] = 0.8
    return x


def test_no_change_is_the_identity() -> None:
    x = _square()
    out = augment(x, Augmentation(0, 0, 0, 0), torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, x, atol=1e-5, rtol=0)


def test_same_generator_state_same_images_and_each_image_its_own_transform() -> None:
    x = _square(8)
    a = augment(x, Augmentation(), torch.Generator().manual_seed(3))
    b = augment(x, Augmentation(), torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert not torch.allclose(a[0], a[1])  # one draw per image, not per batch
    assert a.shape == x.shape and a.min() >= 0 and a.max() <= 1


def test_the_background_stays_background_and_the_depth_offset_moves_only_the_hand() -> None:
    x = _square(16)
    out = augment(x, Augmentation(rotate_deg=0, scale=0, shift=0, depth=0.1), torch.Generator().manual_seed(1))
    assert torch.equal(out[x == 0], torch.zeros_like(out[x == 0]))
    offsets = (out - x)[x > 0].view(16, -1)
    assert offsets.std(dim=1).max() < 1e-6  # one offset per image, over its whole hand
    assert offsets.abs().max() <= 0.1 + 1e-6 and offsets[:, 0].std() > 0.01


def test_a_turn_and_a_shift_move_the_hand_but_bring_in_no_foreground() -> None:
    x = _square(32)
    out = augment(x, Augmentation(rotate_deg=20, scale=0.1, shift=0.08, depth=0), torch.Generator().manual_seed(2))
    moved = (out > 0.4).float().flatten(1)
    kept = (x > 0.4).float().flatten(1)
    overlap = (moved * kept).sum(1) / kept.sum(1)
    assert overlap.min() < 0.9  # the hand has moved in most draws
    area = moved.sum(1) / kept.sum(1)
    assert 0.6 < area.min() and area.max() < 1.45  # scale +-10 %: area within about +-21 %
    assert out[:, :, :2].max() == 0 and out[:, :, :, :2].max() == 0  # borders that come into view are empty


@pytest.mark.parametrize("bad", [dict(rotate_deg=-1), dict(scale=1.0), dict(depth=float("nan"))])
def test_settings_are_checked(bad: dict) -> None:
    with pytest.raises(ValueError, match="augmentation"):
        Augmentation(**bad)


def test_the_vae_can_learn_from_unaugmented_frames_while_the_regressors_are_augmented() -> None:
    from core.spader.recipe import FolderTrainConfig, recipe_settings

    both = recipe_settings(FolderTrainConfig(normal="a", known=("b",)), 64, 1.0)
    assert both.vae_train.augment is not None and both.reg_train.augment is not None
    reg_only = recipe_settings(FolderTrainConfig(normal="a", known=("b",), vae_augment=False), 64, 1.0)
    assert reg_only.vae_train.augment is None and reg_only.reg_train.augment is not None
    none = recipe_settings(FolderTrainConfig(normal="a", known=("b",), augment=False), 64, 1.0)
    assert none.vae_train.augment is None and none.reg_train.augment is None
