"""Training of the VAE (normal images only) and the regressor (normal = 1, known anomaly = 0).

Seeded, resumable (a state file is written atomically after every round), with progress
bars, validation loss and early stopping; the best-validation weights are restored at the
end.

Budgets scale with the data: a *round* is one pass over the training frames, or as many
passes as make ``round_steps`` optimiser steps on a small data set; validation, patience
and the state file count rounds, and training runs for ``epochs`` passes or ``min_steps``
steps, whichever is more. On a large data set (a pass of at least ``round_steps`` steps)
that is exactly "epochs"; on 40 frames at batch 16 (3 steps a pass) it is what keeps the
networks from stopping after a hundred steps. An optional ``augment`` draws every training
batch through random small transforms (core.spader.augment); validation is never augmented. The device is chosen automatically (CUDA when present) unless one is given.
Inputs are already-preprocessed tensors (N, C, H, W) in [0, 1]: callers use the one
preprocessing path of their data (core.data) before calling these.
"""

from __future__ import annotations

import copy
import json
import math
import os
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm import tqdm

from core.device import pick_device, place_model
from core.spader.augment import Augmentation
from core.spader.vae import vae_loss


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    val_fraction: float = 0.1
    patience: int = 8  # rounds without validation improvement before stopping
    min_steps: int = 0  # at least this many optimiser steps in all, whatever the epochs
    round_steps: int = 0  # a round (validation, patience) spans at least this many steps
    augment: Augmentation | None = None  # random transforms of each training batch
    # early stopping waits until the best validation loss is below this level (None: no
    # wait; train_regressor fills in its own): a regressor can sit on the constant-output
    # plateau for several epochs before it learns
    plateau_loss: float | None = None
    seed: int = 0
    device: str = "auto"
    kl_beta: float = 1.0  # VAE only
    progress: bool | None = None  # None: bars only when stderr is a terminal
    desc: str = "train"


@dataclass
class TrainHistory:
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int = -1  # the round (a pass, or several on small data) of the best weights
    steps: int = 0  # optimiser steps taken
    # regressor: the validation loss on the real classes only (normal vs known, half each),
    # which the "learned" check and the plateau guard read; empty: they read val_loss
    task_loss: list[float] = field(default_factory=list)
    stopped_early: bool = False
    resumed_from_epoch: int = 0
    starts: int = 1  # regressor: fresh initialisations tried (a start that never learned is redone)
    learned: bool = True  # regressor: the validation loss left the constant-output plateau

    def to_dict(self) -> dict:
        return asdict(self)


BatchLoss = Callable[[nn.Module, tuple[torch.Tensor, ...]], torch.Tensor]


