"""Tuning: the operating point on labelled scores, its rates with intervals, per class and
per attempt. The window's dialog and `spader tune` both call ``tune``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.errors import SpaderError
from core.tuning.bootstrap import DEFAULT_REPLICATES, bootstrap_intervals
from core.tuning.data import LabelledScores
from core.tuning.operating import Rule, choose_threshold, rates_at, roc


@dataclass
class TuneResult:
    rule: Rule
    threshold: float
    frames: dict[str, Any]  # counts, auroc, roc, rates, per class, confusion, intervals
    attempts: dict[str, Any] | None  # the same for labelled attempts (None without any)
    data: LabelledScores = field(repr=False)

    @property
    def sensitivity(self) -> float:
        return float(self.frames["rates"]["sensitivity"])

    @property
    def specificity(self) -> float:
        return float(self.frames["rates"]["specificity"])


def confusion(scores: np.ndarray, is_normal: np.ndarray, threshold: float) -> dict[str, int]:
    """Counts at the threshold, anomaly = positive: tp = anomalies caught, fn = missed,
    tn = normals kept, fp = normals flagged."""
    s, pos = np.asarray(scores, float), np.asarray(is_normal, bool)
    return {"tp": int((s[~pos] < threshold).sum()), "fn": int((s[~pos] >= threshold).sum()),
            "tn": int((s[pos] >= threshold).sum()), "fp": int((s[pos] < threshold).sum())}


def evaluate_threshold(data: LabelledScores, threshold: float, rule: Rule, *, replicates: int = DEFAULT_REPLICATES,
                       seed: int = 0) -> TuneResult:
    """Every number of a tuning at a given threshold (a rule's, or one set by hand)."""
    s, pos = data.scores, data.is_normal
    cls, subj = data.classes.astype(str), data.subjects.astype(str)
    r = roc(s, pos)
    per_class = {}
    for c in sorted(set(cls[~pos])):
        m = cls == c
        per_class[c] = {"frames": int(m.sum()), "caught": float((s[m] < threshold).mean()),
                        "no_hand": int(data.no_hand.get(c, 0))}
    frames = {
        "normal": int(pos.sum()), "anomalous": int((~pos).sum()), "subjects": int(len(set(subj))),
        "no_hand": dict(data.no_hand), "auroc": r["auroc"], "roc": r,
        "rates": rates_at(s, pos, threshold), "per_class": per_class,
        "confusion": confusion(s, pos, threshold),
        "intervals": bootstrap_intervals(s, pos, subj, cls, threshold, rule, replicates=replicates, seed=seed),
    }
    attempts = None
    if data.attempts:
        crit = np.array([a.critical for a in data.attempts], float)
        imitated = np.array([a.imitated for a in data.attempts], bool)
        finite = np.where(np.isfinite(crit), crit, np.nanmin(np.r_[crit[np.isfinite(crit)], s, 0.0]) - 1.0)
        attempts = {"imitated": int(imitated.sum()), "not_imitated": int((~imitated).sum()),
                    "rates": rates_at(crit, imitated, threshold), "confusion": confusion(crit, imitated, threshold),
                    "auroc": roc(finite, imitated)["auroc"] if imitated.any() and (~imitated).any() else None,
                    "roc": roc(finite, imitated) if imitated.any() and (~imitated).any() else None,
                    "critical": crit.tolist()}
    return TuneResult(rule, float(threshold), frames, attempts, data)


def tune(data: LabelledScores, rule: Rule, *, replicates: int = DEFAULT_REPLICATES, seed: int = 0) -> TuneResult:
    if data.scores.size == 0:
        raise SpaderError("no labelled frame with a hand was scored")
    pos = data.is_normal
    if not pos.any() or pos.all():
        raise SpaderError(f"tuning needs labelled '{data.normal}' frames and anomalous frames; found "
                          f"{int(pos.sum())} normal and {int((~pos).sum())} anomalous")
    return evaluate_threshold(data, choose_threshold(data.scores, pos, rule), rule, replicates=replicates, seed=seed)


def pct(v: float | None) -> str:
    return "–" if v is None or not np.isfinite(v) else f"{100 * v:.1f} %"


def ci(v: list[float] | None) -> str:
    return "" if not v else f"[{100 * v[0]:.1f}, {100 * v[1]:.1f}]"


def format_result(res: TuneResult) -> str:
    """The table `spader tune` prints (and the dialog shows)."""
    f, iv = res.frames, res.frames["intervals"]
    lines = [f"rule: {res.rule.describe()}  →  threshold {res.threshold:+.4f}"
             + (f"  (95 % interval of the rule's threshold [{iv['threshold'][0]:+.4f}, {iv['threshold'][1]:+.4f}])"
                if iv.get("threshold") else ""),
             f"frames: {f['normal']} normal, {f['anomalous']} anomalous, {f['subjects']} subjects; AUROC {f['auroc']:.3f}",
             f"  normals kept (specificity)    {pct(f['rates']['specificity']):>8}  {ci(iv['specificity'])}",
             f"  anomalies caught (sensitivity) {pct(f['rates']['sensitivity']):>7}  {ci(iv['sensitivity'])}"]
    for c, v in f["per_class"].items():
        lines.append(f"    {c:<24} caught {pct(v['caught']):>8}  {ci(iv['per_class_caught'].get(c))}  ({v['frames']} frames)")
    cm = f["confusion"]
    lines.append(f"  confusion (anomaly = positive): caught {cm['tp']}, missed {cm['fn']}, kept {cm['tn']}, "
                 f"flagged {cm['fp']}")
    if f["no_hand"]:
        lines.append("  without a hand (not scored): " + ", ".join(f"{k} {v}" for k, v in sorted(f["no_hand"].items())))
    a = res.attempts
    if a:
        lines.append(f"attempts: {a['imitated']} imitated, {a['not_imitated']} not imitated (the clinician's judgement)"
                     + (f"; AUROC {a['auroc']:.3f}" if a["auroc"] is not None else ""))
        lines.append(f"  imitated and passed {pct(a['rates']['specificity'])}, not imitated and failed "
                     f"{pct(a['rates']['sensitivity'])} (the protocol's hold rule at this threshold)")
    lines.append(f"intervals: bootstrap over {iv['subjects']} subjects, {iv['replicates']} replicates, seed {iv['seed']}")
    if iv["subjects"] < 5:
        lines.append(f"caution: {iv['subjects']} subject{'s' if iv['subjects'] != 1 else ''}: the intervals cannot show "
                     "how other people differ; label data of more people before relying on this threshold")
    return "\n".join(lines)
