"""Whether a frame's depth unit is plausible: read with its unit, the depth of a scene with a
person in it lies between 0.2 and 5 m. An SR305 folder (0.125 mm a unit) opened as 1 mm
reads hands at 0.5 m as 4 m and finds no hand, silently; this says why.

One check for the window (a banner) and for `spader score` (a warning in the summary), on a
subsample of the frame, so that it can run on every frame.
"""

from __future__ import annotations

import numpy as np

PLAUSIBLE_MM = (200.0, 5000.0)  # where the depth of a scene with a person in it lies
_MIN_VALID = 100  # fewer valid readings than this: too little to judge
_STEP = 4  # every 4th pixel each way: the median of a 640x576 frame in well under 1 ms


def implausible_depth_mm(depth: np.ndarray, unit_mm: float) -> float | None:
    """The frame's median depth in mm when it lies outside ``PLAUSIBLE_MM``, else None
    (also None when the frame has too few readings to judge)."""
    d = np.asarray(depth)
    sample = d[::_STEP, ::_STEP] if d.ndim == 2 else d
    valid = sample[sample > 0]
    if valid.size < _MIN_VALID:
        return None
    mm = float(np.median(valid)) * float(unit_mm)
    lo, hi = PLAUSIBLE_MM
    return None if lo <= mm <= hi else mm


def unit_warning(mm: float, unit_mm: float) -> str:
    """The words for a frame whose depth is mostly at ``mm`` when read with ``unit_mm``."""
    return (f"the depth is mostly at {mm / 1000:.2f} m when read as {unit_mm:g} mm per unit: nothing is in "
            "the range where hands are judged (about 0.3 to 1.8 m). The depth unit may be wrong: Azure Kinect "
            "and Kinect v1 use 1 mm, RealSense SR305 0.125 mm")