def train_vae(
    vae: nn.Module, normal: torch.Tensor, config: TrainConfig, state_path: str | Path | None = None
) -> TrainHistory:
    """Fit the VAE on normal images by the negative ELBO (reconstruction + beta * KL)."""

    def loss_fn(model: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        (x,) = batch
        recon, mu, logvar = model(x)
        return vae_loss(x, recon, mu, logvar, beta=config.kl_beta)[0]

    return _fit(vae, (normal,), loss_fn, config, state_path)


REGRESSOR_PLATEAU_LOSS = 0.45  # 90 % of the weighted L1 loss of any constant output (0.5)


def train_regressor(
    regressor: nn.Module,
    normal: torch.Tensor,
    anomalies: torch.Tensor,
    config: TrainConfig,
    state_path: str | Path | None = None,
    pseudo: torch.Tensor | None = None,
    pseudo_share: float = 0.5,
    max_starts: int = 5,
) -> TrainHistory:
    """Fit f(x) by the L1 loss to 1 (normal) and 0 (known anomaly), classes weighted equally.

    ``pseudo`` (optional): pseudo-anomalies (core.spader.pseudo_anomalies), also target 0; they
    take ``pseudo_share`` of the anomalous side's weight, the known anomalies the rest.

    With the classes weighted equally, any constant output has a weighted L1 loss of 0.5.
    Early stopping waits until the validation loss is clearly below that
    (``REGRESSOR_PLATEAU_LOSS``, unless the config sets its own ``plateau_loss``): a run
    that spent its patience on that plateau was once stopped there, untrained. A start that
    never gets below that level in all its epochs (seen once in a sweep: f(x) stayed
    constant for 30 epochs) is redone from a fresh initialisation, up to ``max_starts``
    starts in all; ``history.starts`` says how many it took, ``history.learned`` whether
    the last one got there."""
    x, y, w = regressor_targets(normal, anomalies, pseudo, pseudo_share)
    use_pseudo = _pseudo_used(pseudo, pseudo_share)
    # group of each sample: 0 normal, 1 known anomaly, 2 pseudo-anomaly
    group = torch.cat([torch.zeros(len(normal), dtype=torch.long), torch.ones(len(anomalies), dtype=torch.long)]
                      + ([torch.full((len(pseudo),), 2, dtype=torch.long)] if use_pseudo else []))
    val_losses = _regressor_val_losses(pseudo_share if use_pseudo else 0.0)
    data = (x, y, w, group)
    if config.plateau_loss is None:
        config = replace(config, plateau_loss=REGRESSOR_PLATEAU_LOSS)

    def loss_fn(model: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        xb, yb, wb, _ = batch
        return (F.l1_loss(model(xb), yb, reduction="none") * wb).mean()

    def stuck(h: TrainHistory) -> bool:
        return _on_plateau(config, _best_task(h))

    # channels-last convolutions train faster on CPU (BatchNorm regressor at 64 px, batch 16:
    # 41 -> 32 ms a step); the weights go back to the usual layout afterwards
    regressor.to(memory_format=torch.channels_last)
    history = _fit(regressor, data, loss_fn, config, state_path, group, val_losses)
    starts = 1
    while stuck(history) and starts < max_starts:
        seed = config.seed + 7919 * starts
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for module in regressor.modules():
                if hasattr(module, "reset_parameters"):
                    module.reset_parameters()
        if state_path is not None:
            Path(state_path).unlink(missing_ok=True)  # the saved state is the failed start's
        history = _fit(regressor, data, loss_fn, replace(config, seed=seed), state_path, group, val_losses)
        starts += 1
    history.starts = starts
    history.learned = not stuck(history)
    if getattr(getattr(regressor, "config", None), "members", 1) == 1:  # an ensemble's towers keep channels-last (Regressor._Towers)
        regressor.to(memory_format=torch.contiguous_format)
    return history


def _regressor_val_losses(pseudo_share: float) -> Callable[..., tuple[float, float]]:
    """The regressor's two validation losses, from one pass over the validation frames:

    - for early stopping and the best weights, the training objective: L1 to 1 on the
      normal frames (half the weight) and to 0 on the anomalous side (the other half, of
      which the pseudo-anomalies take ``pseudo_share``), each group's mean weighted so, so
      the loss does not depend on how many frames of a group the split drew;
    - for the "learned" check and the plateau guard, the real task only: normal vs the
      known anomaly, half each, on which any constant output scores exactly 0.5. With the
      pseudo-anomalies in it (some hardly differ from a normal frame, and they weigh 80 %
      of the anomalous side) a regressor whose f(x) was 0.91 on unseen normal frames
      against 0.28 on the known gesture once scored 0.469 and was judged "not learned".
    Without pseudo-anomalies the two are the same number."""

    def losses(model: nn.Module, val: tuple[torch.Tensor, ...], bs: int, device) -> tuple[float, float]:
        x, _, _, group = val
        model.eval()
        with torch.no_grad():
            f = torch.cat([model(x[i : i + bs].to(device)).float().cpu() for i in range(0, len(x), bs)])

        def mean(g: int, target: float) -> float | None:
            part = f[group == g]
            return float((part - target).abs().mean()) if len(part) else None

        normal, known, pseudo = mean(0, 1.0), mean(1, 0.0), mean(2, 0.0)
        real = [v for v in (normal, known) if v is not None]
        task = sum(real) / len(real)
        if pseudo is None or known is None or normal is None:
            return task, task
        return 0.5 * normal + 0.5 * ((1 - pseudo_share) * known + pseudo_share * pseudo), task

    return losses


def _best_task(history: TrainHistory) -> float:
    return min(history.task_loss or history.val_loss, default=math.inf)


def _pseudo_used(pseudo: torch.Tensor | None, pseudo_share: float) -> bool:
    """Whether the pseudo-anomalies take part (the one rule for the targets and the validation)."""
    return pseudo is not None and len(pseudo) > 0 and pseudo_share > 0


def regressor_targets(
    normal: torch.Tensor, anomalies: torch.Tensor, pseudo: torch.Tensor | None = None, pseudo_share: float = 0.5
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inputs, targets (1 normal, 0 anomalous) and per-sample weights averaging 1.

    Normal frames carry half the total weight, the anomalous side the other half: all of
    it to the known anomalies, or ``pseudo_share`` of it to the pseudo-anomalies."""
    if not 0.0 <= pseudo_share < 1.0:
        raise ValueError(f"pseudo_share must be in [0, 1), got {pseudo_share}")
    use_pseudo = _pseudo_used(pseudo, pseudo_share)
    share = pseudo_share if use_pseudo else 0.0
    groups = [(normal, 1.0, 0.5), (anomalies, 0.0, 0.5 * (1 - share))]
    if use_pseudo:
        groups.append((pseudo, 0.0, 0.5 * share))
    x = torch.cat([g for g, _, _ in groups])
    y = torch.cat([torch.full((len(g),), t) for g, t, _ in groups])
    weights = torch.cat([torch.full((len(g),), weight / max(len(g), 1)) for g, _, weight in groups]) * len(y)
    return x, y, weights


def _fit(
    model: nn.Module,
    data: tuple[torch.Tensor, ...],
    loss_fn: BatchLoss,
    config: TrainConfig,
    state_path: str | Path | None,
    strata: torch.Tensor | None = None,
    val_fn: Callable[..., float | tuple[float, float]] | None = None,
) -> TrainHistory:
    """The loop. ``strata`` (a group per sample) makes the validation split stratified;
    ``val_fn`` replaces the mean of ``loss_fn`` on validation, and may also give a task
    loss for the plateau guard (``TrainHistory.task_loss``)."""
    evaluate = val_fn or (lambda m, v, bs, dev: _evaluate(m, v, loss_fn, bs, dev))
    device = pick_device(config.device)
    gen = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    n = len(data[0])
    if n < 2:
        raise ValueError("training needs at least two samples")
    val_idx, train_idx = _split(n, config.val_fraction, gen, strata)
    n_val = len(val_idx)
    train = tuple(t[train_idx] for t in data)
    val = tuple(t[val_idx] for t in data)
    per_pass = math.ceil(len(train_idx) / config.batch_size)
    passes = max(1, math.ceil(config.round_steps / per_pass))  # passes per round
    rounds = max(math.ceil(config.epochs / passes), math.ceil(config.min_steps / (passes * per_pass)))

    place_model(model, device)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    history = TrainHistory()
    best_loss, best_state, start_epoch, bad_epochs = math.inf, None, 0, 0
    if state_path is not None and Path(state_path).exists():
        start_epoch, best_loss, best_state, bad_epochs, history = _load_state(
            Path(state_path), model, opt, gen, device
        )
        history.resumed_from_epoch = start_epoch

    show = sys.stderr.isatty() if config.progress is None else config.progress
    bar = tqdm(range(start_epoch, rounds), desc=config.desc, disable=not show, leave=False)
    for epoch in bar:
        if bad_epochs >= config.patience and not _on_plateau(config, _best_task(history)):  # resumed after a stop
            history.stopped_early = True
            break
        model.train()
        total, count = 0.0, 0
        for _ in range(passes):
            order = torch.randperm(len(train_idx), generator=gen)
            for start in range(0, len(order), config.batch_size):
                idx = order[start : start + config.batch_size]
                batch = tuple(t[idx] for t in train)
                if config.augment is not None:
                    batch = (config.augment(batch[0], gen), *batch[1:])
                batch = tuple(t.to(device) for t in batch)
                loss = loss_fn(model, batch)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                history.steps += 1
                total += loss.item() * len(idx)
                count += len(idx)
        history.train_loss.append(total / max(count, 1))
        val_loss = evaluate(model, val, config.batch_size, device) if n_val else history.train_loss[-1]
        if isinstance(val_loss, tuple):
            val_loss, task = val_loss
            history.task_loss.append(task)
        history.val_loss.append(val_loss)
        if not math.isfinite(best_loss) or val_loss < best_loss - 1e-6 * abs(best_loss):
            best_loss, bad_epochs, history.best_epoch = val_loss, 0, epoch
            best_state = copy.deepcopy(model.state_dict())
        else:
            bad_epochs += 1
        bar.set_postfix(train=f"{history.train_loss[-1]:.4g}", val=f"{val_loss:.4g}")
        if state_path is not None:
            _save_state(Path(state_path), model, opt, gen, epoch + 1, best_loss, best_state, bad_epochs, history)
        if bad_epochs >= config.patience and epoch + 1 < rounds and not _on_plateau(config, _best_task(history)):
            history.stopped_early = True
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history


def _split(n: int, fraction: float, gen: torch.Generator, strata: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Validation and training indices. With ``strata`` (a group number per sample) each
    group gives its own share, at least one sample of every group of two or more: a
    random 12 of 120 regressor samples once held no known anomaly at all, and a
    validation loss without them said nothing about whether f(x) had learned."""
    if fraction <= 0:
        return torch.empty(0, dtype=torch.long), torch.randperm(n, generator=gen)
    if strata is None:
        perm = torch.randperm(n, generator=gen)
        n_val = min(max(1, int(round(n * fraction))), n - 1)
        return perm[:n_val], perm[n_val:]
    val, train = [], []
    for g in torch.unique(strata):
        members = torch.nonzero(strata == g).flatten()
        members = members[torch.randperm(len(members), generator=gen)]
        k = min(max(1, int(round(len(members) * fraction))), len(members) - 1)
        val.append(members[:k])
        train.append(members[k:])
    val_idx, train_idx = torch.cat(val), torch.cat(train)
    if len(train_idx) == 0 or len(val_idx) == 0:
        return _split(n, fraction, gen, None)
    return val_idx.sort().values, train_idx[torch.randperm(len(train_idx), generator=gen)]


def _on_plateau(config: TrainConfig, best_loss: float) -> bool:
    return config.plateau_loss is not None and best_loss >= config.plateau_loss


def _evaluate(model: nn.Module, val: tuple[torch.Tensor, ...], loss_fn: BatchLoss, bs: int, device) -> float:
    model.eval()
    total = 0.0
    # the VAE loss samples z; a fixed seed keeps validation comparable between epochs
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(12345)
        for start in range(0, len(val[0]), bs):
            batch = tuple(t[start : start + bs].to(device) for t in val)
            total += loss_fn(model, batch).item() * len(batch[0])
    return total / len(val[0])


# --- resumable state: safetensors (tensors) + JSON in its header (counters, history) ---

def _save_state(path, model, opt, gen, epoch, best_loss, best_state, bad_epochs, history) -> None:
    tensors: dict[str, torch.Tensor] = {}
    for k, v in model.state_dict().items():
        tensors[f"model.{k}"] = v.detach().cpu().contiguous()
    if best_state is not None:
        for k, v in best_state.items():
            tensors[f"best.{k}"] = v.detach().cpu().contiguous()
    opt_state = opt.state_dict()
    for pid, st in opt_state["state"].items():
        for name, val in st.items():
            t = val if isinstance(val, torch.Tensor) else torch.tensor(val)
            tensors[f"opt.{pid}.{name}"] = t.detach().cpu().contiguous()
    tensors["rng.generator"] = gen.get_state()
    tensors["rng.torch"] = torch.get_rng_state()
    meta = {
        "epoch": epoch,
        "best_loss": best_loss if math.isfinite(best_loss) else None,
        "bad_epochs": bad_epochs,
        "history": history.to_dict(),
        "param_groups": opt_state["param_groups"],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata={"format": "spader-train-state", "state": json.dumps(meta)})
    os.replace(tmp, path)


def _load_state(path, model, opt, gen, device):
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["state"])
    tensors = load_file(str(path))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    best = {k[5:]: v.to(device) for k, v in tensors.items() if k.startswith("best.")} or None
    state: dict[int, dict[str, torch.Tensor]] = {}
    for k, v in tensors.items():
        if k.startswith("opt."):
            _, pid, name = k.split(".", 2)
            state.setdefault(int(pid), {})[name] = v.to(device) if name != "step" else v
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    gen.set_state(tensors["rng.generator"])
    torch.set_rng_state(tensors["rng.torch"])
    h = meta["history"]
    history = TrainHistory(**h)
    best_loss = meta["best_loss"] if meta["best_loss"] is not None else math.inf
    return meta["epoch"], best_loss, best, meta["bad_epochs"], history
