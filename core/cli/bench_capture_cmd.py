"""measure session read/write and capture-thread speed"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="a few frames only (a smoke test, not a measurement)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    parser.add_argument("--dir", type=Path, help="folder for the temporary session (default: system temp)")


def run(args: argparse.Namespace) -> int:
    from capture.bench import format_table, run_bench
    from capture.errors import CaptureError

    if args.dir is not None and not args.dir.is_dir():
        raise CaptureError(f"--dir {args.dir} is not a folder")
    result = run_bench(quick=args.quick, folder=args.dir)
    print(json.dumps(result.as_dict(), indent=2) if args.json else format_table(result))
    return 0
