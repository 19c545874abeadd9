"""Training and evaluation on class-folder depth data sets (synthetic poses, ASL, clinics).

Every file goes through the one preprocessing path (core.preprocess via
core.data.folders.load_preprocessed). Splits keep subjects apart: a subject is in train,
validation or test, never in two. The operating threshold is chosen on the validation
split (normal vs the known anomalies, Youden's J on the SPADER score).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch

from core.spader.checkpoint import SpaderModel
from core.data.folders import FolderDataset, load_preprocessed, split_by_subject
from core.errors import DataError
from core.spader.recipe import Progress, SweepSettings, run_sweep
from core.spader.metrics import auroc
from core.spader import RegressorConfig, VAEConfig
from core.preprocess import PreprocessConfig
from core.spader.scorers import SCORER_KEYS
from core.spader.thresholds import youden_threshold
from core.spader.fitting import TrainConfig


@dataclass(frozen=True)
class FolderTrainConfig:
    normal: str
    known: tuple[str, ...]  # known-anomaly classes (train: used together; sweep: one at a time)
    seed: int = 0
    val_fraction: float = 0.15
    test_fraction: float = 0.25
    vae_epochs: int = 40
    reg_epochs: int = 30
    # Small batches: a few hundred normal frames at 64 a batch give the VAE about 9 Adam
    # steps an epoch, far from converged after 40 epochs (the Noisy-MNIST lesson). One-known
    # sweep on runs/synth: SPADER 0.873 -> 0.904 with batch 16 and 1 px input smoothing
    # together (batch 64, no smoothing before).
    batch_size: int = 16
    lr: float = 1e-3
    m: int = 5
    latent_dim: int = 256
    # five stride-2 layers: a 4x4x64 bottleneck keeps the model file small (a few MB)
    vae_widths: tuple[int, ...] = (8, 16, 32, 64, 64)
    # five blocks, max-pool between them: the last map (8x8 at 128) sees most of the crop,
    # which the pose classes need (three blocks reached 0.59-0.84 AUROC on known classes)
    reg_widths: tuple[int, ...] = (16, 32, 32, 64, 64)
    reg_kind: str = "plain"
    # max-pool halvings of the regressor (None: one between every two blocks) and whether the
    # blocks after the last one dilate instead: a finer Grad-CAM layer (16x16 at 128 with 3).
    # On validation subjects, palms_wrong known, 6 blocks and 3 halvings lifted the SPADE
    # term 0.815 -> 0.938 but lowered CNN-Reg 0.987 -> 0.980 and SPADER 0.987 -> 0.980; with
    # dilation, SPADER 0.984 (see the README), so the default stays
    reg_halvings: int | None = None
    reg_dilate: bool = False
    # "batch": a BatchNorm after each of the regressor's convolutions (core.spader.regressor).
    # On validation subjects, palms_wrong known: SPADE term 0.815 -> 0.929 and SPADER level
    # with VAE+CNN-Reg, but SPADER 0.987 -> 0.984; uncrossed known: palms_wrong as an unknown
    # class 0.939 -> 0.915 (see the README), so the default stays
    reg_norm: str = "none"
    # 2 convs per scale: VAE AUROC 0.836 -> 0.860 on runs/synth-big at 40 epochs, but 2.6x
    # the training time; 80 epochs of the light model reach 0.857 in less time
    vae_convs_per_level: int = 1
    # share of the regressor's anomalous side given to pseudo-anomalies (core.spader.pseudo_anomalies);
    # with one known class they keep f(x) from ranking unseen anomalies above the normal pose
    # (hands_down known on runs/synth-big: CNN-Reg 0.468 -> 0.919, SPADER 0.720 -> 0.925)
    pseudo_share: float = 0.8
    # damaged copies per normal frame; 2 did not lift the one-known sweep on runs/synth-big or
    # runs/synth-hd (see the README) and takes about 1.3x the regressor's training time
    pseudo_copies: int = 1
    # regressors averaged into one (core.spader.regressor: members). One-known sweep on
    # runs/synth-hd: SPADER 0.973 -> 0.988, weakest unknown class 0.907 -> 0.955 with 3
    # instead of 1, for 3x the regressor's training time
    reg_members: int = 3
    # at most this many normal training frames for the regressors (a seeded random subset);
    # the VAE learns from all. None: all of them
    reg_normal_frames: int | None = None
    device: str = "auto"
    workers: int = 2
    max_per_class: int | None = None  # cap files per class and split (quick runs)

    def __post_init__(self) -> None:
        if not 0.0 <= self.pseudo_share < 1.0:
            raise ValueError(f"pseudo_share must be in [0, 1), got {self.pseudo_share}")
        if not isinstance(self.pseudo_copies, int) or self.pseudo_copies < 1:
            raise ValueError(f"pseudo_copies must be a whole number of at least 1, got {self.pseudo_copies!r}")
        if not isinstance(self.reg_members, int) or self.reg_members < 1:
            raise ValueError(f"reg_members must be a whole number of at least 1, got {self.reg_members!r}")
        if self.reg_normal_frames is not None and self.reg_normal_frames < 1:
            raise ValueError(f"reg_normal_frames must be at least 1, got {self.reg_normal_frames}")
        if self.reg_halvings is not None and not 0 <= self.reg_halvings < len(self.reg_widths):
            raise ValueError(f"reg_halvings must be from 0 to {len(self.reg_widths) - 1} "
                             f"(one fewer than the regressor's blocks), got {self.reg_halvings}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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


def prepare_splits(
    ds: FolderDataset, cfg: FolderTrainConfig, pre: PreprocessConfig, progress: Progress | None = None
) -> PreparedSplits:
    say = progress or (lambda _m: None)
    missing = [c for c in (cfg.normal, *cfg.known) if c not in ds.classes]
    if missing:
        raise DataError(f"{ds.root}: no class folder named {missing} (classes: {', '.join(ds.classes)})")
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


def fit_widths(widths: tuple[int, ...], size: int, halvings_per_layer: int, extra: int = 0) -> tuple[int, ...]:
    """Drop the last layers that would shrink a ``size`` input below 4 px (small quick-run inputs)."""
    w = tuple(widths)
    while len(w) > 2 and size // 2 ** (halvings_per_layer * len(w) - extra) < 4:
        w = w[:-1]
    return w


def regressor_config(cfg: FolderTrainConfig, size: int) -> RegressorConfig:
    """The regressor for a ``size`` input: blocks dropped (default pooling) or halvings cut
    (``reg_halvings`` given) so that its last map keeps at least 4 px."""
    widths, halvings = tuple(cfg.reg_widths), cfg.reg_halvings
    if halvings is None:  # plain: pooling between blocks (len - 1 halvings); resnet: every block strides
        widths = fit_widths(widths, size, 1, extra=int(cfg.reg_kind == "plain"))
    else:
        while halvings > 0 and size // 2**halvings < 4:  # small quick-run inputs
            halvings -= 1
    return RegressorConfig(input_size=size, widths=widths, kind=cfg.reg_kind, members=cfg.reg_members,
                           halvings=halvings, dilate=cfg.reg_dilate, norm=cfg.reg_norm)


def _settings(cfg: FolderTrainConfig, size: int, show_bars: bool | None, smooth_px: float) -> SweepSettings:
    tc = TrainConfig(epochs=cfg.vae_epochs, batch_size=cfg.batch_size, lr=cfg.lr, device=cfg.device,
                     progress=show_bars, desc="VAE")
    return SweepSettings(
        vae=VAEConfig(input_size=size, latent_dim=cfg.latent_dim, widths=fit_widths(cfg.vae_widths, size, 1),
                      convs_per_level=cfg.vae_convs_per_level),
        regressor=regressor_config(cfg, size),
        vae_train=tc,
        reg_train=replace(tc, epochs=cfg.reg_epochs, desc="regressor"),
        m=cfg.m,
        seed=cfg.seed,
        pseudo_share=cfg.pseudo_share,
        pseudo_smooth_px=smooth_px,
        pseudo_copies=cfg.pseudo_copies,
        reg_normal_frames=cfg.reg_normal_frames,
    )


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
) -> tuple[SweepTable, Any]:
    """One VAE, one regressor per known choice; AUROC on the test split (unseen subjects)."""
    x_tr, y_tr = prepared.x["train"], prepared.labels["train"]
    known = {k: x_tr[torch.from_numpy(y_tr == k)] for k in cfg.known}
    for k, xk in known.items():
        if len(xk) == 0:
            raise DataError(f"no training frames of known class {k!r}")
    normal_train = x_tr[torch.from_numpy(y_tr == cfg.normal)]
    x_te, y_te = prepared.x["test"], prepared.labels["test"]
    settings = _settings(cfg, x_tr.shape[-1], show_bars, prepared.smooth_px)
    outcome = run_sweep(normal_train, known, x_te, settings, progress)
    anomaly_classes = sorted(set(y_te) - {cfg.normal})
    table = SweepTable(cfg.normal, list(cfg.known), {s: {} for s in SCORER_KEYS}, {s: {} for s in SCORER_KEYS})
    for k in cfg.known:
        for s in SCORER_KEYS:
            table.all_anomalies[s][k] = outcome.auroc_all(k, s, y_te, cfg.normal)
            table.per_class[s][k] = {
                c: outcome.auroc_class(k, s, y_te, cfg.normal, c) for c in anomaly_classes if c != k
            }
    return table, outcome


def train_model(
    prepared: PreparedSplits, cfg: FolderTrainConfig, pre: PreprocessConfig,
    progress: Progress | None = None, show_bars: bool | None = None,
) -> tuple[SpaderModel, dict[str, Any]]:
    """Train the VAE and one regressor (normal vs all known classes together); pick the threshold."""
    say = progress or (lambda _m: None)
    x_tr, y_tr = prepared.x["train"], prepared.labels["train"]
    known_mask = np.isin(y_tr, cfg.known)
    if not known_mask.any():
        raise DataError(f"no training frames of the known classes {list(cfg.known)}")
    normal_train = x_tr[torch.from_numpy(y_tr == cfg.normal)]
    t0 = time.perf_counter()
    outcome = run_sweep(
        normal_train, {"+".join(cfg.known): x_tr[torch.from_numpy(known_mask)]},
        prepared.x["val"], _settings(cfg, x_tr.shape[-1], show_bars, prepared.smooth_px), progress,
    )
    train_s = time.perf_counter() - t0
    (reg,) = outcome.regressors.values()
    (val_scores,) = outcome.scores.values()
    y_val = prepared.labels["val"]
    use = np.isin(y_val, (cfg.normal, *cfg.known))
    threshold, rates = youden_threshold(val_scores["spader"][use], y_val[use] == cfg.normal)
    say(f"operating threshold {threshold:.4f} on validation: normal kept {rates['normal_kept']:.3f}, "
        f"known anomaly caught {rates['anomaly_caught']:.3f}")
    model = SpaderModel(outcome.vae, reg)
    model.meta.update(
        threshold=threshold,
        threshold_method="Youden's J on the SPADER score, validation split, normal vs known classes",
        threshold_validation=rates,
        normal_class=cfg.normal,
        known_classes=list(cfg.known),
        preprocess=pre.to_dict(),
        train_config=cfg.to_dict(),
        train_seconds=round(train_s, 1),
        split=split_record(cfg, prepared),
    )
    return model, rates


def split_record(cfg: FolderTrainConfig, prepared: PreparedSplits) -> dict[str, Any]:
    """The split a model file records, so `spader evaluate` can keep to its test (or
    validation) subjects later."""
    return {"seed": cfg.seed, "val_fraction": cfg.val_fraction, "test_fraction": cfg.test_fraction,
            "val_subjects": prepared.subjects["val"], "test_subjects": prepared.subjects["test"]}


def evaluate_model(
    model: SpaderModel, x: torch.Tensor, labels: np.ndarray, normal: str, *, seed: int = 0, batch: int = 32
) -> dict[str, Any]:
    """AUROC of every scorer: normal vs all anomalies, and normal vs each anomaly class.

    Scores come from core.runtime.scorer.FrameScorer, the path the app and ``spader score`` use
    (per-frame seeded VAE samples), so the table describes the scores a user sees."""
    from core.runtime.scorer import FrameScorer

    scorer = FrameScorer(model, device=model.device, m=int(model.meta.get("m", 5)), seed=seed)
    parts = [scorer.score_arrays(x[i : i + batch], range(i, min(i + batch, len(x)))).scores
             for i in range(0, len(x), batch)]
    scores = {k: np.concatenate([p[k] for p in parts]) for k in SCORER_KEYS}
    classes = sorted(set(labels) - {normal})
    table: dict[str, dict[str, float]] = {}
    for s in SCORER_KEYS:
        row = {"all": auroc(scores[s], labels == normal)}
        for c in classes:
            keep = (labels == normal) | (labels == c)
            row[c] = auroc(scores[s][keep], labels[keep] == normal)
        table[s] = row
    thr = model.threshold
    summary: dict[str, Any] = {"auroc": table, "classes": classes, "frames": int(len(labels))}
    if thr is not None:
        sp = scores["spader"]
        summary["at_threshold"] = {
            "threshold": thr,
            "normal_kept": float((sp[labels == normal] >= thr).mean()),
            "anomaly_caught": float((sp[labels != normal] < thr).mean()),
        }
    return summary
