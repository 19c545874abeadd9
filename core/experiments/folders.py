"""The one-known sweep on a class-folder data set: one VAE, one regressor per choice of
known anomaly (the recipe's ``train_networks``), every test frame scored through the one
scoring function, and the AUROC tables per known choice and per unknown class."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from core.data.splits import PreparedSplits, split_record
from core.errors import DataError
from core.experiments.report import format_table, write_table_csv
from core.preprocess import PreprocessConfig
from core.spader.checkpoint import SpaderModel, save_model
from core.spader.evaluation import auroc_vs_normal
from core.spader.recipe import (FolderTrainConfig, Progress, TrainedNetworks, data_record, recipe_settings,
                                train_networks)
from core.spader.scorers import SCORER_KEYS, score_dataset

if TYPE_CHECKING:
    from core.data.folders import FolderDataset


@dataclass
class SweepOutcome:
    """The trained networks and every test frame's scores: scores[known][scorer] -> (N,)."""

    networks: TrainedNetworks
    scores: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


@dataclass
class SweepTable:
    """AUROC per scorer for each choice of known anomaly, plus per unknown class."""

    normal: str
    known_choices: list[str]
    all_anomalies: dict[str, dict[str, float]]  # scorer -> known -> AUROC (normal vs every anomaly)
    per_class: dict[str, dict[str, dict[str, float]]]  # scorer -> known -> class -> AUROC (unknown classes)

    def average(self, scorer: str) -> float:
        return float(np.mean([self.all_anomalies[scorer][k] for k in self.known_choices]))

    def unknown_class_mean(self, scorer: str) -> dict[str, float]:
        """Per anomaly class, the mean AUROC over the known choices where it was unknown."""
        acc: dict[str, list[float]] = {}
        for k in self.known_choices:
            for c, a in self.per_class[scorer][k].items():
                acc.setdefault(c, []).append(a)
        return {c: float(np.mean(v)) for c, v in sorted(acc.items())}

    def to_dict(self) -> dict[str, Any]:
        return {
            "normal": self.normal,
            "known_choices": self.known_choices,
            "all_anomalies": self.all_anomalies,
            "average": {s: self.average(s) for s in SCORER_KEYS},
            "unknown_classes": self.per_class,
            "unknown_class_mean": {s: self.unknown_class_mean(s) for s in SCORER_KEYS},
        }


def run_known_sweep(
    prepared: PreparedSplits, cfg: FolderTrainConfig, progress: Progress | None = None, show_bars: bool | None = None
) -> tuple[SweepTable, SweepOutcome]:
    """One VAE, one regressor per known choice; AUROC on the test split (unseen subjects)."""
    x_tr, y_tr = prepared.x["train"], prepared.labels["train"]
    known = {k: x_tr[torch.from_numpy(y_tr == k)] for k in cfg.known}
    for k, xk in known.items():
        if len(xk) == 0:
            raise DataError(f"no training frames of known class {k!r}")
    normal_train = x_tr[torch.from_numpy(y_tr == cfg.normal)]
    x_te, y_te = prepared.x["test"], prepared.labels["test"]
    nets = train_networks(normal_train, known, recipe_settings(cfg, x_tr.shape[-1], prepared.smooth_px, show_bars),
                          progress)
    t0 = time.perf_counter()
    scores = score_dataset(nets.vae, nets.regressors, x_te, seed=cfg.seed)
    nets.timings["scoring"] = time.perf_counter() - t0
    outcome = SweepOutcome(nets, scores)
    anomaly_classes = sorted(set(y_te) - {cfg.normal})
    table = SweepTable(cfg.normal, list(cfg.known), {s: {} for s in SCORER_KEYS}, {s: {} for s in SCORER_KEYS})
    for k in cfg.known:
        for s in SCORER_KEYS:
            table.all_anomalies[s][k] = auroc_vs_normal(scores[k][s], y_te, cfg.normal)
            table.per_class[s][k] = {
                c: auroc_vs_normal(scores[k][s], y_te, cfg.normal, c) for c in anomaly_classes if c != k
            }
    return table, outcome


def _table_rows(table: SweepTable) -> tuple[list[str], dict, list[str], dict]:
    """Columns and rows of both tables (with the average and the minimum column)."""
    cols = list(table.known_choices)
    rows = {s: [table.all_anomalies[s][k] for k in cols] + [table.average(s)] for s in SCORER_KEYS}
    unknown = {s: table.unknown_class_mean(s) for s in SCORER_KEYS}
    ucols = sorted(unknown["spader"])
    urows = {s: [unknown[s][c] for c in ucols] + [min(unknown[s].values(), default=float("nan"))]
             for s in SCORER_KEYS}
    return cols, rows, ucols, urows


def format_sweep_tables(table: SweepTable) -> str:
    """The two tables a sweep prints: per known choice, and per anomaly class while unknown."""
    cols, rows, ucols, urows = _table_rows(table)
    return (format_table(f"AUROC on the test split (unseen subjects): normal '{table.normal}' vs all anomaly classes",
                         "known anomaly", cols + ["average"], rows) + "\n\n"
            + format_table("AUROC per anomaly class while it was unknown (mean over the known choices)",
                           "anomaly class", ucols + ["min"], urows))


def write_sweep(
    out: Path, table: SweepTable, outcome: SweepOutcome, prepared: PreparedSplits, cfg: FolderTrainConfig,
    pre: PreprocessConfig, ds: FolderDataset, data: Path, command: str, save_models: bool = False,
) -> list[str]:
    """table.csv, unknown_classes.csv, result.json, scores.npz (every test frame's scores, so
    other combinations can be measured without retraining) and, with ``save_models``, one
    model file per known choice. Returns the names written."""
    cols, rows, ucols, urows = _table_rows(table)
    out.mkdir(parents=True, exist_ok=True)
    write_table_csv(out / "table.csv", cols + ["average"], rows)
    write_table_csv(out / "unknown_classes.csv", ucols + ["min"], urows)
    result = {"experiment": "folders", "command": command, "data": str(data), "config": cfg.to_dict(),
              "preprocess": pre.to_dict(), "splits": prepared.summary(), "timings_s": outcome.networks.timings,
              **table.to_dict()}
    (out / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    np.savez_compressed(out / "scores.npz", labels=prepared.labels["test"],
                        **{f"{k}.{s}": outcome.scores[k][s] for k in cols for s in SCORER_KEYS})
    written = ["table.csv", "unknown_classes.csv", "result.json", "scores.npz"]
    if save_models:
        for known, reg in outcome.networks.regressors.items():
            model = SpaderModel(outcome.networks.vae, reg)
            # no threshold: the sweep scores the test split, never a validation split
            model.meta.update(
                name=f"{out.name}-{known}", threshold=None, normal_class=cfg.normal, known_classes=[known],
                classes=ds.classes, preprocess=pre.to_dict(), train_config=cfg.to_dict(), seed=cfg.seed,
                data=data_record(data, ds, prepared), command=command, split=split_record(cfg, prepared),
            )
            written.append(save_model(model, out / f"model-{known}.safetensors").name)
    return written
