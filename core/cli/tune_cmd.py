"""tune the verdict threshold on labelled data: ROC, operating point by rule, calibration file"""

from __future__ import annotations

import argparse
from pathlib import Path
from core.cli.option_types import seed, whole


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, help="model file (default: the bundled default model)")
    parser.add_argument("--data", type=Path, action="append", default=[], metavar="DIR",
                        help="a class-folder data set (DIR/<class>/*.png; repeatable)")
    parser.add_argument("--normal", default=None, help="the normal class (default: the model's)")
    parser.add_argument("--sessions", type=Path, nargs="+", default=[], metavar="S",
                        help="recorded sessions or screening folders with a labels.json")
    parser.add_argument("--split", choices=["val", "test", "all"], default="all",
                        help="of a data set the model was trained on: only its validation (val) or held-out test "
                             "subjects, as recorded in the model file (default: all files)")
    parser.add_argument("--subjects", nargs="+", metavar="S", help="only these subjects of the data set")
    parser.add_argument("--classes", nargs="+", metavar="C", help="only these classes of the data set")
    parser.add_argument("--rule", default="youden",
                        help="youden | sensitivity=0.95 | specificity=0.90 | cost=R | manual=T (default youden)")
    parser.add_argument("--out", type=Path, help="write the calibration file here (JSON)")
    parser.add_argument("--plot", type=Path, help="write a ROC picture (PNG) with the operating point")
    parser.add_argument("--who", default="", help="who tunes (an operator's pseudonym), recorded in the calibration")
    parser.add_argument("--note", default="", help="why, or anything to keep with the calibration")
    parser.add_argument("--replicates", type=whole(1, 100000), default=1000, help="bootstrap replicates (default 1000)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the bootstrap (default 0)")
    parser.add_argument("--backend", choices=("auto", "torch", "onnxruntime", "openvino"), default="auto")


def subjects_for_split(model, split: str) -> list[str] | None:
    """The model file's validation or test subjects (None: every subject)."""
    from core.errors import SpaderError

    if split == "all":
        return None
    subjects = (model.meta.get("split") or {}).get(f"{split}_subjects")
    if not subjects:
        raise SpaderError(f"the model file records no {split} subjects: use --split all or --subjects")
    return list(subjects)


def run(args: argparse.Namespace) -> int:
    import sys

    from core.assets import default_model_path
    from core.errors import SpaderError
    from core.spader.checkpoint import load_model
    from core.tuning.calibration import build_calibration, write_calibration
    from core.tuning.data import score_labelled
    from core.tuning.operating import parse_rule
    from core.tuning.tune import format_result, tune

    rule = parse_rule(args.rule)
    if args.replicates < 1:
        raise SpaderError("--replicates must be at least 1")
    model = load_model(args.model or default_model_path())
    normal = args.normal or model.meta.get("normal_class")
    if not normal:
        raise SpaderError("the model names no normal class: give --normal")
    subjects = args.subjects or (subjects_for_split(model, args.split) if args.data else None)
    last = [0.0]

    def progress(done: int, total: int, what: str) -> None:
        import time

        now = time.monotonic()
        if now - last[0] >= 2.0 or done == total:
            last[0] = now
            print(f"  scored {done}/{total} frames ({what})", file=sys.stderr, flush=True)

    data = score_labelled(model, normal=normal, folders=args.data, sessions=args.sessions, subjects=subjects,
                          classes=args.classes, backend=args.backend, progress=progress)
    res = tune(data, rule, replicates=args.replicates, seed=args.seed)
    print(f"model {model.name}; normal class '{normal}'; {data.describe()}")
    print(format_result(res))
    if args.out:
        calib = build_calibration(model, res, who=args.who, note=args.note)
        print(f"wrote {write_calibration(args.out, calib)}")
    if args.plot:
        from core.tuning.plot import roc_png

        print(f"wrote {roc_png(res, args.plot)}")
    return 0
