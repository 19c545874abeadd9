"""generate synthetic pigeon-pose depth data (data sets, sessions, previews)"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.cli.option_types import number, seed, whole

_EPILOG = (
    "Synthetic stand-in for clinical recordings: no clinical validity. "
    "Classes: pigeon (normal), uncrossed, palms_wrong, fingers_spread, fingers_curled, one_hand, "
    "interlaced, hands_down. See docs/synthetic-data.md."
)


# bounds that keep a run to memory and time a machine has: an image side up to 16384 px,
# a day of recording, 1000 frames/s, 10 million frames per class
_SIDE = whole(1, 16384)
_WORKERS = whole(1, 256)
_FRAMES = whole(1, 10_000_000)


def _add_camera(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("camera (default: Azure Kinect NFOV unbinned, 640x576, f=504: the app's live mode)")
    g.add_argument("--depth-mode", default="NFOV_UNBINNED", type=_depth_mode, metavar="MODE",
                   help="Azure Kinect depth mode to imitate: NFOV_UNBINNED (default) or NFOV_2X2BINNED "
                   "(320x288, f=252, a quarter of the pixels)")
    g.add_argument("--width", type=_SIDE, help="image width; intrinsics scale with it unless given")
    g.add_argument("--height", type=_SIDE, help="image height")
    for name in ("fx", "fy"):
        g.add_argument(f"--{name}", type=number(0, 1e5, above=True), help=f"intrinsic {name} in pixels")
    for name in ("cx", "cy"):
        g.add_argument(f"--{name}", type=number(-1e5, 1e5), help=f"intrinsic {name} in pixels")


def _depth_mode(text: str) -> str:
    from capture.sources.k4a_common import depth_mode_key
    from core.data.synth import SYNTH_DEPTH_MODES

    key = depth_mode_key(text)
    if key not in SYNTH_DEPTH_MODES:
        raise argparse.ArgumentTypeError(f"unknown depth mode {text!r}; choose one of {', '.join(SYNTH_DEPTH_MODES)}")
    return key


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = _EPILOG
    sub = parser.add_subparsers(dest="synth_command", metavar="WHAT", required=True)

    d = sub.add_parser("dataset", help="class-folder data set: OUT/<class>/<subject>_<index>.png + dataset.json",
                       description="Write a class-folder data set of 16-bit depth PNGs (mm) and OUT/dataset.json.",
                       epilog=_EPILOG)
    d.add_argument("out", type=Path, help="output folder (new or empty, unless --force)")
    d.add_argument("--subjects", type=whole(1, 100_000), default=20, help="number of synthetic subjects (default 20)")
    d.add_argument("--frames-per-class", type=_FRAMES, default=100, metavar="K",
                   help="frames per class, spread over the subjects (default 100)")
    d.add_argument("--normal-frames", type=_FRAMES, metavar="K",
                   help="frames of the normal class (pigeon) instead of --frames-per-class: the VAE learns from "
                        "normal frames only; frame k is the same whatever the count")
    d.add_argument("--seed", type=seed, default=0, help="random seed (same seed and arguments: identical files)")
    d.add_argument("--classes", nargs="+", metavar="CLASS", help="classes to write (default: all); commas allowed")
    d.add_argument("--workers", type=_WORKERS, help="processes (default: number of CPUs)")
    d.add_argument("--force", action="store_true", help="write into a non-empty folder, replacing the class folders' PNGs")
    _add_camera(d)

    s = sub.add_parser("session", help="a recording (session format) of a person moving through poses, with labels.csv",
                       description="Write a 30 fps session of a synthetic person moving into poses, holding and leaving "
                       "them; per-frame ground truth goes to SESSION/labels.csv (index,class; 'transition' while moving).",
                       epilog=_EPILOG)
    s.add_argument("out", type=Path, help="new session folder (must not exist or be empty)")
    s.add_argument("--seconds", type=number(0, 86_400, above=True), help="length; the script is repeated or cut to fit "
                   "(default: the script's own length, 25 s for the default script)")
    s.add_argument("--seed", type=seed, default=0)
    s.add_argument("--script", help='poses and their seconds, e.g. "hands_down:3,pigeon:6,uncrossed:4" '
                   "(default: normal and several anomalies with hands_down between)")
    s.add_argument("--fps", type=number(0, 1000, above=True), default=30.0, help="frame rate (default 30)")
    s.add_argument("--workers", type=_WORKERS, help="processes (default: number of CPUs)")
    _add_camera(s)

    m = sub.add_parser("montage", help="a colour-mapped PNG with one frame per class (and hand crops), to look at",
                       epilog=_EPILOG)
    m.add_argument("out", type=Path, help="PNG file to write")
    m.add_argument("--seed", type=seed, default=0)
    m.add_argument("--subjects", type=whole(1, 100), default=1, help="rows: one subject per row (default 1)")
    m.add_argument("--crops", action="store_true", help="show 128x128 hand crops instead of whole frames")


def _camera(args: argparse.Namespace):
    from dataclasses import replace

    from core.data.synth import SYNTH_DEPTH_MODES, scaled_camera
    from core.errors import DataError

    cam = SYNTH_DEPTH_MODES[args.depth_mode]
    if args.width or args.height:
        w = args.width or round(cam.width * args.height / cam.height)
        h = args.height or round(cam.height * args.width / cam.width)
        cam = scaled_camera(w, h, cam)
    over = {k: getattr(args, k) for k in ("fx", "fy", "cx", "cy") if getattr(args, k) is not None}
    if any(not v > 0 for k, v in over.items() if k in ("fx", "fy")):
        raise DataError("--fx and --fy must be positive")
    return replace(cam, **over)


def run(args: argparse.Namespace) -> int:
    return {"dataset": _dataset, "session": _session, "montage": _montage}[args.synth_command](args)


def _dataset(args: argparse.Namespace) -> int:
    from core.data.synth.writer import ProgressBar, default_workers, write_dataset

    classes = None
    if args.classes:
        classes = [c.strip() for item in args.classes for c in item.split(",") if c.strip()]
    bar = ProgressBar("frames")
    workers = args.workers or default_workers()
    meta = write_dataset(args.out, args.subjects, args.frames_per_class, seed=args.seed, classes=classes,
                         workers=workers, force=args.force, camera=_camera(args), progress=bar,
                         normal_frames=args.normal_frames)
    n = sum(meta["classes"].values())
    el = bar.elapsed
    print(f"wrote {n} frames ({len(meta['classes'])} classes, {args.subjects} subjects) to {args.out} "
          f"in {el:.1f} s: {n / el:.1f} frames/s with {workers} worker(s)")
    return 0


def _session(args: argparse.Namespace) -> int:
    from capture.session import SessionReader
    from core.data.synth.session import DEFAULT_SCRIPT, parse_script, write_session
    from core.data.synth.writer import ProgressBar

    script = parse_script(args.script) if args.script else list(DEFAULT_SCRIPT)
    bar = ProgressBar("frames")
    n = write_session(args.out, seconds=args.seconds, seed=args.seed, script=script, fps=args.fps,
                      workers=args.workers, camera=_camera(args), progress=bar)
    el = bar.elapsed
    print(f"wrote {args.out}: {SessionReader(args.out).describe()}; labels in labels.csv "
          f"({n / el:.1f} frames/s)")
    return 0


def _montage(args: argparse.Namespace) -> int:
    import cv2
    import numpy as np

    from core.data.synth import CLASSES, hand_crop
    from core.data.synth.writer import dataset_frame
    from core.errors import DataError

    rows = []
    for si in range(args.subjects):
        tiles = []
        for cls in CLASSES:
            _, depth = dataset_frame(args.seed, cls, si, args.subjects)
            if args.crops:
                img = (255 - hand_crop(depth, 128) * 255).astype(np.uint8)
            else:
                img = (255 - np.clip((depth.astype(np.float32) - 500) / 2100, 0, 1) * 255).astype(np.uint8)
            col = cv2.applyColorMap(img, cv2.COLORMAP_JET)
            if not args.crops:
                col[depth == 0] = 0
            cv2.putText(col, cls, (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1)
            tiles.append(col)
        rows.append(np.hstack(tiles))
    if not cv2.imwrite(str(args.out), np.vstack(rows)):
        raise DataError(f"cannot write {args.out} (the name must end in .png)")
    print(f"wrote {args.out}", file=sys.stdout)
    return 0
