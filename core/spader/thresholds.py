"""Operating threshold from validation scores: NORMAL when score >= threshold."""

from __future__ import annotations

import numpy as np

from core.spader.metrics import roc_curve


def youden_threshold(scores: np.ndarray, is_normal: np.ndarray) -> tuple[float, dict[str, float]]:
    """The threshold that maximises sensitivity + specificity - 1 (Youden's J).

    The threshold sits halfway between the two neighbouring validation scores, so a new
    frame scoring exactly like a validation frame is not on the edge. Returns the threshold
    and the validation rates it gives (normal kept, anomaly caught, balanced accuracy).
    """
    s = np.asarray(scores, np.float64)
    fpr, tpr, thr = roc_curve(s, is_normal)
    j = tpr - fpr
    best = int(np.argmax(j[1:]) + 1)  # skip the +inf start of the curve
    lower = s[s < thr[best]]
    t = float(thr[best] if lower.size == 0 else 0.5 * (thr[best] + lower.max()))
    pos = np.asarray(is_normal, bool)
    tpr_t = float((s[pos] >= t).mean())
    tnr_t = float((s[~pos] < t).mean())
    return t, {"normal_kept": tpr_t, "anomaly_caught": tnr_t, "balanced_accuracy": 0.5 * (tpr_t + tnr_t)}
