"""Synthetic recordings: a person moving into poses, holding them and leaving them.

A *script* is a list of (class, seconds). Each segment starts with a smooth transition
from the previous pose (about 0.5-1 s, ease-in-out; hands pass in front rather than
through each other), then the pose is held with a slow tremor and sway. Poses are
sampled once per segment; the frame at time t depends only on the seed, the script and
t, so sessions and live streams are reproducible and seekable.

Per-frame ground truth is the segment's class, or ``transition`` while the hands move
from one class's pose to another's.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from capture.frame import DepthFrame, Intrinsics
from core.data.synth.poses import CLASSES, interpolate_pose, sample_pose
from core.data.synth.raycast import KINECT_NFOV_BINNED, depth_mode_name
from core.data.synth.render import SceneParams, render_frame
from core.data.synth.scene import LEFT, RIGHT, Pose, Subject, sample_subject
from core.errors import DataError

TRANSITION = "transition"
LABELS_FILE = "labels.csv"
DEFAULT_FPS = 30.0
DEFAULT_SCRIPT: tuple[tuple[str, float], ...] = (
    ("hands_down", 2.0),
    ("pigeon", 4.0),
    ("hands_down", 1.5),
    ("uncrossed", 3.5),
    ("hands_down", 1.5),
    ("fingers_spread", 3.0),
    ("hands_down", 1.5),
    ("one_hand", 3.0),
    ("hands_down", 1.5),
    ("pigeon", 3.5),
)  # 25 s


def parse_script(text: str) -> list[tuple[str, float]]:
    """``"hands_down:3,pigeon:6,uncrossed:4"`` -> [("hands_down", 3.0), ...]."""
    script = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, secs = part.partition(":")
        name = name.strip()
        if not sep:
            raise DataError(f"script item {part!r} needs the form CLASS:SECONDS, e.g. pigeon:6")
        if name not in CLASSES:
            raise DataError(f"unknown class {name!r} in the script; known: {', '.join(CLASSES)}")
        try:
            s = float(secs)
        except ValueError:
            raise DataError(f"script item {part!r}: {secs!r} is not a number of seconds") from None
        if not (s > 0 and math.isfinite(s)):
            raise DataError(f"script item {part!r}: seconds must be positive")
        script.append((name, s))
    if not script:
        raise DataError("the script is empty")
    return script


def fit_script(script: Sequence[tuple[str, float]], seconds: float | None) -> list[tuple[str, float]]:
    """The script repeated or cut to last exactly ``seconds`` (unchanged when None)."""
    script = [(c, float(s)) for c, s in script]
    if seconds is None:
        return script
    if not seconds > 0:
        raise DataError("seconds must be positive")
    out: list[tuple[str, float]] = []
    t = 0.0
    i = 0
    while t < seconds - 1e-9:
        c, s = script[i % len(script)]
        s = min(s, seconds - t)
        out.append((c, s))
        t += s
        i += 1
    return out


def _smoothstep(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3 - 2 * x)


@dataclass
class _Segment:
    cls: str
    start: float
    end: float
    pose: Pose
    transition_s: float
    phases: np.ndarray  # tremor phases


class Timeline:
    """Pose and ground-truth label at any time of a script."""

    def __init__(self, script: Sequence[tuple[str, float]], seed: int = 0, subject: Subject | None = None) -> None:
        self.seed = int(seed)
        self.subject = subject or sample_subject(np.random.default_rng([self.seed, 0, 0]), "s0000")
        self.segments: list[_Segment] = []
        t = 0.0
        for i, (cls, secs) in enumerate(script):
            if cls not in CLASSES:
                raise DataError(f"unknown class {cls!r}; known: {', '.join(CLASSES)}")
            rng = np.random.default_rng([self.seed, 2, i])
            pose = sample_pose(cls, self.subject, rng)
            tr = 0.0 if i == 0 else min(float(rng.uniform(0.5, 1.0)), 0.4 * secs)
            self.segments.append(_Segment(cls, t, t + secs, pose, tr, rng.uniform(0, 2 * math.pi, 12)))
            t += secs
        if not self.segments:
            raise DataError("the script is empty")
        self.duration = t

    def _segment(self, t: float) -> int:
        for i, seg in enumerate(self.segments):
            if t < seg.end:
                return i
        return len(self.segments) - 1

    def _held(self, seg: _Segment, t: float) -> Pose:
        """The segment's pose with a slow tremor of the hands and sway of the body."""
        p = seg.pose.copy()
        ph = seg.phases
        for j, side in enumerate((RIGHT, LEFT)):
            h = p.hand(side)
            amp = 1.0 if h.resting else 3.0
            h.wrist = h.wrist + amp * np.array(
                [math.sin(2 * math.pi * 0.7 * t + ph[3 * j]), math.sin(2 * math.pi * 1.1 * t + ph[3 * j + 1]),
                 math.sin(2 * math.pi * 0.5 * t + ph[3 * j + 2])]
            )
            h.joints = h.joints + 1.5 * math.sin(2 * math.pi * 0.4 * t + ph[6 + j])
        p.lateral_mm += 4.0 * math.sin(2 * math.pi * 0.15 * t + ph[8])
        p.distance_mm += 6.0 * math.sin(2 * math.pi * 0.1 * t + ph[9])
        p.yaw_deg += 0.8 * math.sin(2 * math.pi * 0.12 * t + ph[10])
        return p

    def at(self, t: float) -> tuple[Pose, str]:
        """(pose, label) at ``t`` seconds from the start."""
        i = self._segment(t)
        seg = self.segments[i]
        held = self._held(seg, t)
        into = t - seg.start
        if i > 0 and into < seg.transition_s:
            prev = self.segments[i - 1]
            s = _smoothstep(into / seg.transition_s)
            label = seg.cls if prev.cls == seg.cls else TRANSITION
            return interpolate_pose(self._held(prev, t), held, s, cls=label), label
        return held, seg.cls


