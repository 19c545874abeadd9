"""Train one VAE and one regressor per choice of known anomaly, score a test set, AUROC.

The common core of every experiment (Noisy-MNIST, class-folder data sets): the VAE never
sees an anomaly, so one VAE serves every choice of known anomaly, and the reconstructions
of the test set are computed once and shared by all regressors.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
import torch

from core.device import place_model
from core.spader.metrics import auroc
from core.spader.regressor import Regressor, RegressorConfig
from core.spader.vae import VAE, VAEConfig
from core.spader.scorers import SCORER_KEYS, reconstruct_with_loss, score_reconstructions
from core.spader.fitting import TrainConfig, train_regressor, train_vae

Progress = Callable[[str], None]
MEMBER_SEED_STEP = 1000  # seeds of ensemble member j: the single regressor's + 1000 * j


@dataclass(frozen=True)
class SweepSettings:
    vae: VAEConfig
    regressor: RegressorConfig
    vae_train: TrainConfig
    reg_train: TrainConfig
    m: int = 5
    seed: int = 0
    batch: int = 32  # scoring batch: small batches are faster per image on CPU
    clamp_f: bool = False  # experiments only: f(x) clipped to [0, 1] (see score_reconstructions)
    # share of the regressor's anomalous side given to pseudo-anomalies made from the normal
    # training frames (core.spader.pseudo_anomalies); 0 = the paper's regressor (known classes only)
    pseudo_share: float = 0.0
    pseudo_smooth_px: float = 1.0  # the damage is smoothed like the model input
    pseudo_copies: int = 1  # damaged copies of every normal training frame
    # at most this many normal frames (a fixed random subset) for the regressors and their
    # pseudo-anomalies; the VAE always learns from all of them. None: all
    reg_normal_frames: int | None = None


@dataclass
class SweepOutcome:
    vae: VAE
    regressors: dict[str, Regressor] = field(default_factory=dict)
    # scores[known][scorer] -> (N_test,) array, higher = more normal
    scores: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def auroc_all(self, known: str, scorer: str, labels: np.ndarray, normal: str) -> float:
        """Normal vs every anomaly class in the test set."""
        return auroc(self.scores[known][scorer], labels == normal)

    def auroc_class(self, known: str, scorer: str, labels: np.ndarray, normal: str, cls: str) -> float:
        """Normal vs one anomaly class."""
        keep = (labels == normal) | (labels == cls)
        return auroc(self.scores[known][scorer][keep], labels[keep] == normal)


def run_sweep(
    normal_train: torch.Tensor,
    known_train: dict[str, torch.Tensor],
    test_x: torch.Tensor,
    s: SweepSettings,
    progress: Progress | None = None,
) -> SweepOutcome:
    say = progress or (lambda _m: None)
    timings = {"vae_train": 0.0, "reg_train": 0.0, "scoring": 0.0}
    torch.manual_seed(s.seed)
    vae = VAE(s.vae)
    say(f"training the VAE on {len(normal_train)} normal images")
    t0 = time.perf_counter()
    hist = train_vae(vae, normal_train, replace(s.vae_train, seed=s.seed))
    timings["vae_train"] = time.perf_counter() - t0
    say(f"  VAE: best epoch {hist.best_epoch + 1}/{len(hist.val_loss)}, val loss {min(hist.val_loss):.2f}")
    device = next(vae.parameters()).device

    t0 = time.perf_counter()
    recons, losses = reconstruct_dataset(vae, test_x, m=s.m, seed=s.seed, batch=s.batch)
    timings["scoring"] += time.perf_counter() - t0
    out = SweepOutcome(vae=vae, timings=timings)
    reg_normal = regressor_normals(normal_train, s.reg_normal_frames, s.seed)
    if len(reg_normal) < len(normal_train):
        say(f"the regressors learn from {len(reg_normal)} of the {len(normal_train)} normal training images "
            f"(a fixed random subset); the VAE learned from all of them")
    # member 0 keeps the seeds a single regressor always had; each other member draws its
    # own initialisation, batch order and pseudo-anomalies
    pseudo = [_pseudo_anomalies(reg_normal, s, s.seed + MEMBER_SEED_STEP * j, say if j == 0 else None)
              for j in range(s.regressor.members)]
    for i, (known, x_known) in enumerate(known_train.items()):
        say(f"training the regressor: normal vs known anomaly {known!r} ({len(x_known)} images)"
            + (f", {s.regressor.members} members" if s.regressor.members > 1 else ""))
        t0 = time.perf_counter()
        members = []
        for j in range(s.regressor.members):
            seed = s.seed + 1 + i + MEMBER_SEED_STEP * j
            torch.manual_seed(seed)
            reg = Regressor(s.regressor.member())
            hist = train_regressor(reg, reg_normal, x_known, replace(s.reg_train, seed=seed),
                                   pseudo=pseudo[j], pseudo_share=s.pseudo_share)
            name = repr(known) if s.regressor.members == 1 else f"{known!r} member {j + 1}"
            if not hist.learned:
                best = min(hist.val_loss, default=float("nan"))
                say(f"warning: the regressor for {name} did not learn in {hist.starts} starts (best "
                    f"validation loss {best:.3f}; any constant output scores 0.5), so its f(x) and "
                    f"Grad-CAM carry little; try another --seed or more --reg-epochs")
            elif hist.starts > 1:
                say(f"  the regressor for {name} learned on start {hist.starts} (the earlier ones never "
                    f"left the constant-output plateau)")
            members.append(reg)
        reg = members[0] if len(members) == 1 else Regressor.from_members(members)
        timings["reg_train"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        out.scores[known] = score_dataset(reg, test_x, recons, losses, batch=s.batch, device=device,
                                          clamp_f=s.clamp_f)
        timings["scoring"] += time.perf_counter() - t0
        out.regressors[known] = reg
    return out


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


def _pseudo_anomalies(normal: torch.Tensor, s: SweepSettings, seed: int, say: Progress | None) -> torch.Tensor | None:
    if s.pseudo_share <= 0:
        return None
    from core.spader.pseudo_anomalies import make_pseudo_anomalies

    pseudo = make_pseudo_anomalies(normal, copies=s.pseudo_copies, seed=seed, smooth_px=s.pseudo_smooth_px)
    if say is not None:
        say(f"made {len(pseudo)} pseudo-anomalies from the normal training images "
            f"({s.pseudo_share:.0%} of the regressor's anomalous side)")
    return pseudo


def reconstruct_dataset(
    vae: VAE, x: torch.Tensor, *, m: int, seed: int, batch: int = 32
) -> tuple[torch.Tensor, torch.Tensor]:
    device = next(vae.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed)
    recons, losses = [], []
    vae.eval()
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            r, l = reconstruct_with_loss(vae, x[i : i + batch].to(device), m=m, generator=gen)
            recons.append(r)
            losses.append(l)
    return torch.cat(recons), torch.cat(losses)


def score_dataset(
    reg: Regressor, x: torch.Tensor, recons: torch.Tensor, losses: torch.Tensor, *, batch: int, device,
    clamp_f: bool = False,
) -> dict[str, np.ndarray]:
    out: dict[str, list[np.ndarray]] = {k: [] for k in SCORER_KEYS}
    place_model(reg, device).eval()
    reg = reg.folded()  # scored as core.runtime.scorer scores: BatchNorms folded into the convolutions
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            sb = score_reconstructions(reg, x[i : i + batch].to(device), recons[i : i + batch],
                                       losses[i : i + batch], clamp_f=clamp_f)
            for k in SCORER_KEYS:
                out[k].append(sb.scores[k].float().cpu().numpy())
    return {k: np.concatenate(v) for k, v in out.items()}
