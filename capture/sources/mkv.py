"""Azure Kinect MKV playback (k4arecorder / Azure Kinect Viewer files), depth track only.

Wrap in ``Paced`` to play at the recorded timestamps or loop. The device serial number
stored in the file is never read, so it cannot leak into sessions.

A recording the SDK cannot read to its end (cut short, damaged) is read with
``mkv_recover`` instead: every depth frame it can reach plays as usual (past a damaged
spot it goes on at the next cluster; only the frames in between are lost), then one ERROR
event says where the file is damaged or stops and what was kept, the same words are in ``problems``
(and, when known at open, in ``info.extra["problems"]``), and the stream ends. A file whose
top level is incomplete never goes to the SDK at all: on some cuts it aborts the process.
"""

from __future__ import annotations

import bisect
import os
import statistics
import time
from pathlib import Path
from typing import Any

from capture.errors import CaptureError, CorruptFile
from capture.events import EventKind
from capture.frame import DepthFrame, Intrinsics
from capture.sources import mkv_recover
from capture.sources.base import EndOfStream, FrameSource, SourceInfo
from capture.sources.k4a_common import (
    DEPTH_MODES,
    FPS_VALUES,
    SENSOR_NAME,
    calibration_from_raw,
    depth_mode_for_size,
    intrinsics_from_calibration,
    load_pyk4a,
)
from capture.sources.mkv_recover import DepthBlock, DepthReader, MkvIndex

_FPS = {0: 5.0, 1: 15.0, 2: 30.0}


def _recovered_fps(ix: MkvIndex) -> float | None:
    """The depth track's frame rate: its default duration, else the median frame spacing."""
    assert ix.track is not None
    if ix.track.default_duration_ns:
        rate = 1e9 / ix.track.default_duration_ns
    else:
        steps = [b.time_ns - a.time_ns for a, b in zip(ix.blocks, ix.blocks[1:]) if b.time_ns > a.time_ns]
        if not steps:
            return None
        rate = 1e9 / statistics.median(steps)
    near = min(FPS_VALUES, key=lambda v: abs(v - rate))
    return float(near) if abs(near - rate) <= 0.02 * near else round(rate, 3)