class PigeonStream:
    """A frame generator for ``capture.sources.synthetic.SyntheticSource``: ``(index, rng) -> uint16``.

    Plays the script (looped) at ``fps``; ``label(index)`` gives the ground truth.
    """

    def __init__(self, seed: int = 0, script: Sequence[tuple[str, float]] | None = None, fps: float = DEFAULT_FPS,
                 camera: Intrinsics = KINECT_NFOV_BINNED, subject: Subject | None = None, loop: bool = True) -> None:
        self.timeline = Timeline(list(script or DEFAULT_SCRIPT), seed, subject)
        self.fps, self.camera, self.loop = float(fps), camera, loop

    def time_of(self, index: int) -> float:
        t = index / self.fps
        return t % self.timeline.duration if self.loop else t

    def label(self, index: int) -> str:
        return self.timeline.at(self.time_of(index))[1]

    def __call__(self, index: int, rng: np.random.Generator) -> np.ndarray:
        pose, _ = self.timeline.at(self.time_of(index))
        return render_frame(SceneParams(self.timeline.subject, pose, self.camera), rng)

    @property
    def n_frames(self) -> int:
        return int(round(self.timeline.duration * self.fps))


def make_generator(seed: int = 0, script: Sequence[tuple[str, float]] | None = None, fps: float = DEFAULT_FPS,
                   camera: Intrinsics = KINECT_NFOV_BINNED) -> PigeonStream:
    """A ``generator(index, rng) -> uint16`` playing ``script`` in a loop (see :class:`PigeonStream`)."""
    return PigeonStream(seed, script, fps, camera)


