"""evaluate a model on a class-folder data set: the seven-scorer AUROC table"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

from core.cli import folder_args
from core.cli.option_types import seed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, help="model file (default: the bundled default model)")
    folder_args.add_data_arguments(parser)
    parser.add_argument("--known", nargs="*", default=[], metavar="CLASS",
                        help="classes the model was trained on as known anomalies (marked in the table)")
    parser.add_argument("--split", choices=["test", "val", "all"], default="test",
                        help="test: only the subjects the model held out (recorded in the model file; "
                             "all subjects when it records none); val: only its validation subjects, for "
                             "choices that must not look at the test subjects; all: every file")
    parser.add_argument("--seed", type=seed, default=0, help="seed for the VAE samples")
    parser.add_argument("--out", type=Path, default=Path("runs/evaluate"), help="folder for table.csv and result.json")


def run(args: argparse.Namespace) -> int:
    import torch

    from core.assets import default_model_path
    from core.spader.checkpoint import load_model
    from core.data.folders import load_preprocessed
    from core.device import pick_device
    from core.errors import DataError
    from core.data.splits import cap_per_class
    from core.spader.evaluation import evaluate_model
    from core.experiments.report import format_table, write_table_csv
    from core.runtime.scorer import model_preprocess_config

    model = load_model(args.model or default_model_path(), device=pick_device("auto"))
    ds, _ = folder_args.open_data(args)
    pre = model_preprocess_config(model)  # the preprocessing the model was trained with
    if args.no_hand_search:
        pre = dataclasses.replace(pre, hand_search=False)
    items = ds.items
    if args.split != "all":
        items = _split_items(items, model.meta.get("split", {}), args.split)
    if args.max_per_class is not None:
        items = cap_per_class(items, args.max_per_class, np.random.default_rng(args.seed))
    if args.normal not in {it.cls for it in items}:
        raise DataError(f"no '{args.normal}' files to evaluate")
    folder_args.say(f"preprocessing {len(items)} files")
    x, pres = load_preprocessed(ds, items, pre, workers=args.workers)
    keep = np.array([p.has_hand for p in pres], bool)
    labels = np.array([it.cls for it in items])[keep]
    ev = evaluate_model(model, torch.from_numpy(np.ascontiguousarray(x[keep])), labels, args.normal, seed=args.seed)
    cols = ["all"] + ev["classes"]
    shown = [c + (" (known)" if c in args.known else "") for c in cols]
    rows = {s: [r[c] for c in cols] for s, r in ev["auroc"].items()}
    print(format_table(f"AUROC, normal '{args.normal}' vs each anomaly class ({len(labels)} frames, "
                       f"{int((~keep).sum())} without a hand left out)", "class", shown, rows))
    if "at_threshold" in ev:
        t = ev["at_threshold"]
        print(f"at the model's threshold {t['threshold']:.4f}: normal kept {t['normal_kept']:.3f}, "
              f"anomaly caught {t['anomaly_caught']:.3f}")
    args.out.mkdir(parents=True, exist_ok=True)
    write_table_csv(args.out / "table.csv", cols, rows)
    (args.out / "result.json").write_text(json.dumps(
        {"command": folder_args.command_line(args), "model": str(args.model or "default"), "split": args.split,
         "no_hand": int((~keep).sum()), **ev}, indent=2) + "\n")
    print(f"wrote {args.out}/table.csv and result.json")
    return 0


def _split_items(items: list, split: dict, which: str) -> list:
    """The files of the subjects the model file records for ``which`` ("test" or "val")."""
    from core.errors import DataError

    subjects = split.get(f"{which}_subjects")
    if not subjects:
        if which == "test":  # a model that records no split held nothing out: every subject is fair
            return items
        raise DataError("the model file records no validation subjects: use --split test or --split all")
    items = [it for it in items if it.subject in set(subjects)]
    if not items:
        name = {"test": "held-out test", "val": "validation"}[which]
        raise DataError(f"none of the model's {name} subjects are in this data set: use --split all")
    return items