class MkvSource(FrameSource):
    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)
        self._pb: Any = None
        self._k4a_error: type[BaseException] = Exception  # pyk4a's K4AException once opened
        self._info: SourceInfo | None = None
        self._intrinsics: Intrinsics | None = None
        self._count = 0  # depth frames returned since open (for error messages)
        self._index = 0
        # reading without the SDK (mkv_recover): set once the SDK cannot go on
        self._recovering = False
        self._ix: MkvIndex | None = None
        self._rec: DepthReader | None = None
        self._blocks: list[DepthBlock] = []
        self._pos = 0
        self._last_ts_us: int | None = None  # the last SDK frame since open/seek
        self._seek_ns = 0
        self._problems: list[str] = []
        self._end_problem: str | None = None  # said once, as an ERROR event, when the stream ends
        self._said = False

    @property
    def problems(self) -> list[str]:
        """What is wrong with the file: where it was cut short or damaged and what was kept."""
        return list(self._problems)

    # -- opening ---------------------------------------------------------------------
    def _open(self) -> None:
        if not self.path.is_file():
            raise CaptureError(f"recording not found: {self.path}")
        self._reset_state()
        top = mkv_recover.scan(self.path, blocks=False)  # CorruptFile when not Matroska at all
        if top.sdk_safe:
            try:
                self._open_sdk()
                return
            except CorruptFile:
                pass  # the SDK refuses a file that looks whole: read it without the SDK
        self._open_recovered()

    def _reset_state(self) -> None:
        self._count = self._index = self._pos = self._seek_ns = 0
        self._recovering, self._ix, self._rec, self._blocks = False, None, None, []
        self._last_ts_us, self._problems, self._end_problem, self._said = None, [], None, False

    def _open_sdk(self) -> None:
        k = load_pyk4a()
        self._k4a_error = k.K4AException
        pb = k.PyK4APlayback(self.path, thread_safe=False)
        opened = False
        try:
            pb.open()
            opened = True
            conf = pb.configuration
            length_us = pb.length
            calibration = pb.calibration  # pyk4a reads no capture without it
        except k.K4AException as exc:
            if opened:
                pb.close()
            raise CorruptFile(f"the Azure Kinect SDK cannot open {self.path}: it is damaged, or was not "
                              f"written by an Azure Kinect recorder") from exc
        if not conf["depth_track_enabled"]:
            pb.close()
            raise CaptureError(f"{self.path} has no depth track (recorded with depth off)")
        mode = conf["depth_mode"].name
        if mode not in DEPTH_MODES:
            pb.close()
            raise CaptureError(f"{self.path} has depth mode {mode}, which carries no depth image")
        w, h, _ = DEPTH_MODES[mode]
        self._intrinsics = intrinsics_from_calibration(calibration, w, h)
        self._pb = pb
        self._info = SourceInfo(
            sensor=SENSOR_NAME,
            unit_mm=1.0,
            depth_mode=mode,
            fps=_FPS.get(int(conf["camera_fps"])),
            width=w,
            height=h,
            frame_count=None,
            duration_s=length_us / 1e6,
            can_seek=True,
            intrinsics=self._intrinsics,
            extra={"start_timestamp_offset_us": conf["start_timestamp_offset_usec"]},
        )

    def _open_recovered(self) -> None:
        ix = mkv_recover.scan(self.path)
        tr = ix.track
        if tr is None and ix.damage is None:
            raise CaptureError(f"{self.path} has no depth track (recorded with depth off)")
        if tr is None or not ix.blocks:
            raise CorruptFile(ix.problem() or f"{self.path} has no depth frames")
        mode = ix.tags.get("K4A_DEPTH_MODE")
        if mode not in DEPTH_MODES or DEPTH_MODES[mode][:2] != (tr.width, tr.height):
            mode = depth_mode_for_size(tr.width, tr.height)
        cal = calibration_from_raw(ix.calibration, mode) if ix.calibration and mode else None
        self._intrinsics = intrinsics_from_calibration(cal, tr.width, tr.height) if cal is not None else None
        self._start_recovery(ix, 0)
        problem = ix.problem()
        if problem:
            self._problems.append(problem)
            self._end_problem = problem
        self._info = SourceInfo(
            sensor=SENSOR_NAME,
            unit_mm=1.0,
            depth_mode=mode,
            fps=_recovered_fps(ix),
            width=tr.width,
            height=tr.height,
            frame_count=len(ix.blocks),
            duration_s=ix.blocks[-1].time_ns / 1e9,
            can_seek=True,
            intrinsics=self._intrinsics,
            extra={
                "start_timestamp_offset_us": ix.start_offset_ns // 1000,
                "read_without_sdk": True,
                "problems": list(self._problems),
            },
        )

    def _start_recovery(self, ix: MkvIndex | None, pos: int) -> None:
        self._close_sdk()
        self._recovering, self._ix = True, ix
        self._blocks = ix.blocks if ix is not None else []
        self._rec = DepthReader(ix) if ix is not None and ix.blocks else None
        self._pos = pos

    def _sdk_failed(self) -> None:
        """The SDK stopped part-way: go on with the frames after the last one it gave."""
        name = self.path.name
        try:
            ix: MkvIndex | None = mkv_recover.scan(self.path)
        except CorruptFile:
            ix = None
        info = self.info
        if ix is None or ix.track is None or (ix.track.width, ix.track.height) != (info.width, info.height):
            self._start_recovery(None, 0)
            problem = f"{name} is damaged after depth frame {self._count}: the rest cannot be read"
        else:
            if self._last_ts_us is None:
                pos = bisect.bisect_left(ix.blocks, self._seek_ns, key=lambda b: b.time_ns)
            else:
                last = self._last_ts_us
                pos = next((i for i, b in enumerate(ix.blocks) if ix.device_ts_us(b) > last), len(ix.blocks))
            self._start_recovery(ix, pos)
            problem = ix.problem() or (
                f"the Azure Kinect SDK could not read {name} past depth frame {self._count}; the "
                f"{len(ix.blocks) - pos} depth frame(s) after it were read straight from the file")
        self._problems.append(problem)
        self._end_problem = problem

    def _close_sdk(self) -> None:
        if self._pb is not None:
            try:
                self._pb.close()
            finally:
                self._pb = None

    def _close(self) -> None:
        try:
            self._close_sdk()
        finally:
            if self._rec is not None:
                self._rec.close()
                self._rec = None

    @property
    def info(self) -> SourceInfo:
        if self._info is None:
            raise CaptureError("MKV source is not open")
        return self._info

    # -- reading ---------------------------------------------------------------------
    def seek(self, t_s: float) -> None:
        """Seek to ``t_s`` seconds after the start of the recording."""
        t_ns = max(0, int(t_s * 1e9))
        if self._recovering:
            self._pos = bisect.bisect_left(self._blocks, t_ns, key=lambda b: b.time_ns)
        else:
            try:
                self._pb.seek(t_ns // 1000)
            except EOFError:
                pass  # past the end: the next read ends the stream
            except self._k4a_error as exc:
                raise CorruptFile(f"cannot seek to {t_s:.3f} s in {self.path}: the file is damaged") from exc
            self._seek_ns, self._last_ts_us = t_ns, None
        # Frame numbers after a seek follow the nominal rate; they are not file positions.
        self._index = round(t_s * (self.info.fps or 30.0))

    def read(self, timeout_s: float = 0.1) -> DepthFrame | None:
        if self._recovering:
            return self._read_recovered()
        while True:  # skip colour- or IR-only captures
            try:
                cap = self._pb.get_next_capture()
                depth = cap.depth
            except EOFError:
                raise EndOfStream from None
            except self._k4a_error:
                self._sdk_failed()
                return self._read_recovered()
            if depth is not None:
                break
        ts = int(cap.depth_timestamp_usec)
        self._last_ts_us = ts
        return self._frame(depth, ts)

    def _read_recovered(self) -> DepthFrame:
        if self._pos >= len(self._blocks) or self._rec is None or self._ix is None:
            if self._end_problem and not self._said:
                self._said = True
                self._emit(EventKind.ERROR, self._end_problem)
            raise EndOfStream
        block = self._blocks[self._pos]
        self._pos += 1
        return self._frame(self._rec.read(block), self._ix.device_ts_us(block))

    def _frame(self, depth: Any, ts_us: int) -> DepthFrame:
        frame = DepthFrame(
            depth=depth,
            unit_mm=1.0,
            index=self._index,
            device_ts_us=ts_us,
            host_ts_ns=time.monotonic_ns(),
            intrinsics=self._intrinsics,
        )
        self._count += 1
        self._index += 1
        return frame
