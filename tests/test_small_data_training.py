"""The recipe on a small real-sized data set (40 frames a class, a few "people"): every
regressor leaves the constant-output plateau on its first start, whatever the seed.

The frames are drawn here, not loaded: a palm (an ellipse) on a forearm, at a
person-dependent angle, size and place, with no finger (the normal pose) or with one or
two fingers (the gestures), as the real Kinect frames of ../shared/data/ntu_dev are. On
them the same recipe without BatchNorm (``reg_norm="none"``) stayed at the plateau in seed 1
(f(x) = 0.09 for every class); the defaults (BatchNorm, augmentation, a budget in steps,
a stratified validation whose "learned" check reads the real classes) learn in every one.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest
import torch

from core.spader.fitting import train_regressor
from core.spader.metrics import auroc as auroc_of
from core.spader.pseudo_anomalies import make_pseudo_anomalies
from core.spader.recipe import FolderTrainConfig, recipe_settings
from core.spader.regressor import Regressor

SIZE = 32


def gestures(n: int, fingers: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    out = np.zeros((n, 1, SIZE, SIZE), np.float32)
    s = SIZE / 48
    for i in range(n):
        im = np.zeros((SIZE, SIZE), np.float32)
        cx, cy = SIZE / 2 + rng.uniform(-5, 5) * s, SIZE / 2 + rng.uniform(-5, 5) * s
        r, a = rng.uniform(7, 10) * s, rng.uniform(-40, 40)
        cv2.ellipse(im, (int(cx), int(cy)), (int(r), int(r * 1.2)), a, 0, 360, 0.9, -1)
        t = np.radians(a + 90)  # the forearm, further away
        cv2.line(im, (int(cx), int(cy)), (int(cx + 30 * s * np.cos(t)), int(cy + 30 * s * np.sin(t))), 0.5, max(1, int(r)))
        for f in range(fingers):
            t = np.radians(a - 90 + (f - (fingers - 1) / 2) * 18)
            cv2.line(im, (int(cx), int(cy)), (int(cx + 2.2 * r * np.cos(t)), int(cy + 2.2 * r * np.sin(t))), 0.95, max(1, int(2 * s)))
        out[i, 0] = cv2.GaussianBlur(im, (0, 0), 1.0)
    return torch.from_numpy(out)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_regressor_learns_on_its_first_start(seed: int) -> None:
    cfg = FolderTrainConfig(normal="fist", known=("one finger",), seed=seed)
    s = recipe_settings(cfg, SIZE, smooth_px=1.0, show_bars=False)
    normal, known = gestures(40, 0, seed), gestures(40, 1, seed + 100)
    pseudo = make_pseudo_anomalies(normal, seed=seed, smooth_px=1.0)
    torch.manual_seed(seed)
    reg = Regressor(s.regressor.member())
    hist = train_regressor(reg, normal, known, replace(s.reg_train, seed=seed), pseudo=pseudo,
                           pseudo_share=cfg.pseudo_share, max_starts=1)
    assert hist.learned and hist.starts == 1, min(hist.val_loss)
    assert hist.steps >= cfg.reg_min_steps * 0.5  # early stopping may end it, but not after a few passes
    with torch.no_grad():
        f = {k: reg(gestures(30, k, seed + 50 + k)).numpy() for k in (0, 1, 2)}
    # unseen frames: the normal pose ranked above the known gesture and the unknown one
    # (a constant output, the plateau, ranks at 0.5)
    for k in (1, 2):
        auroc = auroc_of(np.r_[f[0], f[k]], np.r_[np.ones(30), np.zeros(30)].astype(bool))
        assert auroc > 0.8, (k, auroc, f[0].mean(), f[k].mean())
