"""open the screening window (live Azure Kinect, recordings, demo)"""

from __future__ import annotations

import argparse

from core.cli.option_types import device, number, output_file, whole


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model file (.safetensors); default: the bundled model")
    parser.add_argument(
        "--source",
        help="kinect, kinect:N (camera index or serial), synthetic, demo, or a recording: an .mkv file, "
        "a session folder or an image folder. Default: the first camera found, else the demo session",
    )
    parser.add_argument("--device", type=device, help="where to score: auto (CUDA when present), cpu, cuda (default: last used)")
    parser.add_argument("--threads", type=whole(1, 256), help="threads of the scoring worker (default: 1 on 2 cores)")
    parser.add_argument("--backend", choices=("auto", "torch", "onnxruntime", "openvino"), default="auto",
                        help="where the networks run on the CPU: auto (the fastest installed: the exported "
                        "graph on onnxruntime, else PyTorch), torch, onnxruntime or openvino")
    parser.add_argument("--settings", help="settings file (INI) instead of the user's own, e.g. for a kiosk or tests")
    parser.add_argument(
        "--benchmark", type=number(0, 3600, above=True), metavar="SECONDS",
        help="run the window (offscreen when there is no display) on the source for SECONDS, "
        "print display/capture/scoring fps, dropped frames and latency as text and JSON, then exit",
    )
    parser.add_argument("--benchmark-json", metavar="PATH", type=output_file, help="also write the benchmark's JSON here")
    parser.add_argument("--screenshot", metavar="PNG", type=output_file,
                        help="with --benchmark: save a picture of the window at the end (for docs and checks)")
    parser.add_argument("--overlay", choices=("none", "cam", "loss", "weighted_loss"),
                        help="overlay during --benchmark (default cam)")


def run(args: argparse.Namespace) -> int:
    from app.launch import main

    return main(args)
