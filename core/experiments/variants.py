"""AUROC per kind of pose within a synthetic anomaly class, from a finished one-known sweep.

Some ``spader synth`` classes are drawn as more than one kind of pose (``VARIANTS``: for
example palms_wrong, held crossed like the pigeon or with each hand on its own side). A
sweep's ``scores.npz`` holds every test frame's scores; replaying each frame's seeded pose
(no rendering, no retraining) says which kind it shows, so the AUROC of normal against one
kind can be read off the saved scores.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data.folders import open_dataset
from core.data.synth.poses import VARIANTS
from core.data.synth.writer import dataset_pose
from core.errors import DataError
from core.data.splits import split_items
from core.spader.recipe import FolderTrainConfig
from core.spader.metrics import auroc


@dataclass
class VariantTable:
    """``auroc[(cls, variant)][known]``: normal vs that kind of frame, with ``known`` the
    sweep column; ``counts[(cls, variant)]``: its test frames."""

    known_choices: list[str]
    auroc: dict[tuple[str, str], dict[str, float]]
    counts: dict[tuple[str, str], int]

    def unknown_mean(self, key: tuple[str, str]) -> float:
        """Mean over the columns where the class was unknown (as the sweep's per-class table)."""
        vals = [v for k, v in self.auroc[key].items() if k != key[0]]
        return float(np.mean(vals)) if vals else float("nan")


def read_run(run: Path, scorer: str) -> tuple[dict, np.ndarray, dict[str, np.ndarray]]:
    """A sweep folder's ``result.json``, its test labels and one scorer's scores per known
    choice (the other scorers' arrays stay compressed), with a clear message when absent."""
    try:
        result = json.loads((run / "result.json").read_text())
        with np.load(run / "scores.npz") as z:
            labels = z["labels"]
            scores = {k: z[f"{k}.{scorer}"] for k in result.get("known_choices", [])}
    except FileNotFoundError as exc:
        raise DataError(f"{run}: not a finished `spader experiment folders` run ({Path(exc.filename).name} missing)") from None
    if result.get("experiment") != "folders":
        raise DataError(f"{run}/result.json is not from `spader experiment folders`")
    return result, labels, scores


def variant_table(run: Path, data: Path | None = None, scorer: str = "spader") -> VariantTable:
    """Per-kind AUROC for every class in ``VARIANTS`` that the run's test split holds."""
    result, labels, scores = read_run(run, scorer)
    ds = open_dataset(data or Path(result["data"]))
    if not ds.meta.get("synthetic") or "seed" not in ds.meta:
        raise DataError(f"{ds.root}: not a `spader synth dataset` folder (its dataset.json names no generator seed)")
    c = result["config"]
    cfg = FolderTrainConfig(normal=c["normal"], known=tuple(c["known"]), seed=c["seed"], val_fraction=c["val_fraction"],
                            test_fraction=c["test_fraction"], max_per_class=c.get("max_per_class"))
    test = split_items(ds, cfg)[0]["test"]
    subjects = result.get("splits", {}).get("test", {}).get("subjects")
    if (subjects is not None and subjects != sorted({it.subject for it in test})) or len(test) != len(labels) \
            or any(it.cls != lab for it, lab in zip(test, labels)):
        raise DataError(f"{run}: its test frames do not match {ds.root} split as the run split it "
                        "(another data set, or frames were dropped as 'no hand')")
    cols = list(result["known_choices"])
    normal = labels == cfg.normal
    table = VariantTable(cols, {}, {})
    seed = int(ds.meta["seed"])
    for cls, kinds in VARIANTS.items():
        idx = np.flatnonzero(labels == cls)
        if idx.size == 0:
            continue
        kind_of = np.array([dataset_pose(seed, cls, test[i].path.name).variant for i in idx])
        for kind in kinds:
            sel = idx[kind_of == kind]
            if sel.size == 0:
                continue
            keep = normal.copy()
            keep[sel] = True
            table.counts[(cls, kind)] = int(sel.size)
            table.auroc[(cls, kind)] = {k: auroc(scores[k][keep], normal[keep]) for k in cols}
    return table


def format_variant_table(table: VariantTable, scorer: str) -> str:
    """One row per kind of frame, one column per known anomaly, then the mean where unknown
    ('(known)' marks the column whose regressors were trained on that class)."""
    cols = table.known_choices + ["mean unknown"]
    names = {key: f"{key[0]} {key[1]} ({table.counts[key]})" for key in table.auroc}
    w0 = max(len("class kind (test frames)"), *(len(n) for n in names.values()))
    widths = [max(len(c), 13) for c in cols]
    lines = [f"{scorer} AUROC, normal vs one kind of anomaly frame, per known anomaly (test subjects)",
             f"{'class kind (test frames)':<{w0}}  " + "  ".join(f"{c:>{w}}" for c, w in zip(cols, widths))]
    lines.append("-" * len(lines[-1]))
    for key, row in table.auroc.items():
        cells = [f"{row[k]:.3f}" + (" (known)" if k == key[0] else "") for k in table.known_choices]
        cells.append(f"{table.unknown_mean(key):.3f}")
        lines.append(f"{names[key]:<{w0}}  " + "  ".join(f"{c:>{w}}" for c, w in zip(cells, widths)))
    return "\n".join(lines)
