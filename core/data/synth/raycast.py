"""Analytic ray casting of capsules, ellipsoids, boxes and planes into a depth image.

The camera sits at the origin looking along +Z (X right, Y down, millimetres). The ray
through pixel (u, v) is ``t * d`` with ``d = ((u - cx) / fx, (v - cy) / fy, 1)``, so the
ray parameter ``t`` of a hit *is* its depth Z. Each primitive is intersected only with
the pixels of its projected bounding box, vectorised with numpy; the nearest hit wins.

Besides depth, the renderer returns per pixel the cosine between the viewing ray and the
surface normal (for the sensor model: grazing surfaces give no reading) and a label of
the part that was hit.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from capture.frame import Intrinsics

LABEL_NONE = 0
LABEL_WALL = 1
LABEL_FLOOR = 2
LABEL_CHAIR = 3
LABEL_BODY = 4
LABEL_HEAD = 5
LABEL_ARM = 6
LABEL_RIGHT_HAND = 7
LABEL_LEFT_HAND = 8
LABEL_NAMES = ("none", "wall", "floor", "chair", "body", "head", "arm", "right_hand", "left_hand")

# Azure Kinect NFOV 2x2 binned (320x288), nominal intrinsics: the library's default (small
# frames keep tests and previews fast).
KINECT_NFOV_BINNED = Intrinsics(fx=252.0, fy=252.0, cx=160.0, cy=144.0, width=320, height=288)
# NFOV unbinned (640x576), the same field of view: the app's live default mode, and what
# `spader synth` renders unless told otherwise (about 2 mm per pixel at 1 m, so a gap between
# spread fingers spans pixels instead of one).
KINECT_NFOV_UNBINNED = Intrinsics(fx=504.0, fy=504.0, cx=320.0, cy=288.0, width=640, height=576)
# the Kinect depth modes (capture's names) that the generator can imitate
SYNTH_DEPTH_MODES: dict[str, Intrinsics] = {"NFOV_UNBINNED": KINECT_NFOV_UNBINNED, "NFOV_2X2BINNED": KINECT_NFOV_BINNED}


def depth_mode_name(camera: Intrinsics) -> str:
    """The Kinect mode a camera imitates ("NFOV_UNBINNED"), or its size ("400x360") for any other."""
    for name, k in SYNTH_DEPTH_MODES.items():
        if k == camera:
            return name
    return f"{camera.width}x{camera.height}"


class Primitives:
    """Lists of primitives: capsules, ellipsoids, boxes (oriented) and infinite planes."""

    def __init__(self) -> None:
        self.capsules: list[tuple[np.ndarray, np.ndarray, float, int]] = []
        self.ellipsoids: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]] = []
        self.boxes: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]] = []
        self.planes: list[tuple[np.ndarray, np.ndarray, int]] = []

    def capsule(self, a: np.ndarray, b: np.ndarray, r: float, label: int) -> None:
        """Segment a-b swept by a sphere of radius r."""
        self.capsules.append((np.asarray(a, float), np.asarray(b, float), float(r), label))

    def ellipsoid(self, c: np.ndarray, R: np.ndarray, radii: np.ndarray, label: int) -> None:
        """Centre c, axes the columns of R (orthonormal, any handedness), semi-axes radii."""
        self.ellipsoids.append((np.asarray(c, float), np.asarray(R, float), np.asarray(radii, float), label))

    def box(self, c: np.ndarray, R: np.ndarray, half: np.ndarray, label: int) -> None:
        """Centre c, axes the columns of R, half extents ``half``."""
        self.boxes.append((np.asarray(c, float), np.asarray(R, float), np.asarray(half, float), label))

    def plane(self, point: np.ndarray, normal: np.ndarray, label: int) -> None:
        n = np.asarray(normal, float)
        self.planes.append((np.asarray(point, float), n / np.linalg.norm(n), label))

    def __len__(self) -> int:
        return len(self.capsules) + len(self.ellipsoids) + len(self.boxes) + len(self.planes)

    def transformed(self, R: np.ndarray, T: np.ndarray) -> "Primitives":
        """A copy with every point p mapped to R p + T (R a rotation)."""
        out = Primitives()
        out.capsules = [(R @ a + T, R @ b + T, r, lab) for a, b, r, lab in self.capsules]
        out.ellipsoids = [(R @ c + T, R @ M, e, lab) for c, M, e, lab in self.ellipsoids]
        out.boxes = [(R @ c + T, R @ M, h, lab) for c, M, h, lab in self.boxes]
        out.planes = [(R @ p + T, R @ n, lab) for p, n, lab in self.planes]
        return out


@dataclass
class RenderBuffers:
    """Ideal (noise-free) render: depth (mm, inf = nothing), |cos| of incidence, labels."""

    depth: np.ndarray  # float64 (H, W)
    cos: np.ndarray  # float64 (H, W), 0..1
    label: np.ndarray  # uint8 (H, W)


@lru_cache(maxsize=8)
def _rays(fx: float, fy: float, cx: float, cy: float, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = ((np.arange(width) - cx) / fx)[None, :].repeat(height, 0)
    b = ((np.arange(height) - cy) / fy)[:, None].repeat(width, 1)
    dd = 1.0 + a * a + b * b
    for arr in (a, b, dd):
        arr.setflags(write=False)
    return a, b, dd


def _bbox_sphere(c: np.ndarray, r: float, K: Intrinsics) -> tuple[float, float, float, float] | None:
    """Conservative pixel bounds (u0, u1, v0, v1) of a sphere; None when behind the camera."""
    z = c[2]
    if z + r <= 1.0:
        return None
    if z - r <= 1.0:
        return (-1e9, 1e9, -1e9, 1e9)
    zn, zf = z - r, z + r
    xs = ((c[0] - r) / zn, (c[0] - r) / zf, (c[0] + r) / zn, (c[0] + r) / zf)
    ys = ((c[1] - r) / zn, (c[1] - r) / zf, (c[1] + r) / zn, (c[1] + r) / zf)
    return (K.cx + K.fx * min(xs), K.cx + K.fx * max(xs), K.cy + K.fy * min(ys), K.cy + K.fy * max(ys))


def _slices(bounds: tuple[float, float, float, float] | None, K: Intrinsics) -> tuple[slice, slice] | None:
    if bounds is None:
        return None
    u0, u1, v0, v1 = bounds
    iu0, iu1 = max(int(np.floor(u0)), 0), min(int(np.ceil(u1)) + 1, K.width)
    iv0, iv1 = max(int(np.floor(v0)), 0), min(int(np.ceil(v1)) + 1, K.height)
    if iu0 >= iu1 or iv0 >= iv1:
        return None
    return slice(iv0, iv1), slice(iu0, iu1)


def _union(b1, b2):
    if b1 is None:
        return b2
    if b2 is None:
        return b1
    return (min(b1[0], b2[0]), max(b1[1], b2[1]), min(b1[2], b2[2]), max(b1[3], b2[3]))


def _sphere_hit(a, b, dd, c, r):
    """Nearest t and n·d for the sphere (centre c, radius r); t = inf where missed."""
    bs = -(c[0] * a + c[1] * b + c[2])  # d·(o - c)
    h = bs * bs - dd * (c @ c - r * r)
    ok = h >= 0
    t = np.where(ok, (-bs - np.sqrt(np.where(ok, h, 0.0))) / dd, np.inf)
    t[t <= 0] = np.inf
    return t, t * dd + bs


# Each intersector gets the rays of one primitive's bounding box and returns
# (mask, t, cos): the pixels whose ray can hit it (boolean, bounding-box shape) and, for
# those pixels only (compressed, in mask order), the hit depth (inf = miss) and |cos|.


def _capsule(a, b, dd, pa, pb, r):
    ba = pb - pa
    baba = ba @ ba
    if baba < 1e-9:
        return _ellipsoid(a, b, dd, pa, np.eye(3), np.array([r, r, r]))
    oa = -pa
    baoa = ba @ oa
    bard = ba[0] * a + ba[1] * b + ba[2]
    rdoa = oa[0] * a + oa[1] * b + oa[2]
    A = baba * dd - bard * bard
    B = baba * rdoa - baoa * bard
    h = B * B - A * (baba * (oa @ oa) - baoa * baoa - r * r * baba)
    mask = h >= 0  # rays that hit the infinite cylinder (the end caps lie inside it)
    if not mask.any():
        return mask, None, None
    A, B, h, bard, rdoa, ddm = A[mask], B[mask], h[mask], bard[mask], rdoa[mask], dd[mask]
    ok = A > 1e-12
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (-B - np.sqrt(h)) / np.where(ok, A, 1.0)
    y = baoa + t * bard
    ok &= (y > 0) & (y < baba) & (t > 0)
    # the nearest hit on the body of the capsule, when there is one, is its nearest hit
    nd = t * ddm + rdoa - y * bard / baba
    t = np.where(ok, t, np.inf)
    rest = ~ok
    if rest.any():
        am, bm = a[mask][rest], b[mask][rest]
        dr = ddm[rest]
        t_end, nd_end = _sphere_hit(am, bm, dr, pa, r)
        t2, nd2 = _sphere_hit(am, bm, dr, pb, r)
        nearer = t2 < t_end
        t[rest] = np.where(nearer, t2, t_end)
        nd[rest] = np.where(nearer, nd2, nd_end)
    return mask, t, np.abs(nd) / (r * np.sqrt(ddm))


def _ellipsoid(a, b, dd, c, R, e):
    o = (R.T @ (-c)) / e
    d0 = (R[0, 0] * a + R[1, 0] * b + R[2, 0]) / e[0]
    d1 = (R[0, 1] * a + R[1, 1] * b + R[2, 1]) / e[1]
    d2 = (R[0, 2] * a + R[1, 2] * b + R[2, 2]) / e[2]
    A = d0 * d0 + d1 * d1 + d2 * d2
    B = o[0] * d0 + o[1] * d1 + o[2] * d2
    h = B * B - A * (o @ o - 1.0)
    mask = h >= 0
    if not mask.any():
        return mask, None, None
    d0, d1, d2, A, B, h = d0[mask], d1[mask], d2[mask], A[mask], B[mask], h[mask]
    t = (-B - np.sqrt(h)) / A
    q0, q1, q2 = o[0] + t * d0, o[1] + t * d1, o[2] + t * d2
    nd = q0 * d0 + q1 * d1 + q2 * d2
    nn = np.sqrt((q0 / e[0]) ** 2 + (q1 / e[1]) ** 2 + (q2 / e[2]) ** 2)
    cos = np.abs(nd) / (nn * np.sqrt(dd[mask]))
    return mask, np.where(t > 0, t, np.inf), cos


def _box(a, b, dd, c, R, half):
    o = R.T @ (-c)
    tnear = np.full(a.shape, -np.inf)
    tfar = np.full(a.shape, np.inf)
    axis_cos = np.zeros(a.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(3):
            dk = R[0, k] * a + R[1, k] * b + R[2, k]
            inv = 1.0 / dk
            t1 = (-half[k] - o[k]) * inv
            t2 = (half[k] - o[k]) * inv
            lo = np.minimum(t1, t2)
            hi = np.maximum(t1, t2)
            lo = np.where(np.isnan(lo), -np.inf, lo)
            hi = np.where(np.isnan(hi), np.inf, hi)
            upd = lo > tnear
            tnear = np.where(upd, lo, tnear)
            axis_cos = np.where(upd, np.abs(dk), axis_cos)
            tfar = np.minimum(tfar, hi)
    mask = (tnear <= tfar) & (tnear > 0)
    return mask, tnear[mask], axis_cos[mask] / np.sqrt(dd[mask])


def raycast(prims: Primitives, K: Intrinsics) -> RenderBuffers:
    """Render the nearest hit of every pixel (depth along the optical axis, mm)."""
    a_full, b_full, dd_full = _rays(K.fx, K.fy, K.cx, K.cy, K.width, K.height)
    depth = np.full((K.height, K.width), np.inf)
    cos = np.zeros((K.height, K.width))
    label = np.zeros((K.height, K.width), np.uint8)

    def commit(sl, mask, t, c, lab):
        if t is None:
            return
        zs = depth[sl]
        nearer = t < zs[mask]
        if nearer.any():
            upd = mask.copy()
            upd[mask] = nearer
            zs[upd] = t[nearer]
            cos[sl][upd] = c[nearer]
            label[sl][upd] = lab

    # Front to back (by the nearest possible depth of each primitive), skipping those whose
    # whole bounding box already shows something nearer: hidden chair parts, legs, torso.
    work = []
    for c, R, e, lab in prims.ellipsoids:
        rad = float(e.max())
        work.append((c[2] - rad, 0, _slices(_bbox_sphere(c, rad, K), K), (c, R, e), lab))
    for c, R, h, lab in prims.boxes:
        rad = float(np.linalg.norm(h))
        work.append((c[2] - rad, 1, _slices(_bbox_sphere(c, rad, K), K), (c, R, h), lab))
    for pa, pb, r, lab in prims.capsules:
        work.append((min(pa[2], pb[2]) - r, 2, _slices(_union(_bbox_sphere(pa, r, K), _bbox_sphere(pb, r, K)), K), (pa, pb, r), lab))
    work.sort(key=lambda w: w[0])
    intersect = (_ellipsoid, _box, _capsule)
    for zmin, kind, sl, args, lab in work:
        if sl is None or zmin >= depth[sl].max():
            continue
        commit(sl, *intersect[kind](a_full[sl], b_full[sl], dd_full[sl], *args), lab)

    for p0, n, lab in prims.planes:
        # whole-frame arrays, updated in place: no gather and scatter through a mask
        nd = n[0] * a_full + n[1] * b_full + n[2]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (n @ p0) / nd
            upd = (t > 0) & (t < depth)  # false for nan and inf: a finite hit in front of the camera
        depth[upd] = t[upd]
        cos[upd] = np.abs(nd[upd]) / np.sqrt(dd_full[upd])
        label[upd] = lab

    return RenderBuffers(depth=depth, cos=np.clip(cos, 0.0, 1.0), label=label)
