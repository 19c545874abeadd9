"""One frame: subject + pose -> primitives -> ideal render -> sensor model -> uint16 depth."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from capture.frame import Intrinsics
from core.data.synth.poses import sample_pose
from core.data.synth.raycast import KINECT_NFOV_BINNED, RenderBuffers, raycast
from core.data.synth.scene import Pose, Subject, build_scene, sample_subject
from core.data.synth.sensor import SensorModel, apply_sensor


@dataclass
class SceneParams:
    """What a frame shows and how it is seen. ``sensor=None``: defaults with the subject's noise."""

    subject: Subject
    pose: Pose
    camera: Intrinsics = KINECT_NFOV_BINNED
    sensor: SensorModel | None = field(default=None)

    def sensor_model(self) -> SensorModel:
        if self.sensor is not None:
            return self.sensor
        return SensorModel(noise_mm_at_1m=self.subject.noise_mm_at_1m)


def render_ideal(params: SceneParams) -> RenderBuffers:
    """Noise-free depth (float mm, inf = nothing), incidence cosine and part labels."""
    return raycast(build_scene(params.subject, params.pose), params.camera)


def render_frame(params: SceneParams, rng: np.random.Generator, *, return_labels: bool = False):
    """A depth frame (uint16, raw unit of the sensor model, 1 mm by default; 0 = no reading).

    With ``return_labels=True`` returns ``(depth, labels)``; labels (uint8) name the part
    each pixel shows before sensor effects (see ``raycast.LABEL_NAMES``).
    """
    buf = render_ideal(params)
    depth = apply_sensor(buf, params.camera, rng, params.sensor_model())
    return (depth, buf.label) if return_labels else depth


def sample_scene(cls: str, rng: np.random.Generator, subject: Subject | None = None, camera: Intrinsics = KINECT_NFOV_BINNED) -> SceneParams:
    """A random scene of class ``cls`` (a random subject unless one is given)."""
    subject = subject if subject is not None else sample_subject(rng)
    return SceneParams(subject=subject, pose=sample_pose(cls, subject, rng), camera=camera)


def scaled_camera(width: int, height: int, base: Intrinsics = KINECT_NFOV_BINNED) -> Intrinsics:
    """``base`` intrinsics rescaled to another resolution (same field of view)."""
    sx, sy = width / base.width, height / base.height
    return replace(base, fx=base.fx * sx, fy=base.fy * sy, cx=base.cx * sx, cy=base.cy * sy, width=int(width), height=int(height))
