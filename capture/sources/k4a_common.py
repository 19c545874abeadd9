"""Azure Kinect facts and helpers shared by the live and MKV sources."""

from __future__ import annotations

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
        from pyk4a import CalibrationType

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
