"""Azure Kinect MKV playback (k4arecorder / Azure Kinect Viewer files), depth track only.

Wrap in ``Paced`` to play at the recorded timestamps or loop. The device serial number
stored in the file is never read, so it cannot leak into sessions.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from capture.errors import CaptureError, CorruptFile
from capture.frame import DepthFrame, Intrinsics
from capture.sources.base import EndOfStream, FrameSource, SourceInfo
from capture.sources.k4a_common import DEPTH_MODES, SENSOR_NAME, intrinsics_from_calibration

_FPS = {0: 5.0, 1: 15.0, 2: 30.0}
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"


def _open_failure_message(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    if head != _EBML_MAGIC:
        return f"{path} is not a Matroska (.mkv) file"
    return (
        f"the Azure Kinect SDK cannot open {path}: the file is truncated (a recording cut short "
        f"has no usable end), damaged, or was not written by an Azure Kinect recorder"
    )


class MkvSource(FrameSource):
    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)
        self._pb: Any = None
        self._info: SourceInfo | None = None
        self._intrinsics: Intrinsics | None = None
        self._count = 0  # depth frames returned since open/seek (for error messages)
        self._index = 0

    def _open(self) -> None:
        if not self.path.is_file():
            raise CaptureError(f"recording not found: {self.path}")
        from pyk4a import K4AException, PyK4APlayback

        pb = PyK4APlayback(self.path, thread_safe=False)
        try:
            pb.open()
            conf = pb.configuration
            length_us = pb.length
        except K4AException as exc:
            raise CorruptFile(_open_failure_message(self.path)) from exc
        if not conf["depth_track_enabled"]:
            pb.close()
            raise CaptureError(f"{self.path} has no depth track (recorded with depth off)")
        mode = conf["depth_mode"].name
        if mode not in DEPTH_MODES:
            pb.close()
            raise CaptureError(f"{self.path} has depth mode {mode}, which carries no depth image")
        w, h, _ = DEPTH_MODES[mode]
        try:
            self._intrinsics = intrinsics_from_calibration(pb.calibration, w, h)
        except Exception:
            self._intrinsics = None
        fps = _FPS.get(int(conf["camera_fps"]))
        self._pb = pb
        self._info = SourceInfo(
            sensor=SENSOR_NAME,
            unit_mm=1.0,
            depth_mode=mode,
            fps=fps,
            width=w,
            height=h,
            frame_count=None,
            duration_s=length_us / 1e6,
            can_seek=True,
            intrinsics=self._intrinsics,
            extra={"start_timestamp_offset_us": conf["start_timestamp_offset_usec"]},
        )
        self._count = self._index = 0

    def _close(self) -> None:
        if self._pb is not None:
            try:
                self._pb.close()
            finally:
                self._pb = None

    @property
    def info(self) -> SourceInfo:
        if self._info is None:
            raise CaptureError("MKV source is not open")
        return self._info

    def seek(self, t_s: float) -> None:
        """Seek to ``t_s`` seconds after the start of the recording."""
        from pyk4a import K4AException

        try:
            self._pb.seek(max(0, int(t_s * 1e6)))
        except EOFError:
            pass  # past the end: the next read ends the stream
        except K4AException as exc:
            raise CorruptFile(f"cannot seek to {t_s:.3f} s in {self.path}: the file is damaged") from exc
        # Frame numbers after a seek follow the nominal rate; they are not file positions.
        self._index = round(t_s * (self.info.fps or 30.0))

    def read(self, timeout_s: float = 0.1) -> DepthFrame | None:
        from pyk4a import K4AException

        while True:  # skip colour- or IR-only captures
            try:
                cap = self._pb.get_next_capture()
                depth = cap.depth
            except EOFError:
                raise EndOfStream from None
            except K4AException as exc:
                raise CorruptFile(
                    f"{self.path} is damaged after depth frame {self._count}: the rest cannot be read"
                ) from exc
            if depth is not None:
                break
        frame = DepthFrame(
            depth=depth,
            unit_mm=1.0,
            index=self._index,
            device_ts_us=int(cap.depth_timestamp_usec),
            host_ts_ns=time.monotonic_ns(),
            intrinsics=self._intrinsics,
        )
        self._count += 1
        self._index += 1
        return frame
