"""run a paper experiment (noisy-mnist, folders, folds, variants)"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from core.cli.option_types import device, number, seed, whole


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="name", metavar="EXPERIMENT", required=True)
    _add_noisy_mnist(sub.add_parser("noisy-mnist", allow_abbrev=False, help="the seed paper's Table I (left) on real MNIST digits"))
    from core.cli import folder_args

    p = sub.add_parser("folders", allow_abbrev=False, help="one model per choice of known anomaly on a class-folder data set")
    folder_args.add_data_arguments(p)
    folder_args.add_training_arguments(p)
    p.add_argument("--known-each", nargs="+", required=True, metavar="CLASS",
                   help="known-anomaly classes to sweep: one regressor each; the others are unknown")
    p.add_argument("--out", type=Path, default=Path("runs/folders"), help="folder for table.csv and result.json")
    p.add_argument("--save-models", action="store_true",
                   help="also write each known choice's model (model-CLASS.safetensors, about 4 MB each, no "
                        "threshold) for `spader evaluate`, `spader score` or the app")
    f = sub.add_parser("folds", allow_abbrev=False,
                       help="the paper's hand-gesture protocol: leave one subject out, one regressor per known class")
    folder_args.add_data_arguments(f)
    folder_args.add_training_arguments(f)
    f.add_argument("--known-each", nargs="+", required=True, metavar="CLASS",
                   help="known-anomaly classes: one regressor each per fold; the other classes are unknown")
    f.add_argument("--out", type=Path, default=Path("runs/folds"), help="folder for table.csv and result.json")
    f.add_argument("--test-subjects", nargs="+", metavar="SUBJECT",
                   help="run only the folds that test these subjects (default: every subject once)")
    f.epilog = ("Every subject is the test subject once; the others train the VAE and the regressors (the "
                "recipe's validation split for early stopping comes from them). --val-fraction and "
                "--test-fraction are not used.")
    v = sub.add_parser("variants", allow_abbrev=False, help="AUROC per kind of pose within a synthetic class, from a finished "
                                        "`experiment folders` run's saved scores (no retraining)")
    v.add_argument("run", type=Path, metavar="RUN", help="the run's --out folder (result.json, scores.npz)")
    v.add_argument("--data", type=Path, help="the synthetic data set (default: the one result.json names)")
    v.add_argument("--scorer", default="spader", help="scorer key (default spader; e.g. vae_cnn_reg, cnn_reg)")


def _add_noisy_mnist(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, metavar="NPZ",
                        help="MNIST digits: an .npz with 'images' (N,28,28) uint8 and 'labels' (N,)")
    parser.add_argument("--quick", action="store_true",
                        help="one known digit (7), one trial, few epochs: a few minutes on 2 CPU cores")
    parser.add_argument("--trials", type=whole(1, 100), help="number of trials (default 5; 1 with --quick)")
    parser.add_argument("--known", type=whole(0, 9), nargs="+", metavar="DIGIT",
                        help="known anomaly digits (default 1 3 5 7 9; 7 with --quick)")
    parser.add_argument("--seed", type=seed, default=0, help="base seed (default 0)")
    parser.add_argument("--vae-epochs", type=whole(1, 100000), help="VAE training epochs (default 40; 30 with --quick)")
    parser.add_argument("--reg-epochs", type=whole(1, 100000), help="regressor training epochs (default 15; 20 with --quick)")
    parser.add_argument("--smooth-px", type=number(0, 20), metavar="SIGMA",
                        help="Gaussian smoothing of every image before the models see it, sigma in pixels "
                             "(default 1; 0 = the raw noisy canvas)")
    parser.add_argument("--device", type=device, default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N")
    parser.add_argument("--out", type=Path, default=Path("runs/noisy-mnist"),
                        help="folder for table.csv and result.json (default runs/noisy-mnist)")
    parser.epilog = ("Protocol: 84x84 canvas, digits resized to 28-64 px at random positions, Gaussian "
                     "noise with sigma ~ |N(40, 30^2)| on 0-255; normal digit 0, one known anomaly "
                     "digit, all other digits unknown anomalies; AUROC normal vs all anomalies "
                     "(higher score = more normal).")


def run(args: argparse.Namespace) -> int:
    if args.name == "folders":
        return _run_folders(args)
    if args.name == "folds":
        return _run_folds(args)
    if args.name == "variants":
        return _run_variants(args)
    return _run_noisy_mnist(args)


def _run_folders(args: argparse.Namespace) -> int:
    from core.cli import folder_args
    from core.data.splits import prepare_splits
    from core.experiments.folders import format_sweep_tables, run_known_sweep, write_sweep

    ds, pre = folder_args.open_data(args)
    cfg = folder_args.train_config(args, args.known_each)
    prepared = prepare_splits(ds, cfg, pre, progress=folder_args.say)
    table, outcome = run_known_sweep(prepared, cfg, progress=folder_args.say)
    print(format_sweep_tables(table))
    written = write_sweep(args.out, table, outcome, prepared, cfg, pre, ds, args.data,
                          folder_args.command_line(args), save_models=args.save_models)
    print(f"wrote {args.out}/" + ", ".join(written))
    return 0


def _run_folds(args: argparse.Namespace) -> int:
    from core.cli import folder_args
    from core.experiments.subject_folds import format_result, run_subject_folds, write_result

    ds, pre = folder_args.open_data(args)
    cfg = folder_args.train_config(args, args.known_each)
    result = run_subject_folds(ds, cfg, pre, progress=folder_args.say, test_subjects=args.test_subjects)
    print(format_result(result))
    extra = {"experiment": "folds", "command": folder_args.command_line(args), "data": str(args.data),
             "config": cfg.to_dict(), "preprocess": pre.to_dict()}
    for path in write_result(args.out, result, extra):
        print(f"wrote {path}")
    return 0


def _run_variants(args: argparse.Namespace) -> int:
    from core.errors import SpaderError
    from core.experiments.variants import format_variant_table, variant_table
    from core.spader.scorers import SCORER_KEYS

    if args.scorer not in SCORER_KEYS:
        raise SpaderError(f"--scorer must be one of {', '.join(SCORER_KEYS)}")
    table = variant_table(args.run, args.data, args.scorer)
    if not table.auroc:
        print(f"{args.run}: its test split holds no class drawn as several kinds of pose")
        return 0
    print(format_variant_table(table, args.scorer))
    return 0


def _run_noisy_mnist(args: argparse.Namespace) -> int:
    from core.data.noisy_mnist import load_mnist_npz
    from core.errors import SpaderError
    from core.experiments.noisy_mnist import NoisyMnistConfig, format_result, run_noisy_mnist, write_result

    overrides: dict = {"seed": args.seed, "device": args.device}
    if args.smooth_px is not None:
        if args.smooth_px < 0:
            raise SpaderError("--smooth-px must be 0 (off) or positive")
        overrides["smooth_px"] = args.smooth_px
    if args.trials is not None:
        if args.trials < 1:
            raise SpaderError("--trials must be at least 1")
        overrides["trials"] = args.trials
    for name in ("vae_epochs", "reg_epochs"):
        value = getattr(args, name, None)
        if value is not None:
            if value < 1:
                raise SpaderError(f"--{name.replace('_', '-')} must be at least 1")
            overrides[name] = value
    if args.known is not None:
        bad = [d for d in args.known if not 1 <= d <= 9]
        if bad:
            raise SpaderError(f"--known digits must be 1-9 (0 is the normal class), got {bad}")
        overrides["known_digits"] = tuple(args.known)
    cfg = NoisyMnistConfig.quick(**overrides) if args.quick else NoisyMnistConfig(**overrides)
    images, labels = load_mnist_npz(args.data)

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    smoothing = f"input smoothed, sigma {cfg.smooth_px:g} px" if cfg.smooth_px > 0 else "raw noisy input"
    say(f"noisy-mnist: {cfg.trials} trial(s), known digits {list(cfg.known_digits)}, {smoothing}"
        + (" (quick mode)" if args.quick else ""))
    result = run_noisy_mnist(images, labels, cfg, progress=say)
    print(format_result(result))
    for path in write_result(args.out, result):
        print(f"wrote {path}")
    return 0
