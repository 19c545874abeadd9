"""Arguments shared by `spader train`, `spader evaluate` and `spader experiment folders`: parsing
only; the defaults and the checks are the recipe's (core.spader.recipe)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
import dataclasses
import re
from typing import TYPE_CHECKING

from core.cli.option_types import device, number, seed, whole
from core.errors import SpaderError
from core.preprocess import PreprocessConfig
from core.spader.recipe import TRAINING_PREPROCESS, FolderTrainConfig

if TYPE_CHECKING:
    from core.data.folders import FolderDataset


def _default(name: str) -> object:
    """The recipe's default for a FolderTrainConfig field: the one place defaults live."""
    return {f.name: f.default for f in dataclasses.fields(FolderTrainConfig)}[name]


# FolderTrainConfig / PreprocessConfig field -> the option that sets it (for error messages)
OPTION_OF_FIELD: dict[str, str] = {
    "reg_normal_frames": "--reg-normal-frames", "vae_convs_per_level": "--vae-convs",
    "pseudo_share": "--pseudo-anomalies", "reg_members": "--reg-members", "max_per_class": "--max-per-class",
    "val_fraction": "--val-fraction", "test_fraction": "--test-fraction", "vae_epochs": "--vae-epochs",
    "reg_epochs": "--reg-epochs", "batch_size": "--batch-size", "smooth_px": "--smooth-px",
    "band_mm": "--band-mm", "workers": "--workers", "seed": "--seed", "size": "--size", "lr": "--lr",
    "crop_mm": "--crop-mm", "seed_band_mm": "--seed-band-mm", "vae_min_steps": "--vae-steps",
    "reg_min_steps": "--reg-steps",
}


def _option_error(exc: ValueError) -> SpaderError:
    """The config's message with its field names spelled as the options that set them."""
    names = "|".join(sorted(OPTION_OF_FIELD, key=len, reverse=True))
    return SpaderError(re.sub(rf"(?<![\w-])({names})(?![\w-])", lambda m: OPTION_OF_FIELD[m.group(1)], str(exc)))


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, type=Path, metavar="DIR",
                   help="class-folder data set: DIR/<class>/*.png 16-bit depth (see docs/dataset-format.md)")
    p.add_argument("--normal", required=True, metavar="CLASS", help="the normal class (e.g. pigeon)")
    p.add_argument("--unit-mm", type=number(0, 100, above=True), metavar="MM", help="depth unit when DIR/dataset.json does not give it (default 1.0)")
    p.add_argument("--subject-pattern", metavar="REGEX",
                   help="regular expression with a group 'subject' matched on file names (default from dataset.json)")
    p.add_argument("--no-hand-search", action="store_true",
                   help="the images are already hand crops: use the whole image (e.g. the ASL data)")
    p.add_argument("--size", type=whole(16, 1024), default=TRAINING_PREPROCESS.size,
                   help=f"model input side (default {TRAINING_PREPROCESS.size})")
    p.add_argument("--workers", type=whole(1, 64), default=_default("workers"), help="processes for loading and preprocessing")
    p.add_argument("--max-per-class", type=whole(1), metavar="N", help="use at most N files per class and split")


