"""AUROC tables of the seven scorers: normal vs all anomalies and vs each anomaly class."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from core.spader.checkpoint import SpaderModel
from core.spader.metrics import auroc
from core.spader.scorers import SCORER_KEYS, score_dataset


def auroc_vs_normal(scores: np.ndarray, labels: np.ndarray, normal: Any, cls: Any = None) -> float:
    """AUROC of normal (positive: higher = more normal) vs every other label, or vs ``cls`` only."""
    if cls is None:
        return auroc(scores, labels == normal)
    keep = (labels == normal) | (labels == cls)
    return auroc(scores[keep], labels[keep] == normal)


def auroc_table(scores: dict[str, np.ndarray], labels: np.ndarray, normal: Any) -> dict[str, dict[str, float]]:
    """scorer -> {"all": AUROC, <class>: AUROC for each anomaly class}."""
    classes = sorted(set(labels.tolist()) - {normal})
    return {s: {"all": auroc_vs_normal(scores[s], labels, normal),
                **{c: auroc_vs_normal(scores[s], labels, normal, c) for c in classes}} for s in SCORER_KEYS}


def evaluate_model(
    model: SpaderModel, x: torch.Tensor, labels: np.ndarray, normal: str, *, seed: int = 0, batch: int = 32
) -> dict[str, Any]:
    """The AUROC table of ``model`` on model inputs ``x`` (frame i = x[i]), and the rates at
    its threshold. Scored through ``score_dataset``: the scores the app shows."""
    scores = score_dataset(model.vae, {"model": model.regressor}, x, seed=seed, batch=batch)["model"]
    table = auroc_table(scores, labels, normal)
    summary: dict[str, Any] = {"auroc": table, "classes": [c for c in table["spader"] if c != "all"],
                               "frames": int(len(labels))}
    thr = model.threshold
    if thr is not None:
        sp = scores["spader"]
        summary["at_threshold"] = {
            "threshold": thr,
            "normal_kept": float((sp[labels == normal] >= thr).mean()),
            "anomaly_caught": float((sp[labels != normal] < thr).mean()),
        }
    return summary
