"""inspect a model file (metadata, shapes)"""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = sub.add_parser("info", help="print a model file's metadata and check that it loads")
    info.add_argument("model", help="model file (.safetensors)")
    info.add_argument("--json", action="store_true", help="print the metadata as JSON")


def run(args: argparse.Namespace) -> int:
    from core.spader.checkpoint import load_model

    model = load_model(args.model)  # validates shapes and values, not just the header
    meta = model.meta
    if args.json:
        print(json.dumps(meta, indent=2))
        return 0
    n_vae = sum(p.numel() for p in model.vae.parameters())
    n_reg = sum(p.numel() for p in model.regressor.parameters())
    print(f"model:       {args.model}")
    print(f"name:        {model.name}")
    print(f"input size:  {model.input_size}x{model.input_size}")
    print(f"VAE:         widths {list(model.vae.config.widths)}, latent {model.vae.config.latent_dim}, {n_vae:,} parameters")
    rc = model.regressor.config
    members = f", {rc.members} members averaged" if rc.members > 1 else ""
    print(f"regressor:   {rc.kind}, widths {list(rc.widths)}{members}, {n_reg:,} parameters")
    thr = model.threshold
    print(f"threshold:   {'not set' if thr is None else f'{thr:.4f}'}")
    for key in ("classes", "normal_class", "known_classes", "preprocess", "data", "seed", "command",
                "software_version", "created"):
        if key in meta:
            value = meta[key]
            print(f"{key + ':':<13}{value if isinstance(value, str) else json.dumps(value)}")
    return 0
