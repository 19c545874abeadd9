"""Arguments and runners shared by `spader train`, `spader evaluate` and `spader experiment folders`."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from core.experiments.folders import FolderTrainConfig, PreparedSplits
from core.spader.regressor import NORMS
from core.preprocess import PreprocessConfig
from core.spader.scorers import SCORER_KEYS

if TYPE_CHECKING:
    from core.data.folders import FolderDataset
    from core.spader.recipe import SweepOutcome


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, type=Path, metavar="DIR",
                   help="class-folder data set: DIR/<class>/*.png 16-bit depth (see docs/dataset-format.md)")
    p.add_argument("--normal", required=True, metavar="CLASS", help="the normal class (e.g. pigeon)")
    p.add_argument("--unit-mm", type=float, metavar="MM", help="depth unit when DIR/dataset.json does not give it (default 1.0)")
    p.add_argument("--subject-pattern", metavar="REGEX",
                   help="regular expression with a group 'subject' matched on file names (default from dataset.json)")
    p.add_argument("--no-hand-search", action="store_true",
                   help="the images are already hand crops: use the whole image (e.g. the ASL data)")
    p.add_argument("--size", type=int, default=128, help="model input side (default 128)")
    p.add_argument("--workers", type=int, default=2, help="processes for loading and preprocessing")
    p.add_argument("--max-per-class", type=int, metavar="N", help="use at most N files per class and split")


def add_training_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="seed for the split, initialisation and sampling")
    p.add_argument("--vae-epochs", type=int, default=40)
    p.add_argument("--reg-epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=16, help="training batch (default 16)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--val-fraction", type=float, default=0.15, help="share of subjects for validation")
    p.add_argument("--test-fraction", type=float, default=0.25, help="share of subjects held out for testing")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N")
    p.add_argument("--vae-convs", type=int, default=FolderTrainConfig.vae_convs_per_level, metavar="N",
                   help="3x3 convolutions per scale in the VAE's encoder and decoder "
                        f"(default {FolderTrainConfig.vae_convs_per_level}; 1 = the light model of earlier versions)")
    p.add_argument("--pseudo-anomalies", type=float, default=FolderTrainConfig.pseudo_share, metavar="SHARE",
                   help="share (0 to <1) of the regressor's anomalous side given to generic pseudo-anomalies "
                        "made from the normal training frames (core/spader/pseudo_anomalies.py); "
                        f"default {FolderTrainConfig.pseudo_share:g}, 0 = known classes only, as in the paper")
    p.add_argument("--pseudo-copies", type=int, default=FolderTrainConfig.pseudo_copies, metavar="N",
                   help=f"damaged copies of every normal training frame (default {FolderTrainConfig.pseudo_copies})")
    p.add_argument("--reg-members", type=int, default=FolderTrainConfig.reg_members, metavar="K",
                   help="regressors trained with their own seeds and pseudo-anomalies and averaged "
                        f"into one (f(x) and Grad-CAM are the members' means; default {FolderTrainConfig.reg_members})")
    p.add_argument("--reg-normal-frames", type=int, metavar="N",
                   help="the regressors learn from at most N of the normal training frames (a seeded random "
                        "subset) while the VAE learns from all; bounds the regressors' training time when "
                        "there are many normal frames (default: all)")
    p.add_argument("--reg-widths", type=int, nargs="+", default=list(FolderTrainConfig.reg_widths), metavar="C",
                   help="channels of the regressor's conv blocks, one per block (default "
                        f"{' '.join(map(str, FolderTrainConfig.reg_widths))})")
    p.add_argument("--reg-halvings", type=int, metavar="N",
                   help="max-pool halvings of the regressor, after its first N blocks (default: one between "
                        "every two blocks); fewer give a finer Grad-CAM layer")
    p.add_argument("--reg-dilate", action="store_true",
                   help="the regressor's blocks after its last halving dilate 2, 4, ... instead, so the Grad-CAM "
                        "layer sees as far as if they had been pooled")
    p.add_argument("--reg-norm", default="none", metavar="{" + ",".join(NORMS) + "}",
                   help="'batch': a BatchNorm after each of the regressor's convolutions (default none)")
    p.add_argument("--smooth-px", type=float, default=1.0, metavar="SIGMA",
                   help="Gaussian smoothing of the model input, sigma in model pixels (default 1; 0: off); "
                        "stored in the model, so scoring smooths the same way")
    p.add_argument("--band-mm", type=float, default=PreprocessConfig.band_mm, metavar="MM",
                   help="depth range behind the hands that the model input spans, 1 at the hands to 0 at "
                        f"this many mm behind (default {PreprocessConfig.band_mm:g}); a narrower band gives the "
                        "relief of the hands more contrast; stored in the model")


def checked_band_mm(args: argparse.Namespace) -> float:
    """The --band-mm value (the preprocessing default when the command has no such option)."""
    from core.errors import SpaderError

    value = getattr(args, "band_mm", None)
    if value is None:
        return PreprocessConfig.band_mm
    if not value > 0:
        raise SpaderError("--band-mm must be positive")
    return float(value)


def checked_smooth_px(args: argparse.Namespace) -> float | None:
    """The --smooth-px value (None when the command has no such option or it was not given)."""
    from core.errors import SpaderError

    value = getattr(args, "smooth_px", None)
    if value is not None and value < 0:
        raise SpaderError("--smooth-px must be 0 (off) or positive")
    return value


def open_data(args: argparse.Namespace):
    from core.data.folders import open_dataset
    from core.errors import SpaderError
    if args.max_per_class is not None and args.max_per_class < 1:
        raise SpaderError("--max-per-class must be at least 1")
    ds = open_dataset(args.data, unit_mm=args.unit_mm, subject_pattern=args.subject_pattern)
    pre = PreprocessConfig(size=args.size, hand_search=not args.no_hand_search,
                           smooth_px=checked_smooth_px(args) or 0.0, band_mm=checked_band_mm(args))
    return ds, pre


def train_config(args: argparse.Namespace, known: list[str]):
    from core.errors import SpaderError

    if args.vae_convs < 1:
        raise SpaderError("--vae-convs must be at least 1")
    if not 0 <= args.pseudo_anomalies < 1:
        raise SpaderError("--pseudo-anomalies must be a share from 0 (off) to below 1")
    if args.pseudo_copies < 1:
        raise SpaderError("--pseudo-copies must be at least 1")
    if args.reg_members < 1:
        raise SpaderError("--reg-members must be at least 1")
    if args.reg_normal_frames is not None and args.reg_normal_frames < 1:
        raise SpaderError("--reg-normal-frames must be at least 1")
    if min(args.reg_widths) < 1:
        raise SpaderError("--reg-widths must all be at least 1")
    if args.reg_halvings is not None and not 0 <= args.reg_halvings < len(args.reg_widths):
        raise SpaderError(f"--reg-halvings must be from 0 to {len(args.reg_widths) - 1} (one fewer than --reg-widths)")
    if args.reg_norm not in NORMS:
        raise SpaderError(f"--reg-norm must be one of {', '.join(NORMS)}, got {args.reg_norm!r}")
    if args.reg_dilate and args.reg_halvings is None:
        raise SpaderError("--reg-dilate needs --reg-halvings: without it only the last block follows the last halving")
    return FolderTrainConfig(
        normal=args.normal, known=tuple(known), seed=args.seed, val_fraction=args.val_fraction,
        test_fraction=args.test_fraction, vae_epochs=args.vae_epochs, reg_epochs=args.reg_epochs,
        batch_size=args.batch_size, lr=args.lr, device=args.device, workers=args.workers,
        max_per_class=args.max_per_class, vae_convs_per_level=args.vae_convs,
        pseudo_share=args.pseudo_anomalies, pseudo_copies=args.pseudo_copies,
        reg_members=args.reg_members, reg_normal_frames=args.reg_normal_frames, reg_widths=tuple(args.reg_widths),
        reg_halvings=args.reg_halvings, reg_dilate=args.reg_dilate, reg_norm=args.reg_norm,
    )


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def command_line(args: argparse.Namespace | None = None) -> str:
    """The command as the user typed it (the argv given to ``main``, else sys.argv)."""
    argv = getattr(args, "_argv", None)
    if argv is None:
        argv = sys.argv[1:]
    return "spader " + " ".join(shlex.quote(a) for a in argv)


def run_folder_sweep(args: argparse.Namespace) -> int:
    import numpy as np

    from core.experiments.folders import prepare_splits, run_known_sweep
    from core.experiments.report import format_table, write_table_csv

    ds, pre = open_data(args)
    cfg = train_config(args, args.known_each)
    prepared = prepare_splits(ds, cfg, pre, progress=say)
    table, outcome = run_known_sweep(prepared, cfg, progress=say)
    cols = list(table.known_choices)
    rows = {s: [table.all_anomalies[s][k] for k in cols] + [table.average(s)] for s in SCORER_KEYS}
    print(format_table(f"AUROC on the test split (unseen subjects): normal '{cfg.normal}' vs all anomaly classes",
                       "known anomaly", cols + ["average"], rows))
    unknown = {s: table.unknown_class_mean(s) for s in SCORER_KEYS}
    ucols = sorted(unknown["spader"])
    urows = {s: [unknown[s][c] for c in ucols] + [min(unknown[s].values())] for s in SCORER_KEYS}
    print()
    print(format_table("AUROC per anomaly class while it was unknown (mean over the known choices)",
                       "anomaly class", ucols + ["min"], urows))
    args.out.mkdir(parents=True, exist_ok=True)
    write_table_csv(args.out / "table.csv", cols + ["average"], rows)
    write_table_csv(args.out / "unknown_classes.csv", ucols + ["min"], urows)
    result = {
        "experiment": "folders",
        "command": command_line(args),
        "data": str(args.data),
        "config": cfg.to_dict(),
        "preprocess": pre.to_dict(),
        "splits": prepared.summary(),
        "timings_s": outcome.timings,
        **table.to_dict(),
    }
    (args.out / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    # every test frame's scores, so other combinations can be measured without retraining
    np.savez_compressed(args.out / "scores.npz", labels=prepared.labels["test"],
                        **{f"{k}.{s}": outcome.scores[k][s] for k in cols for s in SCORER_KEYS})
    written = ["table.csv", "unknown_classes.csv", "result.json", "scores.npz"]
    if args.save_models:
        written += [p.name for p in save_sweep_models(outcome, prepared, cfg, pre, ds, args)]
    print(f"wrote {args.out}/" + ", ".join(written))
    return 0


def data_record(args: argparse.Namespace, ds: FolderDataset, prepared: PreparedSplits) -> dict:
    """What a model file records about the data it was trained on."""
    return {"path": str(args.data), "unit_mm": ds.unit_mm, "synthetic": bool(ds.meta.get("synthetic", False)),
            "splits": prepared.summary()}


def save_sweep_models(outcome: SweepOutcome, prepared: PreparedSplits, cfg: FolderTrainConfig,
                      pre: PreprocessConfig, ds: FolderDataset, args: argparse.Namespace) -> list[Path]:
    """One model file per known choice: the shared VAE with that choice's regressor. No
    threshold is chosen (the sweep scores the test split, never a validation split)."""
    from core.spader.checkpoint import SpaderModel, save_model
    from core.experiments.folders import split_record

    paths = []
    for known, reg in outcome.regressors.items():
        model = SpaderModel(outcome.vae, reg)
        model.meta.update(
            name=f"{args.out.name}-{known}", threshold=None, normal_class=cfg.normal, known_classes=[known],
            classes=ds.classes, preprocess=pre.to_dict(), train_config=cfg.to_dict(), seed=cfg.seed,
            data=data_record(args, ds, prepared), command=command_line(args), split=split_record(cfg, prepared),
        )
        paths.append(save_model(model, args.out / f"model-{known}.safetensors"))
    return paths
