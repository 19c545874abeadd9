"""AUROC and ROC curves against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from core.spader.metrics import auroc, roc_curve


def test_perfect_and_inverted() -> None:
    s = np.array([0.9, 0.8, 0.2, 0.1])
    normal = np.array([True, True, False, False])
    assert auroc(s, normal) == 1.0
    assert auroc(-s, normal) == 0.0


def test_known_value_with_ties() -> None:
    # pairs (normal, anomaly): (0.8,0.5) win, (0.8,0.8) tie, (0.4,0.5) loss, (0.4,0.8) loss -> 1.5/4
    s = np.array([0.8, 0.4, 0.5, 0.8])
    normal = np.array([True, True, False, False])
    assert auroc(s, normal) == pytest.approx(0.375)


def test_matches_pairwise_definition_on_random_data() -> None:
    rng = np.random.default_rng(0)
    s = rng.integers(0, 20, size=300).astype(float)  # many ties
    normal = rng.random(300) < 0.4
    pos, neg = s[normal], s[~normal]
    expected = ((pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum()) / (len(pos) * len(neg))
    assert auroc(s, normal) == pytest.approx(expected)


def test_roc_curve_endpoints_and_monotone() -> None:
    rng = np.random.default_rng(1)
    s = rng.random(50)
    normal = rng.random(50) < 0.5
    fpr, tpr, thr = roc_curve(s, normal)
    assert fpr[0] == 0 and tpr[0] == 0 and fpr[-1] == 1 and tpr[-1] == 1
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert len(thr) == len(fpr)


def test_one_class_only_is_an_error() -> None:
    with pytest.raises(ValueError):
        auroc(np.array([0.1, 0.2]), np.array([True, True]))
