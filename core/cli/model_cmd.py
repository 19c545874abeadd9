"""inspect a model file (metadata, shapes) or export its scoring graph"""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = sub.add_parser("info", help="print a model file's metadata and check that it loads")
    info.add_argument("model", help="model file (.safetensors)")
    info.add_argument("--json", action="store_true", help="print the metadata as JSON")
    exp = sub.add_parser(
        "export", help="export the model's whole scoring step to one ONNX graph (the fast CPU backends run it)",
        description="Export the scoring step (VAE with M samples, regressor, Grad-CAM, the seven scores and "
        "the maps) to one ONNX graph. Without --out it goes to the graph cache, where the app and "
        "`spader score` find it; it is also made there on first use. Checks the graph against PyTorch.")
    exp.add_argument("model", help="model file (.safetensors)")
    exp.add_argument("--out", help="write the graph here instead of the cache (.onnx)")


def _export(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from core.runtime.backends import OnnxRuntimeBackend, TorchBackend, installed
    from core.runtime.graph import export_graph, graph_metadata, load_or_export
    from core.spader.checkpoint import load_model
    from core.spader.scorers import M_SAMPLES, SCORER_KEYS, frame_noise

    model = load_model(args.model)
    if args.out:
        path, what = export_graph(model, args.out), "exported"
    else:
        path, what = load_or_export(model)
    meta = graph_metadata(model)
    print(f"graph:       {path} ({what}, {path.stat().st_size / 1e6:.1f} MB)")
    print(f"model:       {model.name} (digest {meta['model_digest'][:16]}), M={M_SAMPLES}, input {model.input_size}")
    if not installed("onnxruntime"):
        print("check:       skipped (onnxruntime is not installed)")
        return 0
    s = model.input_size
    x = torch.rand((4, model.vae.config.in_channels, s, s), generator=torch.Generator().manual_seed(0))
    eps = frame_noise(range(4), model.vae.config.latent_dim, seed=0)
    ref = TorchBackend(model, torch.device("cpu")).score(x, eps).numpy()
    got = OnnxRuntimeBackend(path).score(x, eps)
    diff = max(float(np.abs(np.asarray(got.scores[k]) - ref.scores[k]).max()) for k in SCORER_KEYS)
    print(f"check:       onnxruntime vs PyTorch on 4 random inputs: largest score difference {diff:.1e}")
    if diff > 1e-4:
        print("spader model export: error: the graph's scores differ from PyTorch's by more than 1e-4", file=sys.stderr)
        return 1
    return 0


def run(args: argparse.Namespace) -> int:
    if args.action == "export":
        return _export(args)
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
