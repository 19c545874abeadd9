"""Entry point of the `spader` console command.

Subcommand modules are imported only when chosen, so `spader --help` stays fast and the
core never imports Qt unless the user asks for the GUI. Each module provides
``add_arguments(parser)`` and ``run(args) -> int``, and its docstring's first line is the
one-line help.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

# name -> (module, one-line help). Order is the order shown by --help.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "app": ("core.cli.app_cmd", "open the screening window (live Azure Kinect, recordings, demo)"),
    "experiment": ("core.cli.experiment_cmd", "run a paper experiment (noisy-mnist, folders, folds, variants)"),
    "train": ("core.cli.train_cmd", "train a model on a class-folder depth data set"),
    "evaluate": ("core.cli.evaluate_cmd", "evaluate a model: the seven-scorer AUROC table"),
    "model": ("core.cli.model_cmd", "inspect a model file (metadata, shapes) or export its scoring graph"),
    "convert": ("core.cli.convert_cmd", "convert an Azure Kinect MKV recording into a session"),
    "synth": ("core.cli.synth_cmd", "generate synthetic pigeon-pose depth data (data sets, sessions)"),
    "bench-capture": ("core.cli.bench_capture_cmd", "measure session read/write and capture-thread speed"),
    "score": ("core.cli.score_cmd", "score every frame of a recording into CSV/JSON (batch re-scoring)"),
    "tune": ("core.cli.tune_cmd", "tune the verdict threshold on labelled data: ROC, operating point, calibration file"),
    "bench": ("core.cli.bench_cmd", "measure scoring latency, throughput, end-to-end delay, Grad-CAM vs captum"),
    "screening": ("core.cli.screening_cmd", "run a screening on a recording without the window, list the screenings, or make a report"),
    "audit": ("core.cli.audit_cmd", "check the screenings' audit trail (a hash-chained, append-only log)"),
}


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exception types whose message is shown as-is (no traceback)."""
    from core.errors import SpaderError

    kinds: list[type[BaseException]] = [SpaderError]
    try:
        from capture.errors import CaptureError

        kinds.append(CaptureError)
    except ImportError:  # pragma: no cover - capture always ships with core
        pass
    return tuple(kinds)


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The parser; only the chosen subcommand's module is imported for its arguments."""
    from core import __version__

    parser = argparse.ArgumentParser(
        prog="spader",
        description="SPADER depth-camera screening for the Yamaguchi Fox-Pigeon Imitation "
        "Test. Research software: not a medical device, no clinical validity claimed.",
    )
    parser.add_argument("--version", action="version", version=f"spader {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        # no abbreviations: a removed option must not silently match a longer one
        p = sub.add_parser(name, help=help_text, description=help_text, allow_abbrev=False)
        if name == chosen:
            module = importlib.import_module(module_name)
            module.add_arguments(p)
            p.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Import only the chosen subcommand's module (others may pull heavy dependencies).
    chosen = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(chosen if chosen in SUBCOMMANDS else None)
    args = parser.parse_args(argv)
    args._argv = argv  # the command line as given, recorded in the files a command writes
    if getattr(args, "_module", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args._module.run(args) or 0)
    except _user_errors() as exc:
        print(f"spader {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path the system refuses (name too long, no permission, disk full)
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"spader {args.command}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"spader {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
