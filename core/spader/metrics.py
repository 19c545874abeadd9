"""AUROC and ROC curves (normal = positive class, since higher score = more normal)."""

from __future__ import annotations

import numpy as np


def roc_curve(scores: np.ndarray, is_normal: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(false-positive rate, true-positive rate, thresholds), thresholds descending.

    A frame is called NORMAL when score >= threshold. Ties are handled by grouping equal
    scores, so the curve does not depend on the order of the input.
    """
    scores = np.asarray(scores, dtype=np.float64).ravel()
    pos = np.asarray(is_normal, dtype=bool).ravel()
    if scores.shape != pos.shape:
        raise ValueError("scores and labels differ in length")
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC needs at least one normal and one anomalous sample")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores contain NaN or infinity")
    order = np.argsort(-scores, kind="mergesort")
    s, p = scores[order], pos[order]
    last_of_group = np.r_[np.nonzero(np.diff(s))[0], s.size - 1]
    tps = np.cumsum(p)[last_of_group]
    fps = (last_of_group + 1) - tps
    tpr = np.r_[0.0, tps / n_pos]
    fpr = np.r_[0.0, fps / n_neg]
    thresholds = np.r_[np.inf, s[last_of_group]]
    return fpr, tpr, thresholds


def auroc(scores: np.ndarray, is_normal: np.ndarray) -> float:
    """Area under the ROC curve (trapezoids; ties count one half)."""
    fpr, tpr, _ = roc_curve(scores, is_normal)
    return float(np.trapz(tpr, fpr))
