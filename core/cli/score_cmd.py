"""score every frame of a recording (session, MKV or image folder) into CSV/JSON files"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from core.cli.option_types import device, number, seed, whole
from core.runtime.backends import BACKEND_CHOICES, DEFAULT_BACKEND
from core.spader.scorers import M_SAMPLES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recording", help="a session folder, an Azure Kinect .mkv file, or a folder of 16-bit depth PNGs")
    parser.add_argument("--out", required=True, type=Path, help="output folder (scores.csv, verdicts.csv, summary.json)")
    parser.add_argument("--model", help="model file (.safetensors); default: the bundled model")
    parser.add_argument("--device", type=device, default="auto", help="auto (CUDA when present), cpu, cuda or cuda:N")
    parser.add_argument("--batch", type=whole(1, 1024), default=16, help="frames per batch (default 16)")
    parser.add_argument("--overlays", action="store_true", help="also write one overlay PNG per frame (overlays/)")
    parser.add_argument("--video", action="store_true", help="also write the overlays as an MP4 (overlay.mp4)")
    parser.add_argument("--unit-mm", type=number(0, 100, above=True), default=None,
                        help="millimetres per raw unit, image folders only (SR305: 0.125); default: the data "
                             "set's dataset.json beside or above the folder, else 1")
    parser.add_argument("--fps", type=number(0, 1000, above=True), help="frame rate of an image folder (default 30)")
    parser.add_argument("--threshold", type=number(-1e6, 1e6), help="verdict threshold on the SPADER score (default: the model's)")
    parser.add_argument("--samples", type=whole(1, 64), default=M_SAMPLES,
                        help=f"VAE samples per frame, M (default {M_SAMPLES}, what the app and training use)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the VAE sampling (default 0)")
    parser.add_argument("--threads", type=whole(1, 256), help="CPU threads of the scoring backend (default: its own choice)")
    parser.add_argument("--backend", choices=BACKEND_CHOICES, default=DEFAULT_BACKEND,
                        help="where the networks run: auto (the fastest installed: the exported graph on "
                        "onnxruntime, else PyTorch), torch, onnxruntime or openvino; scores agree to 1e-4")
    parser.add_argument("--force", action="store_true", help="overwrite scores already in --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    from core.assets import default_model_path
    from core.spader.checkpoint import load_model
    from core.runtime.rescore import rescore

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    model_path = Path(args.model) if args.model else default_model_path()
    model = load_model(model_path, device="cpu")
    # a kill (SIGTERM) ends the run like Ctrl-C: rows written so far stay, the summary says so
    old = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        outcome = rescore(
            args.recording,
            args.out,
            model,
            device=args.device,
            batch=args.batch,
            overlays=args.overlays,
            video=args.video,
            unit_mm=_unit_mm(args),
            fps=args.fps,
            threshold=args.threshold,
            m=args.samples,
            seed=args.seed,
            progress=not args.quiet and sys.stderr.isatty(),
            model_path=str(model_path),
            force=args.force,
            backend=args.backend,
            threads=args.threads,
        )
    finally:
        signal.signal(signal.SIGTERM, old)
    s = outcome.summary
    c = s["counts"]
    fr = ", ".join(f"{k} {v:.0%}" for k, v in s["verdict_fraction"].items() if v > 0)
    print(f"scored {c['frames']} frames ({c['with_hand']} with a hand) in {s['wall_s']:.1f} s "
          f"({s['frames_per_s']:.1f} frames/s on {s['scoring']['device']}, {s['scoring']['backend']})")
    if s["scoring"].get("backend_note"):
        print(f"note: {s['scoring']['backend_note']}")
    print(f"model {s['model']['name']}, threshold {s['threshold']:.4f} ({s['threshold_source']})")
    print(f"verdicts: {fr or 'none'}; final: {s['final_verdict']}")
    if s["errors"]:
        print(f"{len(s['errors'])} problem(s), see summary.json; first: {s['errors'][0]}", file=sys.stderr)
    for p in s["recording"].get("problems") or []:
        print(f"the recording is damaged: {p}", file=sys.stderr)
    for w in s.get("warnings") or []:
        print(f"warning: {w}", file=sys.stderr)
    print(f"wrote {args.out}")
    if not s["complete"]:
        total = s["recording"].get("frame_count")
        print(f"error: scoring stopped after {c['frames']}{f' of {total}' if total else ''} frames: "
              f"{s.get('stopped') or 'the recording could not be read to its end'}; summary.json says complete: false",
              file=sys.stderr)
        return 1
    return 0


def _unit_mm(args: argparse.Namespace) -> float:
    """--unit-mm, else what the image folder's data set says, else 1 (mm)."""
    from capture.sources.images import folder_unit_mm

    if args.unit_mm is not None:
        return args.unit_mm
    path = Path(args.recording)
    return (folder_unit_mm(path) if path.is_dir() else None) or 1.0
