"""Subject-disjoint splits of a class-folder data set, preprocessed into model inputs.

Every file goes through the one preprocessing path (core.preprocess via
``core.data.folders.load_preprocessed``). A subject is in train, validation or test,
never in two. ``cfg`` is a ``core.spader.recipe.FolderTrainConfig`` (its normal and known
classes, seed, split fractions, per-class cap and worker count).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import torch

from core.data.folders import FolderDataset, load_preprocessed, split_by_subject
from core.errors import DataError
from core.preprocess import PreprocessConfig

if TYPE_CHECKING:
    from core.spader.recipe import FolderTrainConfig

Progress = Callable[[str], None]


@dataclass
class PreparedSplits:
    """Preprocessed model inputs per split, with their class labels (frames with no hand dropped)."""

    x: dict[str, torch.Tensor] = field(default_factory=dict)  # split -> (N, 1, S, S)
    labels: dict[str, np.ndarray] = field(default_factory=dict)  # split -> (N,) class names
    subjects: dict[str, list[str]] = field(default_factory=dict)
    dropped_no_hand: int = 0
    warning: str = ""
    smooth_px: float = 0.0  # the input smoothing the frames got (pseudo-anomalies are smoothed alike)

    def summary(self) -> dict[str, Any]:
        return {
            split: {"frames": int(len(lab)), "classes": {c: int((lab == c).sum()) for c in np.unique(lab)},
                    "subjects": self.subjects.get(split, [])}
            for split, lab in self.labels.items()
        } | {"dropped_no_hand": self.dropped_no_hand, "split_warning": self.warning}


def check_classes(ds: FolderDataset, classes: tuple[str, ...]) -> None:
    """Raise DataError naming the classes ``ds`` has no folder for."""
    missing = [c for c in classes if c not in ds.classes]
    if missing:
        raise DataError(f"{ds.root}: no class folder named {missing} (classes: {', '.join(ds.classes)})")


def prepare_splits(
    ds: FolderDataset, cfg: FolderTrainConfig, pre: PreprocessConfig, progress: Progress | None = None
) -> PreparedSplits:
    say = progress or (lambda _m: None)
    check_classes(ds, (cfg.normal, *cfg.known))
    splits, warning = split_items(ds, cfg)
    out = PreparedSplits(warning=warning, smooth_px=pre.smooth_px)
    if out.warning:
        say(f"warning: {out.warning}")
    for name, items in splits.items():
        say(f"preprocessing {len(items)} {name} files")
        x, pres = load_preprocessed(ds, items, pre, workers=cfg.workers)
        keep = np.array([p.has_hand for p in pres], bool)
        out.dropped_no_hand += int((~keep).sum())
        out.x[name] = torch.from_numpy(np.ascontiguousarray(x[keep]))
        out.labels[name] = np.array([it.cls for it in items])[keep]
        out.subjects[name] = sorted({it.subject for it in items})
    for name in ("train", "val", "test"):
        if not (out.labels[name] == cfg.normal).any():
            raise DataError(f"the {name} split has no '{cfg.normal}' frames: add subjects or change the split fractions")
    return out


def split_items(ds: FolderDataset, cfg: FolderTrainConfig) -> tuple[dict[str, list], str]:
    """The files of the train, val and test splits (in that order; capped with
    ``cfg.max_per_class``), and the split's warning ("" when none)."""
    split = split_by_subject(ds.items, val_fraction=cfg.val_fraction, test_fraction=cfg.test_fraction, seed=cfg.seed,
                             files_are_subjects=ds.subject_source == "file")
    rng = np.random.default_rng(cfg.seed)
    splits = {}
    for name, items in (("train", split.train), ("val", split.val), ("test", split.test)):
        items = list(items)
        if cfg.max_per_class is not None:
            items = cap_per_class(items, cfg.max_per_class, rng)
        splits[name] = items
    return splits, split.warning


def cap_per_class(items: list, n: int, rng: np.random.Generator) -> list:
    """At most ``n`` items of each class, picked at random, in their original order."""
    capped = []
    for c in sorted({it.cls for it in items}):
        of_c = [it for it in items if it.cls == c]
        idx = rng.permutation(len(of_c))[:n]
        capped += [of_c[i] for i in sorted(idx)]
    return capped


def split_record(cfg: FolderTrainConfig, prepared: PreparedSplits) -> dict[str, Any]:
    """The split a model file records, so `spader evaluate` can keep to its test (or
    validation) subjects later."""
    return {"seed": cfg.seed, "val_fraction": cfg.val_fraction, "test_fraction": cfg.test_fraction,
            "val_subjects": prepared.subjects["val"], "test_subjects": prepared.subjects["test"]}


