"""The pose classes: the normal pigeon and the anomalous variants, sampled with variation.

Every sampler returns a :class:`~core.data.synth.scene.Pose` in the body frame (see
``scene.py``): X toward the subject's left (image right), Y down, Z into the body; the
hands of a held pose are in front of the chest (negative Z).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from core.data.synth.scene import (
    LEFT,
    PALM_LEN,
    PALM_W,
    RIGHT,
    SIDE_SIGN,
    HandPose,
    Pose,
    Subject,
    arm_reach,
    hand_frame,
    rot_axis,
    shoulder_joint,
    thigh_axis,
)

NORMAL_CLASS = "pigeon"
CLASSES: tuple[str, ...] = (
    "pigeon",
    "uncrossed",
    "palms_wrong",
    "fingers_spread",
    "fingers_curled",
    "one_hand",
    "interlaced",
    "hands_down",
)
CLASS_DESCRIPTIONS: dict[str, str] = {
    "pigeon": "normal: open hands, fingers together and extended like wings, crossed at the thumbs, backs to the camera",
    "uncrossed": "the hands side by side and apart, not crossed; thumbs do not meet",
    "palms_wrong": "the palms face the camera (hands rotated the wrong way)",
    "fingers_spread": "pigeon-like, but the fingers are spread apart",
    "fingers_curled": "pigeon-like, but the fingers are curled (flexed) toward the palms",
    "one_hand": "only one hand is raised; the other arm is down (on the lap or hanging)",
    "interlaced": "the fingers of both hands are interlaced (clasped hands)",
    "hands_down": "no pose: both hands rest on the lap",
}
# Classes drawn as more than one kind of pose; each frame's Pose.variant says which.
VARIANTS: dict[str, tuple[str, ...]] = {
    "palms_wrong": ("own_side", "crossed"),  # each hand on its own side / crossed like the pigeon
    "one_hand": ("crossed", "own_side"),  # the raised hand as in the pigeon / on its own side
}
# Classes whose hands are held in front of the body (nearest objects to the camera).
RAISED_CLASSES = tuple(c for c in CLASSES if c != "hands_down")

_X, _Y, _Z = np.eye(3)


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _clipn(rng: np.random.Generator, sd: float, lim: float) -> float:
    return float(np.clip(rng.normal(0.0, sd), -lim, lim))


def _fingers_together(rng: np.random.Generator) -> np.ndarray:
    """Rows index..little: abduction, MCP, PIP, DIP (degrees), extended and together."""
    j = np.zeros((4, 4))
    j[:, 0] = np.array([1.5, 0.0, -1.5, -3.5]) + rng.normal(0.0, 1.2, 4)
    j[:, 1] = _u(rng, -8.0, 12.0) + rng.normal(0.0, 3.0, 4)
    j[:, 2] = _u(rng, 0.0, 12.0) + rng.normal(0.0, 3.0, 4)
    j[:, 3] = _u(rng, 0.0, 10.0) + rng.normal(0.0, 3.0, 4)
    return j


def _fingers_relaxed(rng: np.random.Generator) -> np.ndarray:
    j = np.zeros((4, 4))
    j[:, 0] = np.array([3.0, 0.0, -3.0, -7.0]) + rng.normal(0.0, 2.0, 4)
    j[:, 1] = _u(rng, 5.0, 25.0) + rng.normal(0.0, 4.0, 4)
    j[:, 2] = _u(rng, 10.0, 35.0) + rng.normal(0.0, 4.0, 4)
    j[:, 3] = _u(rng, 5.0, 20.0) + rng.normal(0.0, 3.0, 4)
    return j


def _thumb(rng: np.random.Generator, theta: tuple[float, float], opp: tuple[float, float], mcp: tuple[float, float], ip: tuple[float, float]) -> np.ndarray:
    return np.array([_u(rng, *theta), _u(rng, *opp), _u(rng, *mcp), _u(rng, *ip)])


def _joints(thumb: np.ndarray, fingers: np.ndarray) -> np.ndarray:
    return np.vstack([thumb[None, :], fingers])


def _orient(fingers: np.ndarray, normal: np.ndarray, side: str, roll: float, pitch: float) -> np.ndarray:
    """Hand frame, rolled about the finger axis and pitched about the thumb axis (degrees)."""
    R = hand_frame(fingers, normal, side)
    R = rot_axis(R[:, 0], roll) @ R
    return rot_axis(R[:, 1], pitch) @ R


def _wing(alpha: float, outward: float) -> np.ndarray:
    """Finger direction ``alpha`` degrees from straight up, leaning toward body X ``outward`` (+-1)."""
    a = math.radians(alpha)
    return np.array([outward * math.sin(a), -math.cos(a), 0.0])


def _centre(subject: Subject, rng: np.random.Generator) -> np.ndarray:
    """Where the held hands are: in front of the chest, about at sternum height."""
    return np.array(
        [
            rng.normal(0.0, 20.0),
            subject.hand_height_mm + _u(rng, -35.0, 35.0),
            -(subject.hand_offset_mm + _u(rng, -40.0, 40.0)),
        ]
    )


def _front_back(subject: Subject, rng: np.random.Generator) -> dict[str, float]:
    """Depth offsets (body Z) of the two hands: the front hand nearer the camera."""
    d = _u(rng, 10.0, 22.0)
    front = subject.front_hand
    return {front: -d, (LEFT if front == RIGHT else RIGHT): d}


def _crossed(subject: Subject, rng: np.random.Generator, palm_to_camera: bool = False) -> tuple[dict[str, HandPose], np.ndarray]:
    """The pigeon arrangement: wrists crossed, fingers out like wings, thumbs meeting."""
    H = _centre(subject, rng)
    a0 = float(np.clip(subject.wing_deg + rng.normal(0.0, 7.0), 22.0, 78.0))
    sep = _u(rng, -5.0, 35.0)
    dz = _front_back(subject, rng)
    normal = -_Z if palm_to_camera else _Z
    hands = {}
    for side in (RIGHT, LEFT):
        sx = SIDE_SIGN[side]
        alpha = a0 + rng.normal(0.0, 4.0)
        # crossed: the right wrist is on the subject's left of the left wrist
        wrist = H + np.array([-sx * sep / 2.0, 60.0 + rng.normal(0.0, 6.0), dz[side]])
        rot = _orient(_wing(alpha, -sx), normal, side, rng.normal(0.0, 10.0), rng.normal(0.0, 8.0))
        thumb = _thumb(rng, (55.0, 80.0), (-5.0, 15.0), (5.0, 25.0), (15.0, 45.0))
        hands[side] = HandPose(wrist, rot, _joints(thumb, _fingers_together(rng)))
    return hands, H


def _own_side(subject: Subject, rng: np.random.Generator, palm_to_camera: bool, gap: float, alpha_range: tuple[float, float]) -> tuple[dict[str, HandPose], np.ndarray]:
    """Each hand on its own side of the midline, fingers up or leaning outward."""
    H = _centre(subject, rng)
    normal = -_Z if palm_to_camera else _Z
    a0 = _u(rng, *alpha_range)
    hands = {}
    for side in (RIGHT, LEFT):
        sx = SIDE_SIGN[side]
        alpha = a0 + rng.normal(0.0, 4.0)
        wrist = H + np.array([sx * gap / 2.0, 60.0 + rng.normal(0.0, 6.0), rng.normal(0.0, 8.0)])
        rot = _orient(_wing(alpha, sx), normal, side, rng.normal(0.0, 10.0), rng.normal(0.0, 8.0))
        hands[side] = HandPose(wrist, rot, np.zeros((5, 4)))
    return hands, H


def _resting_on_lap(subject: Subject, side: str, rng: np.random.Generator) -> HandPose:
    """A hand lying palm down on the thigh, fingers toward the knee and a little inward."""
    hip, knee, r = thigh_axis(subject, side)
    t = (knee - hip) / np.linalg.norm(knee - hip)
    up = -_Y - (-_Y @ t) * t
    up /= np.linalg.norm(up)
    sx = SIDE_SIGN[side]
    frac = _u(rng, 0.25, 0.5)
    reach = 0.97 * arm_reach(subject)
    shoulder = shoulder_joint(subject, side)
    inward = _u(rng, 0.0, 30.0)
    while True:
        wrist = hip + frac * (knee - hip) + up * (r + 13.0 * subject.hand_scale) - sx * np.array([inward, 0.0, 0.0])
        if np.linalg.norm(wrist - shoulder) <= reach or frac <= 0.0:
            break
        frac -= 0.03
    fingers = rot_axis(up, -sx * _u(rng, 0.0, 25.0)) @ t
    rot = hand_frame(fingers, -up, side)
    thumb = _thumb(rng, (15.0, 35.0), (10.0, 30.0), (5.0, 20.0), (5.0, 20.0))
    return HandPose(wrist, rot, _joints(thumb, _fingers_relaxed(rng)), resting=True)


def _hanging(subject: Subject, side: str, rng: np.random.Generator) -> HandPose:
    """An arm hanging beside the chair, the hand pointing down, palm toward the body."""
    s = subject.body_scale
    sx = SIDE_SIGN[side]
    wrist = np.array([sx * (265.0 + _u(rng, 0.0, 25.0)), _u(rng, 330.0, 380.0), _u(rng, 60.0, 130.0)]) * s
    fingers = rot_axis(_X, _u(rng, -10.0, 10.0)) @ _Y
    rot = hand_frame(fingers, -sx * _X, side)
    thumb = _thumb(rng, (15.0, 35.0), (10.0, 30.0), (5.0, 20.0), (5.0, 20.0))
    return HandPose(wrist, rot, _joints(thumb, _fingers_relaxed(rng)), resting=True)


# -- the classes --------------------------------------------------------------------------
def _pigeon(subject, rng):
    return _crossed(subject, rng)


def _uncrossed(subject, rng):
    gap = PALM_W * subject.hand_scale + _u(rng, 10.0, 130.0)
    hands, H = _own_side(subject, rng, False, gap, (-5.0, 35.0))
    for h in hands.values():
        h.joints = _joints(_thumb(rng, (10.0, 55.0), (0.0, 20.0), (0.0, 20.0), (0.0, 25.0)), _fingers_together(rng))
    return hands, H


def _palms_wrong(subject, rng):
    own_side = rng.random() < 0.6
    if own_side:  # palms out, thumbs still meeting in the middle
        hands, H = _own_side(subject, rng, True, _u(rng, -5.0, 35.0), (22.0, 70.0))
        dz = _front_back(subject, rng)
        for side, h in hands.items():
            h.wrist[2] += dz[side]
            h.joints = _joints(_thumb(rng, (55.0, 80.0), (-5.0, 15.0), (5.0, 25.0), (15.0, 45.0)), _fingers_together(rng))
    else:  # crossed like the pigeon but turned palms out
        hands, H = _crossed(subject, rng, palm_to_camera=True)
    for h in hands.values():  # a palm held toward someone is cupped, the thumb in front of it
        h.joints[1:, 1] += _u(rng, 10.0, 30.0)
        h.joints[1:, 2] += _u(rng, 10.0, 30.0)
        h.joints[0, 1] = _u(rng, 20.0, 45.0)
    return hands, H, "own_side" if own_side else "crossed"


def _fingers_spread(subject, rng):
    hands, H = _crossed(subject, rng)
    for h in hands.values():
        h.joints[1:, 0] = [_u(rng, 10.0, 22.0), _u(rng, -2.0, 5.0), _u(rng, -16.0, -8.0), _u(rng, -32.0, -18.0)]
        h.joints[0, 0] = _u(rng, 70.0, 90.0)
    return hands, H


def _fingers_curled(subject, rng):
    hands, H = _crossed(subject, rng)
    for h in hands.values():
        n = 4
        h.joints[1:, 1] = _u(rng, 35.0, 80.0) + rng.normal(0.0, 5.0, n)
        h.joints[1:, 2] = _u(rng, 50.0, 100.0) + rng.normal(0.0, 5.0, n)
        h.joints[1:, 3] = _u(rng, 20.0, 60.0) + rng.normal(0.0, 5.0, n)
        h.joints[0, 3] = _u(rng, 30.0, 60.0)
    return hands, H


def _one_hand(subject, rng):
    active = RIGHT if rng.random() < 0.5 else LEFT
    other = LEFT if active == RIGHT else RIGHT
    crossed = rng.random() < 0.5
    if crossed:
        hands, H = _crossed(subject, rng)
    else:
        hands, H = _own_side(subject, rng, False, _u(rng, -20.0, 60.0), (10.0, 60.0))
        hands[active].joints = _joints(_thumb(rng, (40.0, 80.0), (-5.0, 15.0), (5.0, 25.0), (10.0, 40.0)), _fingers_together(rng))
    hands[active].wrist[0] -= hands[active].wrist[0] * _u(rng, 0.0, 1.0)  # nearer the midline
    hands[other] = _resting_on_lap(subject, other, rng) if rng.random() < 0.7 else _hanging(subject, other, rng)
    return hands, H, "crossed" if crossed else "own_side"


def _interlaced(subject, rng):
    """Clasped hands: palms facing each other, fingers interlaced, thumbs on top."""
    H = _centre(subject, rng)
    beta = _u(rng, 25.0, 70.0)  # fingers from pointing at the camera toward pointing up
    b = math.radians(beta)
    fingers = np.array([0.0, -math.sin(b), -math.cos(b)])
    open_deg = _u(rng, 0.0, 25.0)
    hs = subject.hand_scale
    spacing = 0.21 * PALM_W * hs
    dz = _front_back(subject, rng)
    hands = {}
    for side in (RIGHT, LEFT):
        sx = SIDE_SIGN[side]
        normal = -sx * _X  # the right palm faces the subject's left, and vice versa
        rot = hand_frame(fingers, normal, side)
        rot = rot_axis(_Y, sx * open_deg) @ rot  # heels of the hands a little apart
        rot = rot_axis(rot[:, 0], rng.normal(0.0, 5.0)) @ rot
        knuckle_back = -PALM_LEN * hs * rot[:, 0]
        wrist = H + knuckle_back + np.array([sx * _u(rng, 16.0, 24.0) * hs, 0.0, 0.0])
        # interlace: shift one hand by half a finger spacing along the knuckle line
        wrist = wrist + rot[:, 1] * (spacing / 2.0 if side == subject.front_hand else 0.0)
        wrist[2] += 0.3 * dz[side]
        f = np.zeros((4, 4))
        f[:, 0] = rng.normal(0.0, 2.0, 4) + np.array([4.0, 1.5, -1.5, -4.0])
        f[:, 1] = _u(rng, 35.0, 70.0) + rng.normal(0.0, 4.0, 4)
        f[:, 2] = _u(rng, 30.0, 75.0) + rng.normal(0.0, 4.0, 4)
        f[:, 3] = _u(rng, 10.0, 40.0) + rng.normal(0.0, 4.0, 4)
        thumb = _thumb(rng, (20.0, 45.0), (0.0, 20.0), (0.0, 20.0), (0.0, 25.0))
        hands[side] = HandPose(wrist, rot, _joints(thumb, f))
    return hands, H


def _hands_down(subject, rng):
    hands = {side: _resting_on_lap(subject, side, rng) for side in (RIGHT, LEFT)}
    return hands, np.zeros(3)


_SAMPLERS: dict[str, Callable] = {
    "pigeon": _pigeon,
    "uncrossed": _uncrossed,
    "palms_wrong": _palms_wrong,
    "fingers_spread": _fingers_spread,
    "fingers_curled": _fingers_curled,
    "one_hand": _one_hand,
    "interlaced": _interlaced,
    "hands_down": _hands_down,
}


def _jitter_joints(hands: dict[str, HandPose], rng: np.random.Generator) -> None:
    for side in (RIGHT, LEFT):
        h = hands[side]
        h.joints = h.joints + rng.normal(0.0, 2.0, h.joints.shape)


def _rotate_posed(hands: dict[str, HandPose], centre: np.ndarray, rng: np.random.Generator) -> None:
    """Turn the held hands together about their centre: roll, yaw, pitch (a few degrees, <= 15)."""
    R = rot_axis(_Z, _clipn(rng, 6.0, 15.0)) @ rot_axis(_Y, _clipn(rng, 6.0, 15.0)) @ rot_axis(_X, _clipn(rng, 4.0, 10.0))
    for h in hands.values():
        if not h.resting:
            h.wrist = centre + R @ (h.wrist - centre)
            h.rot = R @ h.rot


def fit_reach(subject: Subject, pose: Pose) -> None:
    """Move the held hands back toward the body (Z) until both arms can reach them."""
    reach = 0.96 * arm_reach(subject)
    for _ in range(80):
        worst = 0.0
        for side in (RIGHT, LEFT):
            h = pose.hand(side)
            if not h.resting:
                worst = max(worst, float(np.linalg.norm(h.wrist - shoulder_joint(subject, side))) - reach)
        if worst <= 0.0:
            return
        for side in (RIGHT, LEFT):
            h = pose.hand(side)
            if not h.resting:
                h.wrist = h.wrist + np.array([0.0, 0.0, min(max(worst, 2.0), 10.0)])


def sample_pose(cls: str, subject: Subject, rng: np.random.Generator) -> Pose:
    """A random pose of class ``cls`` for ``subject`` (body placement jittered per frame)."""
    try:
        sampler = _SAMPLERS[cls]
    except KeyError:
        from core.errors import DataError

        raise DataError(f"unknown pose class {cls!r}; known: {', '.join(CLASSES)}") from None
    hands, centre, *variant = sampler(subject, rng)  # samplers of VARIANTS' classes also name the kind
    _jitter_joints(hands, rng)
    if cls != "hands_down":
        _rotate_posed(hands, centre, rng)
    distance = subject.distance_mm + _u(rng, -subject.distance_jitter_mm, subject.distance_jitter_mm)
    pose = Pose(
        cls=cls,
        right=hands[RIGHT],
        left=hands[LEFT],
        distance_mm=float(np.clip(distance, 850.0, 1500.0)),
        lateral_mm=subject.lateral_mm + rng.normal(0.0, 15.0),
        vertical_mm=subject.vertical_mm + rng.normal(0.0, 10.0),
        yaw_deg=subject.yaw_deg + _clipn(rng, 2.5, 6.0),
        variant=variant[0] if variant else "",
    )
    fit_reach(subject, pose)
    return pose


# -- interpolation (sessions) -------------------------------------------------------------
def _quat(R: np.ndarray) -> np.ndarray:
    """Unit quaternion (w, x, y, z) of a proper rotation matrix."""
    m = R
    tr = m[0, 0] + m[1, 1] + m[2, 2]
    if tr > 0:
        s = math.sqrt(tr + 1.0) * 2
        q = [0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = math.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2]) * 2
        q = [(m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s]
    elif m[1, 1] > m[2, 2]:
        s = math.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2]) * 2
        q = [(m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s]
    else:
        s = math.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1]) * 2
        q = [(m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s]
    q = np.array(q)
    return q / np.linalg.norm(q)


def _mat(q: np.ndarray) -> np.ndarray:
    w, x, y, z = q / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def _slerp(q0: np.ndarray, q1: np.ndarray, t: float) -> np.ndarray:
    d = float(q0 @ q1)
    if d < 0:
        q1, d = -q1, -d
    if d > 0.9995:
        q = q0 + t * (q1 - q0)
        return q / np.linalg.norm(q)
    th = math.acos(d)
    return (math.sin((1 - t) * th) * q0 + math.sin(t * th) * q1) / math.sin(th)


def _lerp_hand(a: HandPose, b: HandPose, t: float, side: str, lift: float) -> HandPose:
    m = np.diag([1.0, -1.0, 1.0]) if side == RIGHT else np.eye(3)  # right-hand frames are mirrored
    q = _slerp(_quat(a.rot @ m), _quat(b.rot @ m), t)
    wrist = (1 - t) * a.wrist + t * b.wrist
    wrist[2] -= lift * math.sin(math.pi * t)  # pass in front rather than through each other
    return HandPose(wrist, _mat(q) @ m, (1 - t) * a.joints + t * b.joints, a.resting if t < 0.5 else b.resting)


def interpolate_pose(a: Pose, b: Pose, t: float, cls: str | None = None) -> Pose:
    """Pose between ``a`` (t=0) and ``b`` (t=1): positions and joints linear, rotations slerped."""
    t = float(np.clip(t, 0.0, 1.0))

    def mix(x: float, y: float) -> float:
        return (1 - t) * x + t * y

    return Pose(
        cls=cls or (a.cls if t < 0.5 else b.cls),
        right=_lerp_hand(a.right, b.right, t, RIGHT, 40.0),
        left=_lerp_hand(a.left, b.left, t, LEFT, 0.0),
        distance_mm=mix(a.distance_mm, b.distance_mm),
        lateral_mm=mix(a.lateral_mm, b.lateral_mm),
        vertical_mm=mix(a.vertical_mm, b.vertical_mm),
        yaw_deg=mix(a.yaw_deg, b.yaw_deg),
    )