def add_training_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=seed, default=_default("seed"), help="seed for the split, initialisation and sampling")
    p.add_argument("--vae-epochs", type=whole(1, 100000), default=_default("vae_epochs"))
    p.add_argument("--reg-epochs", type=whole(1, 100000), default=_default("reg_epochs"))
    p.add_argument("--vae-steps", type=whole(0, 10_000_000), default=_default("vae_min_steps"), metavar="N",
                   help="the VAE trains for at least N optimiser steps whatever --vae-epochs says, so that a "
                        f"small data set gets as many updates as a large one (default {_default('vae_min_steps')})")
    p.add_argument("--reg-steps", type=whole(0, 10_000_000), default=_default("reg_min_steps"), metavar="N",
                   help=f"the same for each regressor (default {_default('reg_min_steps')})")
    p.add_argument("--no-augment", action="store_true",
                   help="train on the frames as they are (default: each training batch is randomly turned by up "
                        "to 20 degrees, scaled by up to 10 %%, shifted by up to 8 %% and offset in depth)")
    p.add_argument("--no-vae-augment", action="store_true",
                   help="augment the regressors' batches only; the VAE learns from the frames as they are")
    p.add_argument("--batch-size", type=whole(1, 4096), default=_default("batch_size"),
                   help=f"training batch (default {_default('batch_size')})")
    p.add_argument("--lr", type=number(0, 1, above=True), default=_default("lr"))
    p.add_argument("--val-fraction", type=number(0, 0.9), default=_default("val_fraction"), help="share of subjects for validation")
    p.add_argument("--test-fraction", type=number(0, 0.9), default=_default("test_fraction"),
                   help="share of subjects held out for testing")
    p.add_argument("--device", type=device, default=_default("device"), help="auto (CUDA when present), cpu, cuda, cuda:N")
    p.add_argument("--vae-convs", type=whole(1, 8), default=_default("vae_convs_per_level"), metavar="N",
                   help=f"3x3 convolutions per scale in the VAE's encoder and decoder (default {_default('vae_convs_per_level')})")
    p.add_argument("--pseudo-anomalies", type=number(0, 1), default=_default("pseudo_share"), metavar="SHARE",
                   help="share (0 to <1) of the regressor's anomalous side given to generic pseudo-anomalies "
                        "made from the normal training frames (core/spader/pseudo_anomalies.py); "
                        f"default {_default('pseudo_share'):g}, 0 = known classes only, as in the paper")
    p.add_argument("--reg-members", type=whole(1, 16), default=_default("reg_members"), metavar="K",
                   help="regressors trained with their own seeds and pseudo-anomalies and averaged "
                        f"into one (f(x) and Grad-CAM are the members' means; default {_default('reg_members')})")
    p.add_argument("--reg-normal-frames", type=whole(1), metavar="N",
                   help="the regressors learn from at most N of the normal training frames (a seeded random "
                        "subset) while the VAE learns from all; bounds the regressors' training time when "
                        "there are many normal frames (default: all)")
    p.add_argument("--smooth-px", type=number(0, 20), default=TRAINING_PREPROCESS.smooth_px, metavar="SIGMA",
                   help=f"Gaussian smoothing of the model input, sigma in model pixels (default "
                        f"{TRAINING_PREPROCESS.smooth_px:g}; 0: off); stored in the model, so scoring smooths the same way")
    p.add_argument("--band-mm", type=number(0, 5000, above=True), default=TRAINING_PREPROCESS.band_mm, metavar="MM",
                   help="depth range behind the hands that the model input spans, 1 at the hands to 0 at "
                        f"this many mm behind (default {TRAINING_PREPROCESS.band_mm:g}); a narrower band gives the "
                        "relief of the hands more contrast; stored in the model")
    p.add_argument("--crop-mm", type=number(0, 5000, above=True), default=TRAINING_PREPROCESS.crop_mm, metavar="MM",
                   help="physical side of the crop around the hands at their depth (default "
                        f"{TRAINING_PREPROCESS.crop_mm:g}, room for two hands; one hand: about 220); stored in the model")
    p.add_argument("--seed-band-mm", type=number(0, 5000, above=True), default=TRAINING_PREPROCESS.seed_band_mm, metavar="MM",
                   help="the hand region is what lies within this depth of the nearest surface (default "
                        f"{TRAINING_PREPROCESS.seed_band_mm:g}; smaller keeps the forearm out); stored in the model")


def open_data(args: argparse.Namespace) -> tuple[FolderDataset, PreprocessConfig]:
    """The data set and the model input of a command with the data (and training) options.
    Commands without --smooth-px / --band-mm (evaluate) get the training defaults; they
    take the model's own preprocessing anyway."""
    from core.data.folders import open_dataset

    if args.max_per_class is not None and args.max_per_class < 1:
        raise SpaderError("--max-per-class must be at least 1")
    ds = open_dataset(args.data, unit_mm=args.unit_mm, subject_pattern=args.subject_pattern)
    return ds, preprocess_config(args)


def preprocess_config(args: argparse.Namespace) -> PreprocessConfig:
    try:
        return dataclasses.replace(
            TRAINING_PREPROCESS, size=args.size, hand_search=not args.no_hand_search,
            smooth_px=getattr(args, "smooth_px", TRAINING_PREPROCESS.smooth_px),
            band_mm=getattr(args, "band_mm", TRAINING_PREPROCESS.band_mm),
            crop_mm=getattr(args, "crop_mm", TRAINING_PREPROCESS.crop_mm),
            seed_band_mm=getattr(args, "seed_band_mm", TRAINING_PREPROCESS.seed_band_mm))
    except ValueError as exc:
        raise _option_error(exc) from None


def train_config(args: argparse.Namespace, known: list[str]) -> FolderTrainConfig:
    """The options as a FolderTrainConfig; its own checks give the messages (option names)."""
    try:
        return FolderTrainConfig(
            normal=args.normal, known=tuple(known), seed=args.seed, val_fraction=args.val_fraction,
            test_fraction=args.test_fraction, vae_epochs=args.vae_epochs, reg_epochs=args.reg_epochs,
            batch_size=args.batch_size, lr=args.lr, device=args.device, workers=args.workers,
            max_per_class=args.max_per_class, vae_convs_per_level=args.vae_convs,
            pseudo_share=args.pseudo_anomalies, reg_members=args.reg_members,
            reg_normal_frames=args.reg_normal_frames, vae_min_steps=args.vae_steps,
            reg_min_steps=args.reg_steps, augment=not args.no_augment,
            vae_augment=not args.no_vae_augment,
        )
    except ValueError as exc:
        raise _option_error(exc) from None


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def command_line(args: argparse.Namespace | None = None) -> str:
    """The command as the user typed it (the argv given to ``main``, else sys.argv)."""
    argv = getattr(args, "_argv", None)
    if argv is None:
        argv = sys.argv[1:]
    return "spader " + " ".join(shlex.quote(a) for a in argv)
