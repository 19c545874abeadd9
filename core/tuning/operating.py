"""The operating point: a threshold chosen by rule on labelled scores, and the rates it gives.

Conventions (the app's): a frame (or attempt) is called NORMAL when its score is >= the
threshold. The positive class of the rates is the *anomaly*, as a screening sees it:
**sensitivity** = anomalies caught (score < threshold), **specificity** = normals kept
(score >= threshold). Every chosen threshold lies halfway between two neighbouring
distinct scores (or half a step beyond the extreme ones), so no labelled score sits on it
and a frame scoring like a labelled one is never on the edge.

Rules: ``youden`` (max sensitivity + specificity - 1), ``sensitivity=S`` (the threshold
with the best specificity among those catching at least S of the anomalies),
``specificity=P`` (the best sensitivity keeping at least P of the normals), ``cost=R``
(min R * (1 - sensitivity) + (1 - specificity): a missed anomaly costs R false alarms;
rates, so the data's class balance does not weigh in; cost=1 is Youden) and
``manual=T`` (the threshold T as given).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import SpaderError
from core.spader.metrics import roc_curve


@dataclass(frozen=True)
class Rule:
    kind: str  # youden | sensitivity | specificity | cost | manual
    value: float | None = None

    def __str__(self) -> str:
        return self.kind if self.value is None else f"{self.kind}={self.value:g}"

    def describe(self) -> str:
        if self.kind == "youden":
            return "Youden's J"
        if self.kind == "sensitivity":
            return f"sensitivity ≥ {100 * self.value:g} %"
        if self.kind == "specificity":
            return f"specificity ≥ {100 * self.value:g} %"
        if self.kind == "cost":
            return f"cost ratio {self.value:g} (a missed anomaly costs {self.value:g} false alarms)"
        return f"by hand ({self.value:+.4f})"


def parse_rule(text: str) -> Rule:
    """``youden`` | ``sensitivity=0.95`` | ``specificity=0.90`` | ``cost=R`` | ``manual=T``
    (a rate may also be given in per cent: ``sensitivity=95``)."""
    t = str(text).strip().lower().replace(" ", "")
    if t in ("youden", "j"):
        return Rule("youden")
    kind, sep, val = t.partition("=")
    if not sep or kind not in ("sensitivity", "specificity", "cost", "manual"):
        raise SpaderError(f"unknown rule {text!r}: use youden, sensitivity=0.95, specificity=0.90, cost=R or manual=T")
    try:
        v = float(val)
    except ValueError:
        raise SpaderError(f"rule {text!r}: {val!r} is not a number") from None
    if not math.isfinite(v):
        raise SpaderError(f"rule {text!r}: the value must be finite")
    if kind in ("sensitivity", "specificity"):
        if v > 1:
            v /= 100.0
        if not 0 < v <= 1:
            raise SpaderError(f"rule {text!r}: a rate is between 0 and 1 (or 0 and 100 %)")
    if kind == "cost" and v <= 0:
        raise SpaderError(f"rule {text!r}: the cost ratio must be positive")
    return Rule(kind, v)


def _cuts(scores: np.ndarray) -> np.ndarray:
    """Every threshold that splits the scores differently: midpoints between neighbouring
    distinct values, and half a step below the lowest and above the highest."""
    u = np.unique(scores)
    step = float(np.min(np.diff(u))) if u.size > 1 else 1.0
    return np.r_[u[0] - 0.5 * step, 0.5 * (u[1:] + u[:-1]), u[-1] + 0.5 * step]


def rates_at(scores: np.ndarray, is_normal: np.ndarray, threshold: float) -> dict[str, float]:
    s, pos = np.asarray(scores, float), np.asarray(is_normal, bool)
    kept = float((s[pos] >= threshold).mean()) if pos.any() else float("nan")
    caught = float((s[~pos] < threshold).mean()) if (~pos).any() else float("nan")
    return {"sensitivity": caught, "specificity": kept}


def _sweep(scores: np.ndarray, is_normal: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cuts ascending, sensitivity at each, specificity at each)."""
    s, pos = np.asarray(scores, float), np.asarray(is_normal, bool)
    cuts = _cuts(s)
    a, n = np.sort(s[~pos]), np.sort(s[pos])
    sens = np.searchsorted(a, cuts, side="left") / max(a.size, 1)  # anomalies below the cut
    spec = 1.0 - np.searchsorted(n, cuts, side="left") / max(n.size, 1)  # normals at or above
    return cuts, sens, spec


def choose_threshold(scores: np.ndarray, is_normal: np.ndarray, rule: Rule) -> float:
    """The threshold the rule picks on these labelled scores."""
    s, pos = np.asarray(scores, float).ravel(), np.asarray(is_normal, bool).ravel()
    if s.shape != pos.shape:
        raise SpaderError("scores and labels differ in length")
    if rule.kind == "manual":
        return float(rule.value)
    if not pos.any() or pos.all():
        raise SpaderError("tuning needs labelled normal and anomalous frames (one of them is missing)")
    if not np.all(np.isfinite(s)):
        raise SpaderError("scores contain NaN or infinity")
    cuts, sens, spec = _sweep(s, pos)
    if rule.kind in ("youden", "cost"):
        r = 1.0 if rule.kind == "youden" else float(rule.value)
        cost = r * (1.0 - sens) + (1.0 - spec)
        return float(cuts[int(np.argmin(cost))])  # the lowest threshold of equal cost: fewest false alarms
    if rule.kind == "sensitivity":
        ok = np.nonzero(sens >= rule.value - 1e-12)[0]
        return float(cuts[ok[0]])  # sensitivity grows with the cut: its first cut keeps most normals
    if rule.kind == "specificity":
        ok = np.nonzero(spec >= rule.value - 1e-12)[0]
        return float(cuts[ok[-1]])  # specificity falls with the cut: its last cut catches most anomalies
    raise SpaderError(f"unknown rule {rule}")


def roc(scores: np.ndarray, is_normal: np.ndarray) -> dict[str, Any]:
    """The ROC as a screening reads it: ``false_alarm`` (1 - specificity) and
    ``sensitivity`` per threshold, thresholds rising from the lowest score (nothing
    flagged: (0, 0)) to +inf (everything flagged: (1, 1)), and the AUROC."""
    fpr, tpr, thr = roc_curve(scores, is_normal)  # normal-positive: tpr = normals kept
    # in anomaly terms: calling fewer frames NORMAL catches more anomalies
    sens, false_alarm = 1.0 - fpr, 1.0 - tpr
    # thresholds rising: false alarms and anomalies caught both grow (from (0, 0) to (1, 1))
    return {"false_alarm": false_alarm[::-1].copy(), "sensitivity": sens[::-1].copy(), "thresholds": thr[::-1].copy(),
            "auroc": float(np.trapz(tpr, fpr))}
