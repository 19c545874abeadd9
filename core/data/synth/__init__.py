"""Synthetic depth frames of a seated person doing (or failing) the pigeon hand pose.

A stand-in for clinical recordings, with no clinical validity: a body and two hands made
of capsules, ellipsoids and boxes, ray-cast into an Azure Kinect-like depth image with a
time-of-flight sensor model. See docs/synthetic-data.md.

    rng = np.random.default_rng(0)
    subject = sample_subject(rng)
    params = SceneParams(subject, sample_pose("pigeon", subject, rng))
    depth = render_frame(params, rng)        # uint16 (288, 320), mm, 0 = no reading
"""

from core.data.synth.crop import hand_crop, nearest_depth_mm
from core.data.synth.poses import (
    CLASS_DESCRIPTIONS,
    CLASSES,
    NORMAL_CLASS,
    RAISED_CLASSES,
    interpolate_pose,
    sample_pose,
)
from core.data.synth.raycast import (
    KINECT_NFOV_BINNED,
    KINECT_NFOV_UNBINNED,
    LABEL_NAMES,
    SYNTH_DEPTH_MODES,
    RenderBuffers,
    raycast,
)
from core.data.synth.render import SceneParams, render_frame, render_ideal, sample_scene, scaled_camera
from core.data.synth.scene import HandPose, Pose, Subject, build_scene, sample_subject
from core.data.synth.sensor import SensorModel, apply_sensor, noise_sigma_mm
from core.data.synth.session import (
    DEFAULT_SCRIPT,
    TRANSITION,
    PigeonStream,
    Timeline,
    make_generator,
    parse_script,
    read_labels,
    synthetic_pigeon_source,
    write_session,
)
from core.data.synth.writer import dataset_frame, dataset_subject, write_dataset

__all__ = [
    "CLASSES", "CLASS_DESCRIPTIONS", "NORMAL_CLASS", "RAISED_CLASSES", "DEFAULT_SCRIPT", "TRANSITION",
    "KINECT_NFOV_BINNED", "KINECT_NFOV_UNBINNED", "SYNTH_DEPTH_MODES", "LABEL_NAMES",
    "Subject", "HandPose", "Pose", "SceneParams", "SensorModel", "RenderBuffers", "Timeline", "PigeonStream",
    "sample_subject", "sample_pose", "sample_scene", "interpolate_pose", "build_scene", "raycast",
    "render_ideal", "render_frame", "apply_sensor", "noise_sigma_mm", "scaled_camera",
    "hand_crop", "nearest_depth_mm",
    "make_generator", "synthetic_pigeon_source", "parse_script", "read_labels", "write_session",
    "write_dataset", "dataset_frame", "dataset_subject",
]
