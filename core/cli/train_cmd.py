"""train a model (VAE + regressor) on a class-folder depth data set"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.cli import folder_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    folder_args.add_data_arguments(parser)
    parser.add_argument("--known", required=True, nargs="+", metavar="CLASS",
                        help="known-anomaly classes the regressor learns (target 0); other classes stay unknown")
    folder_args.add_training_arguments(parser)
    parser.add_argument("--out", required=True, type=Path, metavar="MODEL",
                        help="model file to write (.safetensors); MODEL-eval.json is written beside it")
    parser.add_argument("--name", help="model name shown in the app (default: the file name)")
    parser.add_argument("--force", action="store_true", help="replace an existing model file at --out")
    parser.epilog = ("Splits keep subjects apart (train / validation / test). The threshold is chosen on the "
                     "validation split; the test split (unseen subjects) is evaluated at the end.")


def check_output(out: Path, force: bool = False) -> None:
    """The model file can be written where asked: not an existing model (unless ``force``),
    not a folder, in a folder that exists (or can be made) and takes a file."""
    import os
    import tempfile

    from core.errors import SpaderError

    if out.name in ("", ".", ".."):  # "", "/", ".": no file name to give a suffix to
        raise SpaderError(f"--out {str(out)!r} names no file: give a model file name (e.g. model.safetensors)")
    target = out if out.suffix == ".safetensors" else out.with_suffix(".safetensors")
    if target.is_dir():
        raise SpaderError(f"--out {out} is a folder: give a model file name (e.g. {target / 'model.safetensors'})")
    if target.exists() and not force:
        raise SpaderError(f"{target} already exists: choose another --out or pass --force to replace it")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=target.parent, prefix=".spader-write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise SpaderError(f"cannot write the model to {target.parent}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace) -> int:
    from core.experiments.report import format_table
    from core.spader.checkpoint import save_model
    from core.spader.evaluation import evaluate_model
    from core.spader.recipe import train_folder_model

    cfg = folder_args.train_config(args, args.known)
    check_output(args.out, args.force)  # before the work: a run is never lost to its output path
    trained = train_folder_model(args.data, cfg, folder_args.preprocess_config(args), unit_mm=args.unit_mm,
                                 subject_pattern=args.subject_pattern, progress=folder_args.say)
    model, prepared = trained.model, trained.prepared
    model.meta.update(name=args.name or args.out.stem, command=folder_args.command_line(args))
    path = save_model(model, args.out)
    folder_args.say("evaluating on the test split (unseen subjects)")
    ev = evaluate_model(model, prepared.x["test"], prepared.labels["test"], cfg.normal, seed=cfg.seed)
    cols = ["all"] + ev["classes"]
    print(format_table(f"AUROC on the test split, normal '{cfg.normal}' vs each anomaly class",
                       "class", cols, {s: [r[c] for c in cols] for s, r in ev["auroc"].items()}))
    eval_path = path.with_name(path.stem + "-eval.json")
    eval_path.write_text(json.dumps({"model": path.name, "command": model.meta["command"], **ev}, indent=2) + "\n")
    print(f"wrote {path} (threshold {model.threshold:.4f}) and {eval_path}")
    return 0
