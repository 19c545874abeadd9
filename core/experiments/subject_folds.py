"""The seed paper's hand-gesture protocol (Table II) on a class-folder data set: leave one
subject out. Each fold trains on every subject but one (the recipe's own validation split
for early stopping comes from those subjects) and tests on the one left out, so every
person is the unseen test person once. Per fold: one VAE, one regressor per choice of
known anomaly (``train_networks``), every test frame scored through ``score_dataset``.
The table is the AUROC (normal vs all anomalies) per known choice, mean ± std over folds.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from core.data.folders import FolderDataset, load_preprocessed
from core.data.splits import check_classes
from core.errors import DataError
from core.experiments.report import RepeatedAurocs, format_table, write_table_csv
from core.preprocess import PreprocessConfig
from core.spader.evaluation import auroc_vs_normal
from core.spader.recipe import FolderTrainConfig, Progress, recipe_settings, train_networks
from core.spader.scorers import SCORER_KEYS, score_dataset


@dataclass
class FoldsResult(RepeatedAurocs):
    """aurocs[scorer][known] = one AUROC per fold (the fold's test subject in ``subjects``)."""

    normal: str
    known_choices: list[str]
    subjects: list[str]
    aurocs: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    # per fold: regressor starts of every member and whether each learned
    starts: list[dict[str, list[int]]] = field(default_factory=list)
    learned: list[dict[str, list[bool]]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0

    def known_keys(self) -> list[str]:
        return list(self.known_choices)

    def first_start_share(self) -> float:
        """Share of regressor members that learned on their first start."""
        flat = [s for fold in self.starts for v in fold.values() for s in v]
        return float(np.mean([s == 1 for s in flat])) if flat else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "normal": self.normal, "known_choices": self.known_choices, "test_subjects": self.subjects,
            "aurocs": self.aurocs,
            "summary": self.summary(),
            "regressor_starts": self.starts, "regressor_learned": self.learned,
            "first_start_share": self.first_start_share(), "timings_s": self.timings, "wall_s": self.wall_s,
        }


def run_subject_folds(
    ds: FolderDataset, cfg: FolderTrainConfig, pre: PreprocessConfig, progress: Progress | None = None,
    show_bars: bool | None = None, test_subjects: Sequence[str] | None = None,
) -> FoldsResult:
    """Leave-one-subject-out over every subject of ``ds`` (or only the folds that test
    ``test_subjects``); ``cfg.known`` are the known choices."""
    say = progress or (lambda _m: None)
    check_classes(ds, (cfg.normal, *cfg.known))
    items = list(ds.items)  # every class: the ones neither normal nor known are unknown anomalies
    subjects = sorted({it.subject for it in items})
    if len(subjects) < 2:
        raise DataError(f"{ds.root}: leave-one-subject-out needs at least two subjects, found {len(subjects)}")
    n_subjects = len(subjects)
    if test_subjects:
        unknown = sorted(set(test_subjects) - set(subjects))
        if unknown:
            raise DataError(f"{ds.root}: no subject {', '.join(unknown)} (the subjects are {', '.join(subjects)})")
        subjects = [s for s in subjects if s in set(test_subjects)]
    t_start = time.perf_counter()
    say(f"preprocessing {len(items)} files of {n_subjects} subjects")
    x_all, pres = load_preprocessed(ds, items, pre, workers=cfg.workers)
    keep = np.array([p.has_hand for p in pres], bool)
    if not keep.all():
        say(f"{int((~keep).sum())} files without a hand left out")
    x = torch.from_numpy(np.ascontiguousarray(x_all[keep]))
    labels = np.array([it.cls for it in items])[keep]
    subj = np.array([it.subject for it in items])[keep]
    result = FoldsResult(cfg.normal, list(cfg.known), subjects,
                         {s: {k: [] for k in cfg.known} for s in SCORER_KEYS})
    settings = recipe_settings(cfg, x.shape[-1], pre.smooth_px, show_bars)
    for i, test_subject in enumerate(subjects):
        train, test = subj != test_subject, subj == test_subject
        say(f"fold {i + 1}/{len(subjects)}: test subject {test_subject} ({int(test.sum())} frames)")
        normal_train = x[torch.from_numpy(train & (labels == cfg.normal))]
        known = {k: x[torch.from_numpy(train & (labels == k))] for k in cfg.known}
        empty = [k for k, v in known.items() if len(v) == 0]
        if empty or len(normal_train) < 2 or not (labels[test] == cfg.normal).any():
            raise DataError(f"fold {test_subject}: no training frames of {empty or [cfg.normal]}, "
                            "or no normal test frames")
        nets = train_networks(normal_train, known, settings, progress=lambda m: say("  " + m))
        t0 = time.perf_counter()
        scores = score_dataset(nets.vae, nets.regressors, x[torch.from_numpy(test)], seed=cfg.seed)
        nets.timings["scoring"] = time.perf_counter() - t0
        for name, t in nets.timings.items():
            result.timings[name] = result.timings.get(name, 0.0) + t
        y = labels[test]
        for k in cfg.known:
            for s in SCORER_KEYS:
                result.aurocs[s][k].append(auroc_vs_normal(scores[k][s], y, cfg.normal))
        result.starts.append({k: [h.starts for h in nets.histories[k]] for k in cfg.known})
        result.learned.append({k: [h.learned for h in nets.histories[k]] for k in cfg.known})
        say(f"  SPADER {np.mean([result.aurocs['spader'][k][-1] for k in cfg.known]):.3f}, "
            f"CNN-Reg {np.mean([result.aurocs['cnn_reg'][k][-1] for k in cfg.known]):.3f} on {test_subject}")
    result.wall_s = time.perf_counter() - t_start
    return result


def format_result(result: FoldsResult) -> str:
    """The Table II layout: AUROC mean ± std over the folds per known gesture."""
    cols, rows = result.table()
    return (format_table(f"AUROC (mean ± std over {len(result.subjects)} leave-one-subject-out folds), normal "
                         f"'{result.normal}' vs all anomaly classes", "known anomaly", cols, rows)
            + f"\nregressor members that learned on their first start: {result.first_start_share():.0%}"
            + f"   wall time: {result.wall_s:.0f} s")


def write_result(out: Path, result: FoldsResult, extra: dict[str, Any]) -> list[Path]:
    cols, rows = result.table()
    out.mkdir(parents=True, exist_ok=True)
    write_table_csv(out / "table.csv", cols, rows)
    (out / "result.json").write_text(json.dumps({**extra, **result.to_dict()}, indent=2) + "\n")
    return [out / "table.csv", out / "result.json"]
