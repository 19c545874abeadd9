"""Operating threshold from validation scores."""

from __future__ import annotations

import numpy as np

from core.spader.thresholds import youden_threshold


def test_separable_scores_give_a_threshold_between_the_classes() -> None:
    s = np.array([0.9, 0.8, 0.7, 0.3, 0.2])
    normal = np.array([True, True, True, False, False])
    t, rates = youden_threshold(s, normal)
    assert 0.3 < t < 0.7
    assert rates["balanced_accuracy"] == 1.0


def test_overlapping_scores_maximise_balanced_accuracy() -> None:
    rng = np.random.default_rng(0)
    s = np.r_[rng.normal(1.0, 0.5, 500), rng.normal(0.0, 0.5, 500)]
    normal = np.r_[np.ones(500, bool), np.zeros(500, bool)]
    t, rates = youden_threshold(s, normal)
    assert abs(t - 0.5) < 0.15  # equal spreads: the midpoint
    for other in (t - 0.3, t + 0.3):
        ba = 0.5 * ((s[normal] >= other).mean() + (s[~normal] < other).mean())
        assert ba <= rates["balanced_accuracy"] + 1e-12
