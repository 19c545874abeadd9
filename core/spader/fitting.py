"""Training of the VAE (normal images only) and the regressor (normal = 1, known anomaly = 0).

Seeded, resumable (a state file is written atomically after every epoch), with progress
bars, validation loss and early stopping; the best-validation weights are restored at the
end. The device is chosen automatically (CUDA when present) unless one is given.
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
from core.spader.vae import vae_loss


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    val_fraction: float = 0.1
    patience: int = 8  # epochs without validation improvement before stopping
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
    best_epoch: int = -1
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
    data = regressor_targets(normal, anomalies, pseudo, pseudo_share)
    if config.plateau_loss is None:
        config = replace(config, plateau_loss=REGRESSOR_PLATEAU_LOSS)

    def loss_fn(model: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        xb, yb, wb = batch
        return (F.l1_loss(model(xb), yb, reduction="none") * wb).mean()

    def stuck(h: TrainHistory) -> bool:
        return _on_plateau(config, min(h.val_loss, default=math.inf))

    history = _fit(regressor, data, loss_fn, config, state_path)
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
        history = _fit(regressor, data, loss_fn, replace(config, seed=seed), state_path)
        starts += 1
    history.starts = starts
    history.learned = not stuck(history)
    return history


def regressor_targets(
    normal: torch.Tensor, anomalies: torch.Tensor, pseudo: torch.Tensor | None = None, pseudo_share: float = 0.5
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inputs, targets (1 normal, 0 anomalous) and per-sample weights averaging 1.

    Normal frames carry half the total weight, the anomalous side the other half: all of
    it to the known anomalies, or ``pseudo_share`` of it to the pseudo-anomalies."""
    if not 0.0 <= pseudo_share < 1.0:
        raise ValueError(f"pseudo_share must be in [0, 1), got {pseudo_share}")
    use_pseudo = pseudo is not None and len(pseudo) > 0 and pseudo_share > 0
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
) -> TrainHistory:
    device = pick_device(config.device)
    gen = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    n = len(data[0])
    if n < 2:
        raise ValueError("training needs at least two samples")
    perm = torch.randperm(n, generator=gen)
    n_val = min(max(1, int(round(n * config.val_fraction))), n - 1) if config.val_fraction > 0 else 0
    val_idx, train_idx = perm[:n_val], perm[n_val:]
    train = tuple(t[train_idx] for t in data)
    val = tuple(t[val_idx] for t in data)

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
    bar = tqdm(range(start_epoch, config.epochs), desc=config.desc, disable=not show, leave=False)
    for epoch in bar:
        if bad_epochs >= config.patience and not _on_plateau(config, best_loss):  # resumed after a stop
            history.stopped_early = True
            break
        model.train()
        order = torch.randperm(len(train_idx), generator=gen)
        total, count = 0.0, 0
        for start in range(0, len(order), config.batch_size):
            idx = order[start : start + config.batch_size]
            batch = tuple(t[idx].to(device) for t in train)
            loss = loss_fn(model, batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            count += len(idx)
        history.train_loss.append(total / max(count, 1))
        val_loss = _evaluate(model, val, loss_fn, config.batch_size, device) if n_val else history.train_loss[-1]
        history.val_loss.append(val_loss)
        if not math.isfinite(best_loss) or val_loss < best_loss - 1e-6 * abs(best_loss):
            best_loss, bad_epochs, history.best_epoch = val_loss, 0, epoch
            best_state = copy.deepcopy(model.state_dict())
        else:
            bad_epochs += 1
        bar.set_postfix(train=f"{history.train_loss[-1]:.4g}", val=f"{val_loss:.4g}")
        if state_path is not None:
            _save_state(Path(state_path), model, opt, gen, epoch + 1, best_loss, best_state, bad_epochs, history)
        if bad_epochs >= config.patience and epoch + 1 < config.epochs and not _on_plateau(config, best_loss):
            history.stopped_early = True
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history


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