def synthetic_pigeon_source(seed: int = 0, script: Sequence[tuple[str, float]] | None = None, n_frames: int | None = None,
                            fps: float = DEFAULT_FPS, width: int = 320, height: int = 288):
    """A live ``SyntheticSource`` showing the synthetic person (looping the script).

    The camera model is the one the source reports (its intrinsics), so depth and
    intrinsics agree.
    """
    from capture.sources.synthetic import SyntheticSource

    src = SyntheticSource(width=width, height=height, fps=fps, n_frames=n_frames, seed=seed, sensor="synthetic")
    src.generator = PigeonStream(seed, script, fps, src.info.intrinsics)
    return src


# -- writing sessions ---------------------------------------------------------------------
def _render_session_chunk(job: tuple) -> list[np.ndarray]:
    seed, script, fps, cam, i0, i1 = job
    stream = PigeonStream(seed, script, fps, Intrinsics.from_dict(cam), loop=False)
    return [stream(i, np.random.default_rng([int(seed), 3, i])) for i in range(i0, i1)]


def write_session(
    out: str | os.PathLike[str],
    seconds: float | None = 25.0,
    seed: int = 0,
    script: Sequence[tuple[str, float]] | None = None,
    fps: float = DEFAULT_FPS,
    workers: int | None = None,
    camera: Intrinsics = KINECT_NFOV_BINNED,
    progress=None,
) -> int:
    """Render the script into a new session folder (``capture.session`` format) with ``labels.csv``.

    Returns the number of frames. Frame i (device time i/fps) uses ``rng(seed, 3, i)``.
    """
    from capture.session import SessionMeta, SessionWriter
    from core.data.synth.writer import default_workers, run_jobs

    if not fps > 0:
        raise DataError("fps must be positive")
    script = fit_script(script or DEFAULT_SCRIPT, seconds)
    stream = PigeonStream(seed, script, fps, camera, loop=False)
    n = stream.n_frames
    if n < 1:
        raise DataError("the session would have no frames")
    labels = [stream.label(i) for i in range(n)]
    meta = SessionMeta(
        sensor="synthetic",
        depth_mode=f"{depth_mode_name(camera)} (synthetic)",
        unit_mm=1.0,
        fps=float(fps),
        intrinsics=camera,
        subject_id=stream.timeline.subject.id,
        operator="spader synth",
        settings={
            "synthetic": {
                "generator": "spader synth",
                "seed": int(seed),
                "script": [[c, s] for c, s in script],
                "labels_file": LABELS_FILE,
                "description": "synthetic stand-in, not clinical data",
            }
        },
    )
    writer = SessionWriter.create(out, meta)
    chunk = 15
    jobs = [(int(seed), script, float(fps), camera.to_dict(), i0, min(i0 + chunk, n)) for i0 in range(0, n, chunk)]
    t0 = time.monotonic_ns()
    i = 0
    try:
        for frames in run_jobs(_render_session_chunk, jobs, workers or default_workers(), progress, n, ordered=True):
            for depth in frames:
                writer.append(DepthFrame(depth=depth, unit_mm=1.0, index=i, device_ts_us=round(i * 1e6 / fps),
                                         host_ts_ns=t0 + round(i * 1e9 / fps), intrinsics=camera))
                i += 1
    finally:
        writer.close()
        rows = "".join(f"{k},{labels[k]}\n" for k in range(i))
        path = Path(out) / LABELS_FILE
        tmp = path.with_name(LABELS_FILE + ".tmp")
        tmp.write_text("index,class\n" + rows, encoding="utf-8")
        os.replace(tmp, path)
    return i


def read_labels(session: str | os.PathLike[str]) -> list[str]:
    """The per-frame classes of a synthetic session (from its ``labels.csv``)."""
    path = Path(session) / LABELS_FILE
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not lines or lines[0].strip() != "index,class":
        raise DataError(f"{path} has no 'index,class' header")
    out = []
    for k, line in enumerate(lines[1:]):
        idx, _, cls = line.partition(",")
        if idx.strip() != str(k):
            raise DataError(f"{path}: row {k + 2} has index {idx!r}, expected {k}")
        out.append(cls.strip())
    return out
