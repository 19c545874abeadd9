"""The training recipe: how a SPADER model is made from normal and known-anomalous frames.

1. The VAE learns the normal frames only (``fitting.train_vae``), so one VAE serves every
   choice of known anomaly.
2. Pseudo-anomalies are made from (a seeded subset of) the normal frames
   (``pseudo_anomalies``); they take ``pseudo_share`` of the regressor's anomalous side.
3. For each choice of known anomaly, K regressors (members) learn normal = 1 vs known +
   pseudo = 0 with their own seeds and pseudo-anomalies, and are packed into one network
   whose f(x) and Grad-CAM are the members' means (``Regressor.from_members``).
   Both networks train on augmented batches (``augment``: small turns, zooms, shifts and
   depth offsets) for at least a budget of optimiser steps (``vae_min_steps``,
   ``reg_min_steps``), and the regressor has a BatchNorm after every convolution: without
   these, on real frames of a few people, the VAE learned the training people's forearms
   and the regressors stayed at a constant output (docs/results.md, "Real Kinect frames").
4. ``train_model``: one regressor for all known classes together; the operating threshold
   is Youden's J on the SPADER score of the validation subjects, scored through the one
   scoring function (``scorers.score_dataset``).

`spader train`, `spader experiment folders` and the Python API (``train_folder_model``)
all train through ``train_networks``; the defaults live in ``FolderTrainConfig`` and
``TRAINING_PREPROCESS`` (the CLI reads its defaults from them). Why each default is what
it is, with the measurements: docs/results.md.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import torch

from core.errors import DataError
from core.preprocess import PreprocessConfig
from core.spader.checkpoint import SpaderModel
from core.spader.fitting import TrainConfig, TrainHistory, train_regressor, train_vae
from core.spader.augment import Augmentation
from core.spader.regressor import NORMS, Regressor, RegressorConfig
from core.spader.scorers import score_dataset
from core.spader.thresholds import youden_threshold
from core.spader.vae import VAE, VAEConfig

if TYPE_CHECKING:
    from core.data.folders import FolderDataset
    from core.data.splits import PreparedSplits

Progress = Callable[[str], None]
MEMBER_SEED_STEP = 1000  # seeds of ensemble member j: the single regressor's + 1000 * j

# The model input training makes by default: the preprocessing defaults plus a 1 px
# Gaussian smoothing (PreprocessConfig's own default, 0, is what a model that records no
# preprocessing was trained with, so scoring keeps it).
TRAINING_PREPROCESS = PreprocessConfig(smooth_px=1.0)


@dataclass(frozen=True)
class FolderTrainConfig:
    """Everything the recipe needs besides the data and its preprocessing (one place for
    the defaults: the CLI's come from here)."""

    normal: str
    known: tuple[str, ...]  # known-anomaly classes (train: used together; sweep: one at a time)
    seed: int = 0
    val_fraction: float = 0.15
    test_fraction: float = 0.25
    vae_epochs: int = 40
    reg_epochs: int = 30
    # budgets in optimiser steps for small data sets (40 frames at batch 16 are 3 steps a
    # pass): training runs for the epochs or these many steps, whichever is more, and a
    # round of validation and patience spans at least ``round_steps`` steps
    vae_min_steps: int = 1500
    reg_min_steps: int = 400
    round_steps: int = 50
    batch_size: int = 16  # small batches: more Adam steps on a few hundred frames
    # random rotation, scale, shift and depth offset of each training batch (both networks)
    augment: bool = True
    # False: the VAE learns from the frames as they are, only the regressors' batches are
    # augmented (off measures whether augmentation teaches the VAE near-normal poses)
    vae_augment: bool = True
    lr: float = 1e-3
    latent_dim: int = 256
    # five stride-2 layers: a 4x4x64 bottleneck keeps the model file small (a few MB)
    vae_widths: tuple[int, ...] = (8, 16, 32, 64, 64)
    # five blocks, max-pool between them: the last map (8x8 at 128) sees most of the crop
    reg_widths: tuple[int, ...] = (16, 32, 32, 64, 64)
    vae_convs_per_level: int = 1  # 2 measured a little better for 2.6x the training time
    # share of the regressor's anomalous side given to pseudo-anomalies; with one known
    # class they keep f(x) from ranking unseen anomalies above the normal pose
    pseudo_share: float = 0.8
    reg_members: int = 3  # regressors averaged into one
    # "batch": a BatchNorm after every regressor convolution (folded away for scoring);
    # without it f(x) sat at the constant-output saddle on real frames of a few people
    reg_norm: str = "batch"
    # at most this many normal training frames for the regressors (a seeded random subset);
    # the VAE learns from all. None: all of them
    reg_normal_frames: int | None = None
    device: str = "auto"
    workers: int = 2
    max_per_class: int | None = None  # cap files per class and split (quick runs)

    def __post_init__(self) -> None:
        _at_least("seed", self.seed, 0)
        for name in ("vae_epochs", "reg_epochs", "batch_size", "latent_dim", "vae_convs_per_level",
                     "reg_members", "workers"):
            _at_least(name, getattr(self, name), 1)
        for name in ("vae_min_steps", "reg_min_steps", "round_steps"):
            _at_least(name, getattr(self, name), 0)
        if self.reg_norm not in NORMS:
            raise ValueError(f"reg_norm must be one of {', '.join(NORMS)}, got {self.reg_norm!r}")
        for name in ("reg_normal_frames", "max_per_class"):
            if getattr(self, name) is not None:
                _at_least(name, getattr(self, name), 1)
        if not 0.0 <= self.pseudo_share < 1.0:
            raise ValueError(f"pseudo_share must be a share from 0 (off) to below 1, got {self.pseudo_share}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if not (0 < self.val_fraction < 1 and 0 < self.test_fraction < 1 and self.val_fraction + self.test_fraction < 1):
            raise ValueError("val_fraction and test_fraction must be shares above 0 that leave subjects for training")
        if not self.known:
            raise ValueError("at least one known-anomaly class is needed")
        if self.normal in self.known:
            raise ValueError(f"the normal class {self.normal!r} cannot also be a known anomaly")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _at_least(name: str, value: Any, low: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be a whole number of at least {low}, got {value!r}")


@dataclass(frozen=True)
class RecipeSettings:
    """The recipe at the level of networks and optimisers (any data set: folders, MNIST)."""

    vae: VAEConfig
    regressor: RegressorConfig
    vae_train: TrainConfig
    reg_train: TrainConfig
    seed: int = 0
    # share of the regressor's anomalous side given to pseudo-anomalies made from the normal
    # training frames; 0 = the paper's regressor (known classes only)
    pseudo_share: float = 0.0
    pseudo_smooth_px: float = 1.0  # the damage is smoothed like the model input
    reg_normal_frames: int | None = None


@dataclass
class TrainedNetworks:
    """One VAE and one (ensemble) regressor per choice of known anomaly."""

    vae: VAE
    regressors: dict[str, Regressor] = field(default_factory=dict)
    histories: dict[str, list[TrainHistory]] = field(default_factory=dict)  # "vae" and each known choice
    timings: dict[str, float] = field(default_factory=dict)


def train_networks(
    normal_train: torch.Tensor,
    known_train: dict[str, torch.Tensor],
    s: RecipeSettings,
    progress: Progress | None = None,
) -> TrainedNetworks:
    """Steps 1-3 of the recipe for every choice in ``known_train`` (name -> frames)."""
    say = progress or (lambda _m: None)
    torch.manual_seed(s.seed)
    vae = VAE(s.vae)
    say(f"training the VAE on {len(normal_train)} normal images")
    t0 = time.perf_counter()
    hist = train_vae(vae, normal_train, replace(s.vae_train, seed=s.seed))
    out = TrainedNetworks(vae=vae, histories={"vae": [hist]},
                          timings={"vae_train": time.perf_counter() - t0, "reg_train": 0.0})
    say(f"  VAE: best epoch {hist.best_epoch + 1}/{len(hist.val_loss)}, val loss {min(hist.val_loss):.2f}")
    reg_normal = regressor_normals(normal_train, s.reg_normal_frames, s.seed)
    if len(reg_normal) < len(normal_train):
        say(f"the regressors learn from {len(reg_normal)} of the {len(normal_train)} normal training images "
            f"(a fixed random subset); the VAE learned from all of them")
    # member 0 keeps the seeds a single regressor always had; each other member draws its
    # own initialisation, batch order and pseudo-anomalies
    k = s.regressor.members
    pseudo = [_pseudo_anomalies(reg_normal, s, s.seed + MEMBER_SEED_STEP * j, say if j == 0 else None)
              for j in range(k)]
    for i, (known, x_known) in enumerate(known_train.items()):
        say(f"training the regressor: normal vs known anomaly {known!r} ({len(x_known)} images)"
            + (f", {k} members" if k > 1 else ""))
        t0 = time.perf_counter()
        members, histories = [], []
        for j in range(k):
            seed = s.seed + 1 + i + MEMBER_SEED_STEP * j
            torch.manual_seed(seed)
            reg = Regressor(s.regressor.member())
            hist = train_regressor(reg, reg_normal, x_known, replace(s.reg_train, seed=seed),
                                   pseudo=pseudo[j], pseudo_share=s.pseudo_share)
            _report_start(say, repr(known) if k == 1 else f"{known!r} member {j + 1}", hist)
            members.append(reg)
            histories.append(hist)
        out.regressors[known] = members[0] if k == 1 else Regressor.from_members(members)
        out.histories[known] = histories
        out.timings["reg_train"] += time.perf_counter() - t0
    return out


def _report_start(say: Progress, name: str, hist: TrainHistory) -> None:
    if not hist.learned:
        best = min(hist.val_loss, default=float("nan"))
        say(f"warning: the regressor for {name} did not learn in {hist.starts} starts (best "
            f"validation loss {best:.3f}; any constant output scores 0.5), so its f(x) and "
            f"Grad-CAM carry little; try another --seed or more --reg-epochs")
    elif hist.starts > 1:
        say(f"  the regressor for {name} learned on start {hist.starts} (the earlier ones never "
            f"left the constant-output plateau)")


def regressor_normals(normal: torch.Tensor, limit: int | None, seed: int) -> torch.Tensor:
    """The normal frames the regressors learn from: all of them, or ``limit`` picked at random
    (seeded) and kept in their original order.

    Why a limit: the VAE gains from every extra normal frame, while the regressor's training
    time grows with them (each epoch also holds one pseudo-anomaly per normal frame)."""
    if limit is None or limit >= len(normal):
        return normal
    if limit < 1:
        raise ValueError(f"the regressors need at least one normal frame, got a limit of {limit}")
    keep = torch.randperm(len(normal), generator=torch.Generator().manual_seed(seed))[:limit]
    return normal[keep.sort().values]


def _pseudo_anomalies(normal: torch.Tensor, s: RecipeSettings, seed: int, say: Progress | None) -> torch.Tensor | None:
    if s.pseudo_share <= 0:
        return None
    from core.spader.pseudo_anomalies import make_pseudo_anomalies

    pseudo = make_pseudo_anomalies(normal, seed=seed, smooth_px=s.pseudo_smooth_px)
    if say is not None:
        say(f"made {len(pseudo)} pseudo-anomalies from the normal training images "
            f"({s.pseudo_share:.0%} of the regressor's anomalous side)")
    return pseudo


# -- from a folder configuration to network settings ------------------------------------------
def fit_widths(widths: tuple[int, ...], size: int, halvings_per_layer: int, extra: int = 0) -> tuple[int, ...]:
    """Drop the last layers that would shrink a ``size`` input below 4 px (small quick-run inputs)."""
    w = tuple(widths)
    while len(w) > 2 and size // 2 ** (halvings_per_layer * len(w) - extra) < 4:
        w = w[:-1]
    return w


def regressor_config(cfg: FolderTrainConfig, size: int) -> RegressorConfig:
    """The regressor for a ``size`` input: blocks dropped so that its last map keeps at least 4 px."""
    return RegressorConfig(input_size=size, widths=fit_widths(tuple(cfg.reg_widths), size, 1, extra=1),
                           members=cfg.reg_members, norm=cfg.reg_norm)


def recipe_settings(cfg: FolderTrainConfig, size: int, smooth_px: float, show_bars: bool | None = None) -> RecipeSettings:
    tc = TrainConfig(epochs=cfg.vae_epochs, batch_size=cfg.batch_size, lr=cfg.lr, device=cfg.device,
                     progress=show_bars, desc="VAE", min_steps=cfg.vae_min_steps, round_steps=cfg.round_steps,
                     augment=Augmentation() if cfg.augment and cfg.vae_augment else None)
    return RecipeSettings(
        vae=VAEConfig(input_size=size, latent_dim=cfg.latent_dim, widths=fit_widths(cfg.vae_widths, size, 1),
                      convs_per_level=cfg.vae_convs_per_level),
        regressor=regressor_config(cfg, size),
        vae_train=tc,
        reg_train=replace(tc, epochs=cfg.reg_epochs, min_steps=cfg.reg_min_steps, desc="regressor",
                          augment=Augmentation() if cfg.augment else None),
        seed=cfg.seed,
        pseudo_share=cfg.pseudo_share,
        pseudo_smooth_px=smooth_px,
        reg_normal_frames=cfg.reg_normal_frames,
    )


# -- a model with its threshold ---------------------------------------------------------------
def train_model(
    prepared: PreparedSplits, cfg: FolderTrainConfig, pre: PreprocessConfig,
    progress: Progress | None = None, show_bars: bool | None = None,
) -> tuple[SpaderModel, dict[str, Any]]:
    """Train the VAE and one regressor (normal vs all known classes together); pick the
    threshold on the validation subjects. Returns the model and the validation rates."""
    from core.data.splits import split_record

    say = progress or (lambda _m: None)
    x_tr, y_tr = prepared.x["train"], prepared.labels["train"]
    known_mask = np.isin(y_tr, cfg.known)
    if not known_mask.any():
        raise DataError(f"no training frames of the known classes {list(cfg.known)}")
    normal_train = x_tr[torch.from_numpy(y_tr == cfg.normal)]
    t0 = time.perf_counter()
    nets = train_networks(normal_train, {"+".join(cfg.known): x_tr[torch.from_numpy(known_mask)]},
                          recipe_settings(cfg, x_tr.shape[-1], prepared.smooth_px, show_bars), progress)
    (reg,) = nets.regressors.values()
    y_val = prepared.labels["val"]
    use = np.isin(y_val, (cfg.normal, *cfg.known))
    val_scores = score_dataset(nets.vae, {"val": reg}, prepared.x["val"][torch.from_numpy(use)], seed=cfg.seed)["val"]
    train_s = time.perf_counter() - t0
    threshold, rates = youden_threshold(val_scores["spader"], y_val[use] == cfg.normal)
    say(f"operating threshold {threshold:.4f} on validation: normal kept {rates['normal_kept']:.3f}, "
        f"known anomaly caught {rates['anomaly_caught']:.3f}")
    model = SpaderModel(nets.vae, reg)
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


def data_record(path: str | Path, ds: FolderDataset, prepared: PreparedSplits) -> dict[str, Any]:
    """What a model file records about the data it was trained on."""
    return {"path": str(path), "unit_mm": ds.unit_mm, "synthetic": bool(ds.meta.get("synthetic", False)),
            "splits": prepared.summary()}


@dataclass
class FolderTraining:
    """What ``train_folder_model`` made: the model and the data it was made from."""

    model: SpaderModel
    dataset: FolderDataset
    prepared: PreparedSplits
    rates: dict[str, Any]


def train_folder_model(
    data: str | Path,
    cfg: FolderTrainConfig,
    preprocess: PreprocessConfig = TRAINING_PREPROCESS,
    *,
    unit_mm: float | None = None,
    subject_pattern: str | None = None,
    progress: Progress | None = None,
    show_bars: bool | None = None,
) -> FolderTraining:
    """The Python API of `spader train`: a class-folder data set -> a model with its threshold.

    The CLI calls this same function, so the same inputs train the same model."""
    from core.data.folders import open_dataset
    from core.data.splits import prepare_splits

    ds = open_dataset(data, unit_mm=unit_mm, subject_pattern=subject_pattern)
    prepared = prepare_splits(ds, cfg, preprocess, progress=progress)
    model, rates = train_model(prepared, cfg, preprocess, progress=progress, show_bars=show_bars)
    model.meta.update(classes=ds.classes, data=data_record(data, ds, prepared), seed=cfg.seed)
    return FolderTraining(model, ds, prepared, rates)
