"""95 % intervals from a bootstrap over subjects.

Frames of one person are not independent (a person who holds the pose oddly does so in
every frame), so the resampling unit is the subject: each replicate draws the data set's
subjects with replacement and takes all their frames. Seeded: the same data, rule and seed
give the same intervals. Percentile intervals (2.5 %, 97.5 %) of
- each rate at the chosen threshold (sensitivity, specificity, per anomaly class), and
- the threshold itself, the rule applied again to each replicate.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.tuning.operating import Rule, choose_threshold

DEFAULT_REPLICATES = 1000


def _interval(values: list[float]) -> list[float] | None:
    v = np.asarray([x for x in values if np.isfinite(x)], float)
    if v.size == 0:
        return None
    lo, hi = np.percentile(v, [2.5, 97.5])
    return [float(lo), float(hi)]


def bootstrap_intervals(scores: np.ndarray, is_normal: np.ndarray, subjects: np.ndarray, classes: np.ndarray,
                        threshold: float, rule: Rule, *, replicates: int = DEFAULT_REPLICATES,
                        seed: int = 0) -> dict[str, Any]:
    """Intervals of the rates at ``threshold`` and of the threshold ``rule`` picks."""
    s = np.asarray(scores, float)
    pos = np.asarray(is_normal, bool)
    subj = np.asarray(subjects).astype(str)
    cls = np.asarray(classes).astype(str)
    names = np.unique(subj)
    members = [np.nonzero(subj == n)[0] for n in names]
    anomaly_classes = sorted(set(cls[~pos]))
    rng = np.random.default_rng(seed)
    sens, spec, thr = [], [], []
    per_class: dict[str, list[float]] = {c: [] for c in anomaly_classes}
    for _ in range(int(replicates)):
        idx = np.concatenate([members[i] for i in rng.integers(0, len(names), len(names))])
        ss, pp, cc = s[idx], pos[idx], cls[idx]
        spec.append(float((ss[pp] >= threshold).mean()) if pp.any() else np.nan)
        sens.append(float((ss[~pp] < threshold).mean()) if (~pp).any() else np.nan)
        for c in anomaly_classes:
            m = cc == c
            per_class[c].append(float((ss[m] < threshold).mean()) if m.any() else np.nan)
        if rule.kind != "manual" and pp.any() and (~pp).any():
            thr.append(choose_threshold(ss, pp, rule))
    return {"replicates": int(replicates), "seed": int(seed), "subjects": int(len(names)),
            "sensitivity": _interval(sens), "specificity": _interval(spec),
            "threshold": _interval(thr) if thr else None,
            "per_class_caught": {c: _interval(v) for c, v in per_class.items()}}
