"""Subject and pose parameters, and the 3-D body/hand model built from primitives.

Coordinates are millimetres. The *camera frame* has X to the image right, Y down and Z
along the optical axis (depth). The *body frame* is the camera frame moved to the
subject's sternum (mid-chest, on the front surface of the chest) and turned by the
subject's yaw: X toward the subject's left (the image right), Y down, Z into the body.
The hands are held at negative body Z (in front of the chest).

A hand has its own frame, given by the columns of ``HandPose.rot``: x along the fingers
(wrist to middle knuckle), y toward the thumb side, z the palm normal (out of the palm).
For a right hand ``y = x × z`` (a mirrored frame), for a left hand ``y = z × x``; the
same local shape then gives anatomically mirrored hands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from core.data.synth.raycast import (
    LABEL_ARM,
    LABEL_BODY,
    LABEL_CHAIR,
    LABEL_FLOOR,
    LABEL_HEAD,
    LABEL_LEFT_HAND,
    LABEL_RIGHT_HAND,
    LABEL_WALL,
    Primitives,
)

RIGHT, LEFT = "right", "left"
SIDE_SIGN = {RIGHT: -1.0, LEFT: 1.0}  # body-frame X of the subject's right / left side

# Rows of HandPose.joints: thumb, index, middle, ring, little.
# Thumb columns: in-plane abduction from the finger axis toward the thumb side,
# opposition (out of the palm plane toward the palm), MCP flexion, IP flexion.
# Finger columns: abduction (toward the thumb side), MCP, PIP, DIP flexion. Degrees.
DIGITS = ("thumb", "index", "middle", "ring", "little")

# Finger geometry per unit hand scale: knuckle (x along fingers, y toward thumb as a
# fraction of palm width), phalanx lengths (proximal, middle, distal), radius.
_FINGERS = (
    (-2.0, 0.32, (42.0, 25.0, 21.0), 9.0),  # index
    (0.0, 0.11, (46.0, 29.0, 23.0), 9.2),  # middle
    (-4.0, -0.11, (43.0, 28.0, 22.0), 8.6),  # ring
    (-12.0, -0.31, (34.0, 20.0, 19.0), 7.6),  # little
)
_THUMB = ((44.0, 32.0, 27.0), (11.0, 10.0, 9.5))
PALM_LEN, PALM_W, PALM_T = 100.0, 84.0, 28.0
UPPER_ARM, FOREARM = 320.0, 270.0  # per unit body scale
THIGH, SHIN = 440.0, 430.0


@dataclass(frozen=True)
class Subject:
    """Fixed properties of one synthetic person and of their recording setup."""

    id: str = "s0000"
    body_scale: float = 1.0
    hand_scale: float = 1.0
    front_hand: str = RIGHT  # which hand is nearer the camera where the hands cross
    distance_mm: float = 1150.0  # camera to the chest surface, typical for this subject
    distance_jitter_mm: float = 50.0
    lateral_mm: float = 0.0  # chest position in the camera frame (X)
    vertical_mm: float = 40.0  # chest position in the camera frame (Y, down)
    yaw_deg: float = 0.0  # body turned about the vertical axis
    hand_offset_mm: float = 340.0  # typical hands-to-chest distance in a held pose
    knee_forward_mm: float = 180.0  # knees in front of the chest surface
    wing_deg: float = 48.0  # typical angle of the fingers from vertical in the pigeon
    hand_height_mm: float = 0.0  # typical hand height relative to the sternum (down +)
    wall_mm: float = 2250.0
    wall_yaw_deg: float = 0.0
    chair_back_mm: float = 260.0  # backrest half height
    noise_mm_at_1m: float = 1.6  # sensor noise sigma at 1 m (grows with distance squared)

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


@dataclass
class HandPose:
    """One hand: wrist centre (body frame), orientation columns, joint angles (degrees)."""

    wrist: np.ndarray
    rot: np.ndarray
    joints: np.ndarray = field(default_factory=lambda: np.zeros((5, 4)))
    resting: bool = False  # lying on the lap or hanging (not part of the gesture)

    def copy(self) -> "HandPose":
        return HandPose(self.wrist.copy(), self.rot.copy(), self.joints.copy(), self.resting)


@dataclass
class Pose:
    """Everything that changes from frame to frame: body placement and both hands."""

    cls: str
    right: HandPose
    left: HandPose
    distance_mm: float = 1150.0
    lateral_mm: float = 0.0
    vertical_mm: float = 40.0
    yaw_deg: float = 0.0
    variant: str = ""  # which kind of its class, where a class has several (poses.VARIANTS)

    def hand(self, side: str) -> HandPose:
        return self.right if side == RIGHT else self.left

    def copy(self) -> "Pose":
        return replace(self, right=self.right.copy(), left=self.left.copy())


# -- small rotation helpers ---------------------------------------------------------------
def rot_axis(axis: np.ndarray, deg: float) -> np.ndarray:
    """Rotation matrix about ``axis`` by ``deg`` degrees (right-hand rule)."""
    a = np.asarray(axis, float)
    a = a / np.linalg.norm(a)
    t = math.radians(deg)
    c, s = math.cos(t), math.sin(t)
    x, y, z = a
    return np.array(
        [
            [c + x * x * (1 - c), x * y * (1 - c) - z * s, x * z * (1 - c) + y * s],
            [y * x * (1 - c) + z * s, c + y * y * (1 - c), y * z * (1 - c) - x * s],
            [z * x * (1 - c) - y * s, z * y * (1 - c) + x * s, c + z * z * (1 - c)],
        ]
    )


def hand_frame(fingers: np.ndarray, palm_normal: np.ndarray, side: str) -> np.ndarray:
    """Orientation columns (fingers, thumb side, palm normal) of a ``side`` hand."""
    x = np.asarray(fingers, float)
    x = x / np.linalg.norm(x)
    z = np.asarray(palm_normal, float)
    z = z - (z @ x) * x
    z = z / np.linalg.norm(z)
    y = np.cross(x, z) if side == RIGHT else np.cross(z, x)
    return np.stack([x, y, z], axis=1)


# -- body model ---------------------------------------------------------------------------
def shoulder_joint(subject: Subject, side: str) -> np.ndarray:
    s = subject.body_scale
    return np.array([SIDE_SIGN[side] * 185.0, -165.0, 105.0]) * s


def arm_reach(subject: Subject) -> float:
    return (UPPER_ARM + FOREARM) * subject.body_scale


def thigh_axis(subject: Subject, side: str) -> tuple[np.ndarray, np.ndarray, float]:
    """Hip joint, knee (body frame) and thigh radius of one leg."""
    s = subject.body_scale
    sx = SIDE_SIGN[side]
    hip = np.array([sx * 92.0 * s, 320.0 * s, 150.0 * s])
    dz = hip[2] + subject.knee_forward_mm
    length = THIGH * s
    dy = math.sqrt(max(length**2 - dz**2, 0.0))
    knee = np.array([sx * 100.0 * s, hip[1] + dy, -subject.knee_forward_mm])
    return hip, knee, 72.0 * s


def _elbow(shoulder: np.ndarray, wrist: np.ndarray, l1: float, l2: float, side: str) -> tuple[np.ndarray, np.ndarray]:
    """Two-bone IK: the elbow (pointing down, outward and back) and the reachable wrist."""
    v = wrist - shoulder
    d = float(np.linalg.norm(v))
    u = v / max(d, 1e-6)
    d_ok = min(max(d, abs(l1 - l2) + 1.0), 0.999 * (l1 + l2))
    if d_ok != d:
        wrist = shoulder + u * d_ok
        d = d_ok
    cos_a = (l1 * l1 + d * d - l2 * l2) / (2 * l1 * d)
    sin_a = math.sqrt(max(0.0, 1.0 - cos_a * cos_a))
    pole = np.array([SIDE_SIGN[side] * 0.6, 1.0, 0.35])
    p = pole - (pole @ u) * u
    n = np.linalg.norm(p)
    p = p / n if n > 1e-6 else np.array([0.0, 1.0, 0.0])
    return shoulder + l1 * (cos_a * u + sin_a * p), wrist


def add_body(prims: Primitives, subject: Subject) -> None:
    """Torso, head, legs and the chair, in the body frame."""
    s = subject.body_scale
    eye = np.eye(3)

    def v(x: float, y: float, z: float) -> np.ndarray:
        return np.array([x, y, z]) * s

    prims.ellipsoid(v(0, -40, 115), eye, v(170, 210, 115), LABEL_BODY)  # chest
    prims.capsule(v(-150, -175, 110), v(150, -175, 110), 62 * s, LABEL_BODY)  # shoulders
    prims.ellipsoid(v(0, 150, 130), eye, v(158, 175, 118), LABEL_BODY)  # abdomen
    prims.ellipsoid(v(0, 300, 150), eye, v(175, 100, 130), LABEL_BODY)  # pelvis
    prims.capsule(v(0, -215, 120), v(0, -300, 125), 52 * s, LABEL_BODY)  # neck
    prims.ellipsoid(v(0, -400, 115), rot_axis([1, 0, 0], -8), v(78, 108, 98), LABEL_HEAD)  # head
    prims.ellipsoid(v(0, -395, 45), eye, v(18, 24, 40), LABEL_HEAD)  # nose and face relief
    floor_y = 0.0
    for side in (RIGHT, LEFT):
        hip, knee, r = thigh_axis(subject, side)
        prims.capsule(hip, knee, r, LABEL_BODY)
        ankle = knee + np.array([SIDE_SIGN[side] * 5 * s, SHIN * s, 100 * s])
        prims.capsule(knee, ankle, 50 * s, LABEL_BODY)
        prims.capsule(ankle, ankle + v(0, 25, -120), 38 * s, LABEL_BODY)  # foot
        floor_y = max(floor_y, float(ankle[1] + 70 * s))
    # chair: seat, backrest, legs
    seat_y = 420.0 * s
    # the seat's front edge is just in front of the hip joints (the thighs slope down from it)
    prims.box(np.array([0, seat_y, 290 * s]), eye, np.array([230, 20, 190]) * s, LABEL_CHAIR)
    back_half = subject.chair_back_mm * s
    back_z = 285.0 * s
    prims.box(np.array([0.0, seat_y - 20 * s - back_half, back_z]), eye, np.array([220 * s, back_half, 15 * s]), LABEL_CHAIR)
    for lx in (-205.0, 205.0):
        for lz in (120.0, 460.0):
            prims.capsule(np.array([lx, seat_y, lz]) * s, np.array([lx * s, floor_y, lz * s]), 14 * s, LABEL_CHAIR)
    prims.plane(np.array([0.0, floor_y, 0.0]), np.array([0.0, 1.0, 0.0]), LABEL_FLOOR)


def add_hand(prims: Primitives, hand: HandPose, scale: float, label: int) -> None:
    """Palm (metacarpals, slab, thenar), wrist, four fingers and the thumb of one hand."""
    s = scale
    R = hand.rot
    w = hand.wrist
    ex, ey, ez = R[:, 0], R[:, 1], R[:, 2]

    def P(x: float, y: float, z: float) -> np.ndarray:
        return w + (x * ex + y * ey + z * ez) * s

    pl, pw, pt = PALM_LEN, PALM_W, PALM_T
    prims.ellipsoid(P(0.0, 0.0, 0.0), R, np.array([22.0, 30.0, 19.0]) * s, label)  # wrist
    prims.ellipsoid(P(0.5 * pl, 0.0, 2.0), R, np.array([0.5 * pl, 0.47 * pw, 0.42 * pt]) * s, label)  # palm
    prims.ellipsoid(P(0.3 * pl, 0.28 * pw, 0.25 * pt), R, np.array([0.3 * pl, 0.18 * pw, 0.4 * pt]) * s, label)  # thenar
    prims.ellipsoid(P(0.42 * pl, -0.3 * pw, 0.15 * pt), R, np.array([0.35 * pl, 0.15 * pw, 0.38 * pt]) * s, label)
    for f, (dx, fy, lengths, radius) in enumerate(_FINGERS):
        knuckle = P(pl + dx, fy * pw, 0.0)
        prims.capsule(P(14.0, fy * pw * 0.55, 0.0), knuckle, (0.5 * pt - 1.5) * s, label)  # metacarpal
        abd, mcp, pip, dip = hand.joints[f + 1]
        a = math.radians(abd)
        d0 = math.cos(a) * ex + math.sin(a) * ey
        p = knuckle
        phi = 0.0
        for k, (seg, flex) in enumerate(zip(lengths, (mcp, pip, dip))):
            phi += math.radians(flex)
            d = math.cos(phi) * d0 + math.sin(phi) * ez
            r = radius * s * (1.0 - 0.06 * k)
            q = p + d * (seg * s - (r if k == 2 else 0.0))
            prims.capsule(p, q, r, label)
            p = q if k < 2 else q + d * r
    # thumb
    theta, opp, mcp, ip = hand.joints[0]
    base = P(22.0, 0.36 * pw, 4.0)
    t = math.radians(theta)
    d_ip = math.cos(t) * ex + math.sin(t) * ey
    o = math.radians(opp)
    d0 = math.cos(o) * d_ip + math.sin(o) * ez
    flex_dir = 0.75 * ez - 0.66 * ey
    flex_dir = flex_dir - (flex_dir @ d0) * d0
    flex_dir /= np.linalg.norm(flex_dir)
    (l0, l1, l2), (r0, r1, r2) = _THUMB
    p = base
    phi = 0.0
    for k, (seg, r, flex) in enumerate(zip((l0, l1, l2), (r0, r1, r2), (0.0, mcp, ip))):
        phi += math.radians(flex)
        d = math.cos(phi) * d0 + math.sin(phi) * flex_dir
        q = p + d * (seg * s - (r * s if k == 2 else 0.0))
        prims.capsule(p, q, r * s, label)
        p = q


def add_arm(prims: Primitives, subject: Subject, hand: HandPose, side: str) -> None:
    """Upper arm and forearm from the shoulder to the wrist (two-bone IK)."""
    s = subject.body_scale
    shoulder = shoulder_joint(subject, side)
    elbow, wrist = _elbow(shoulder, hand.wrist, UPPER_ARM * s, FOREARM * s, side)
    prims.capsule(shoulder, elbow, 42 * s, LABEL_ARM)
    fore = wrist - elbow
    n = np.linalg.norm(fore)
    end = wrist - fore / max(n, 1e-6) * 18.0 * subject.hand_scale
    prims.capsule(elbow, end, 27 * s, LABEL_ARM)


def body_to_camera(pose: Pose) -> tuple[np.ndarray, np.ndarray]:
    """Rotation and translation mapping body-frame points into the camera frame."""
    R = rot_axis([0.0, 1.0, 0.0], pose.yaw_deg)
    T = np.array([pose.lateral_mm, pose.vertical_mm, pose.distance_mm])
    return R, T


def build_scene(subject: Subject, pose: Pose) -> Primitives:
    """All primitives of one frame in the camera frame (person, chair, floor, wall)."""
    prims = Primitives()
    add_body(prims, subject)
    for side, label in ((RIGHT, LABEL_RIGHT_HAND), (LEFT, LABEL_LEFT_HAND)):
        hand = pose.hand(side)
        add_arm(prims, subject, hand, side)
        add_hand(prims, hand, subject.hand_scale, label)
    R, T = body_to_camera(pose)
    cam = prims.transformed(R, T)
    wy = math.radians(subject.wall_yaw_deg)
    cam.plane(np.array([0.0, 0.0, subject.wall_mm]), np.array([math.sin(wy), 0.0, math.cos(wy)]), LABEL_WALL)
    return cam


def sample_subject(rng: np.random.Generator, subject_id: str = "s0000") -> Subject:
    """A random subject: body and hand size, handedness, placement, room and sensor noise."""
    body = float(rng.uniform(0.88, 1.12))
    hand_offset = float(rng.uniform(280.0, 380.0) * body)
    return Subject(
        id=subject_id,
        body_scale=body,
        hand_scale=float(body * rng.uniform(0.93, 1.07)),
        front_hand=RIGHT if rng.random() < 0.6 else LEFT,
        distance_mm=float(rng.uniform(950.0, 1420.0)),
        distance_jitter_mm=float(rng.uniform(20.0, 70.0)),
        lateral_mm=float(np.clip(rng.normal(0.0, 70.0), -180.0, 180.0)),
        vertical_mm=float(rng.uniform(-60.0, 120.0)),
        yaw_deg=float(np.clip(rng.normal(0.0, 5.0), -12.0, 12.0)),
        hand_offset_mm=hand_offset,
        # the knees stay behind the hands (their front is the knee point + thigh radius)
        knee_forward_mm=float(min(rng.uniform(60.0, 170.0), hand_offset - 40.0 - 72.0 * body - 70.0)),
        wing_deg=float(rng.uniform(35.0, 60.0)),
        hand_height_mm=float(rng.uniform(-60.0, 50.0)),
        wall_mm=float(rng.uniform(2000.0, 2500.0)),
        wall_yaw_deg=float(rng.normal(0.0, 4.0)),
        chair_back_mm=float(rng.uniform(200.0, 300.0)),
        noise_mm_at_1m=float(rng.uniform(1.0, 2.5)),
    )
