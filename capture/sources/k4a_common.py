"""Azure Kinect facts and helpers shared by the live and MKV sources.

Importing this module keeps the SDK's log lines off stdout (see ``quiet_sdk_logs``); load
pyk4a through ``load_pyk4a`` so that holds wherever it is first imported.
"""

from __future__ import annotations

import json
import os
from types import ModuleType
from typing import Any

from capture.errors import CaptureError
from capture.frame import Intrinsics

# name -> (width, height, highest fps)
DEPTH_MODES: dict[str, tuple[int, int, int]] = {
    "NFOV_2X2BINNED": (320, 288, 30),
    "NFOV_UNBINNED": (640, 576, 30),
    "WFOV_2X2BINNED": (512, 512, 30),
    "WFOV_UNBINNED": (1024, 1024, 15),
}
FPS_VALUES = (5, 15, 30)
SENSOR_NAME = "Azure Kinect"


def quiet_sdk_logs() -> None:
    """No SDK log lines on stdout, where they corrupt the CLI's machine-readable output.

    libk4a and libk4arecord each print ``[error]`` lines to stdout unless
    ``K4A_ENABLE_LOG_TO_STDOUT`` is 0; they read it when they first log. A value the user
    set is kept (``K4A_ENABLE_LOG_TO_STDOUT=1 K4A_LOG_LEVEL=i`` shows them again). The
    file-logging variables are left alone: in SDK 1.4 a value of "0" writes ``k4a.log``.
    """
    os.environ.setdefault("K4A_ENABLE_LOG_TO_STDOUT", "0")


def load_pyk4a() -> ModuleType:
    """The pyk4a module, with the SDK's stdout logging off (ImportError if not installed)."""
    quiet_sdk_logs()
    import pyk4a

    return pyk4a


quiet_sdk_logs()


def depth_mode_key(mode: str) -> str:
    """A depth mode name as typed ("nfov-unbinned") in its canonical spelling ("NFOV_UNBINNED")."""
    return mode.upper().replace("-", "_").replace(" ", "_")


def check_depth_mode(mode: str, fps: int | None) -> tuple[str, int]:
    """Validate a depth mode name and fps; default fps is the mode's highest."""
    key = depth_mode_key(mode)
    if key not in DEPTH_MODES:
        raise CaptureError(f"unknown Azure Kinect depth mode {mode!r}; choose one of {', '.join(DEPTH_MODES)}")
    top = DEPTH_MODES[key][2]
    fps = top if fps is None else int(fps)
    if fps not in FPS_VALUES:
        raise CaptureError(f"Azure Kinect frame rate must be 5, 15 or 30 fps, got {fps}")
    if fps > top:
        raise CaptureError(f"{key} runs at {top} fps at most, not {fps}")
    return key, fps


def intrinsics_from_calibration(calibration: Any, width: int, height: int) -> Intrinsics | None:
    """Depth-camera intrinsics from a pyk4a Calibration (None if it cannot be read)."""
    try:
        CalibrationType = load_pyk4a().CalibrationType
        k = calibration.get_camera_matrix(CalibrationType.DEPTH)
        dist = calibration.get_distortion_coefficients(CalibrationType.DEPTH)
        return Intrinsics(
            fx=float(k[0][0]),
            fy=float(k[1][1]),
            cx=float(k[0][2]),
            cy=float(k[1][2]),
            width=width,
            height=height,
            distortion=tuple(float(v) for v in dist),
        )
    except Exception:  # a fake or a recording without a calibration attachment
        return None


def depth_mode_for_size(width: int, height: int) -> str | None:
    """The depth mode whose image is ``width`` x ``height`` (None if no mode is)."""
    return next((m for m, (w, h, _) in DEPTH_MODES.items() if (w, h) == (width, height)), None)


def calibration_from_raw(raw: bytes, depth_mode: str) -> Any | None:
    """A pyk4a Calibration from a recording's calibration.json (None if it cannot be read).

    Only well-formed JSON reaches the SDK: pyk4a ignores a failed argument parse, so a
    string with a NUL byte in it makes ``Calibration.from_raw`` crash the process.
    """
    try:
        text = raw.rstrip(b"\0").decode("utf-8")
        if "\0" in text or not isinstance(json.loads(text).get("CalibrationInformation"), dict):
            return None
        k = load_pyk4a()
        return k.Calibration.from_raw(text, k.DepthMode[depth_mode], k.ColorResolution.OFF, thread_safe=False)
    except Exception:
        return None
