"""measure scoring latency, throughput, end-to-end delay, Grad-CAM vs captum"""

from __future__ import annotations

import argparse
import json
import sys

from core.cli.option_types import number, output_file, whole


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model file (default: the bundled model; random weights when it is missing)")
    parser.add_argument("--tiny", action="store_true", help="tiny random model, few iterations (~10 s): a smoke test, not a measurement")
    parser.add_argument("--device", default="all", help="cpu, cuda, or all (default: the CPU and CUDA when present)")
    parser.add_argument("--json", metavar="FILE", type=output_file, help="also write the results as JSON to FILE ('-' = print JSON instead of the table)")
    parser.add_argument("--seconds", type=number(0, 3600, above=True), help="length of the 30 fps replay (default 11 s, --tiny 2.5 s)")
    parser.add_argument("--threads", type=whole(1, 256), help="CPU threads of the scoring backend (default: its own choice; the table shows 1 and all cores too)")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile measurement")
    parser.add_argument("--backend", choices=("auto", "torch", "onnxruntime", "openvino"), default="auto",
                        help="backend of the latency, throughput and replay parts (default auto: the fastest "
                        "installed); the side-by-side comparison always times every installed backend")


def run(args: argparse.Namespace) -> int:
    from core.assets import DEFAULT_MODEL
    from core.runtime.bench import format_table, resolve_devices, run_bench, write_json
    from core.spader.checkpoint import load_model

    devices = resolve_devices(args.device)
    model, source = None, ""
    if args.model:
        model, source = load_model(args.model), args.model
    elif not args.tiny and DEFAULT_MODEL.is_file():
        model, source = load_model(DEFAULT_MODEL), f"bundled ({DEFAULT_MODEL.name})"
    elif not args.tiny:
        print(f"note: the bundled model ({DEFAULT_MODEL}) is missing; timing a random model of the "
              "default architecture", file=sys.stderr)
    quiet = args.json == "-"
    report = run_bench(
        model,
        model_source=source,
        tiny=args.tiny,
        devices=devices,
        seconds=args.seconds,
        threads=args.threads,
        compile=not args.no_compile,
        backend=args.backend,
        log=None if quiet else (lambda s: print(s, file=sys.stderr, flush=True)),
    )
    if quiet:
        print(json.dumps(report, indent=2))
        return 0
    print(format_table(report))
    if args.json:
        print(f"wrote {write_json(report, args.json)}")
    return 0
