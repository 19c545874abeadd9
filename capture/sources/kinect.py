"""Azure Kinect live depth through pyk4a.

Colour is off, so ``synchronized_images_only=False``; the device is opened with
``thread_safe=False`` (pyk4a's thread-safe mode holds the GIL while it waits) and read
with a finite timeout, so call every method from one thread (the capture thread) and a
stop request is seen within the read timeout.

A camera unplugged mid-stream is not an exception for the caller: ``read`` returns None,
a DEVICE_LOST event is queued, and reconnection is tried with growing delays until the
camera is back (RECONNECTED event).

Orbbec Femto Bolt and Femto Mega cameras work through Orbbec's K4A wrapper
(OrbbecSDK-K4A-Wrapper), which installs a libk4a that pyk4a loads in place of
Microsoft's; nothing here changes for them.

The hardware is reached through a small backend (``PyK4ABackend``), so tests inject a
fake one.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

from capture.errors import CaptureError, DeviceError, DeviceNotFound
from capture.events import EventKind
from capture.frame import DepthFrame, Intrinsics
from capture.sources.base import FrameSource, SourceInfo
from capture.sources.k4a_common import DEPTH_MODES, SENSOR_NAME, check_depth_mode, intrinsics_from_calibration, load_pyk4a

UDEV_HINT = (
    "On Linux a camera that is plugged in but not found usually lacks the udev rules: copy "
    "99-k4a.rules from the Azure Kinect SDK (scripts/99-k4a.rules) to /etc/udev/rules.d/, "
    "then unplug and replug the camera."
)


def no_device_message(detail: str = "no Azure Kinect camera is connected") -> str:
    msg = f"{detail}. Check that it is powered and on a USB 3 port."
    if sys.platform.startswith("linux"):
        msg += " " + UDEV_HINT
    return msg


class K4ADevice(Protocol):
    """The part of ``pyk4a.PyK4A`` this module uses."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def get_capture(self, timeout: int = ...) -> Any: ...
    @property
    def serial(self) -> str: ...
    @property
    def calibration(self) -> Any: ...


class K4ABackend(Protocol):
    def device_count(self) -> int: ...
    def serial_of(self, index: int) -> str | None: ...
    def open_device(self, index: int, depth_mode: str, fps: int) -> K4ADevice: ...


class PyK4ABackend:
    """The real hardware through pyk4a."""

    def __init__(self) -> None:
        try:
            pyk4a = load_pyk4a()  # the SDK's log lines kept off stdout
        except Exception as exc:  # pragma: no cover - pyk4a-bundle ships the libraries
            raise CaptureError(f"Azure Kinect support (pyk4a) cannot be loaded: {exc}") from exc
        self._pyk4a = pyk4a

    def device_count(self) -> int:
        return int(self._pyk4a.connected_device_count())

    def serial_of(self, index: int) -> str | None:
        dev = self._pyk4a.PyK4A(device_id=index, thread_safe=False)
        try:
            dev.open()
        except self._pyk4a.K4AException:
            return None  # in use by another program
        try:
            return dev.serial
        except self._pyk4a.K4AException:
            return None
        finally:
            dev.close()

    def open_device(self, index: int, depth_mode: str, fps: int) -> K4ADevice:
        k = self._pyk4a
        config = k.Config(
            color_resolution=k.ColorResolution.OFF,
            depth_mode=k.DepthMode[depth_mode],
            camera_fps={5: k.FPS.FPS_5, 15: k.FPS.FPS_15, 30: k.FPS.FPS_30}[fps],
            synchronized_images_only=False,
        )
        dev = k.PyK4A(config=config, device_id=index, thread_safe=False)
        dev.start()
        return dev


@dataclass(frozen=True)
class KinectDeviceInfo:
    index: int
    serial: str | None  # None when the camera is in use by another program


def list_devices(backend: K4ABackend | None = None) -> list[KinectDeviceInfo]:
    """Connected Azure Kinect (or K4A-compatible) cameras with their serial numbers."""
    backend = backend or PyK4ABackend()
    return [KinectDeviceInfo(i, backend.serial_of(i)) for i in range(backend.device_count())]


def _k4a_errors() -> tuple[type[BaseException], type[BaseException]]:
    try:
        from pyk4a import K4AException, K4ATimeoutException

        return K4ATimeoutException, K4AException
    except Exception:  # pragma: no cover
        return TimeoutError, Exception


class KinectSource(FrameSource):
    """Live depth from one camera, chosen by index (int) or serial number (str)."""

    def __init__(
        self,
        device: int | str = 0,
        depth_mode: str = "NFOV_UNBINNED",
        fps: int | None = None,
        *,
        timeout_ms: int = 100,
        backend: K4ABackend | None = None,
        reconnect_delays_s: Sequence[float] = (0.5, 1.0, 2.0, 5.0),
        no_frames_after_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__()
        self.depth_mode, self.fps = check_depth_mode(depth_mode, fps)
        if not 0 < timeout_ms <= 200:
            raise CaptureError("capture timeout must be between 1 and 200 ms so a stop is seen quickly")
        self.device = device
        self.timeout_ms = int(timeout_ms)
        self._backend = backend
        self._delays = tuple(reconnect_delays_s) or (1.0,)
        self._no_frames_after_s = no_frames_after_s
        self._clock, self._sleep = clock, sleep
        self._dev: K4ADevice | None = None
        self._intrinsics: Intrinsics | None = None
        self._index = 0
        self._lost = False
        self._attempt = 0
        self._next_attempt = 0.0
        self._last_frame = 0.0
        self._warned_no_frames = False
        self.reconnects = 0

    # -- connection ------------------------------------------------------------------
    @property
    def backend(self) -> K4ABackend:
        if self._backend is None:
            self._backend = PyK4ABackend()
        return self._backend

    def _find_index(self) -> int:
        count = self.backend.device_count()
        if count <= 0:
            raise DeviceNotFound(no_device_message())
        if isinstance(self.device, int):
            if not 0 <= self.device < count:
                raise DeviceNotFound(
                    f"Azure Kinect #{self.device} not found: {count} camera(s) connected (numbered from 0)"
                )
            return self.device
        serials = [self.backend.serial_of(i) for i in range(count)]
        if self.device in serials:
            return serials.index(self.device)
        shown = ", ".join(s or "(in use)" for s in serials)
        raise DeviceNotFound(f"no Azure Kinect with serial {self.device}; connected: {shown}")

    def _connect(self) -> None:
        index = self._find_index()
        _, k4a_error = _k4a_errors()
        try:
            self._dev = self.backend.open_device(index, self.depth_mode, self.fps)
        except k4a_error as exc:
            raise DeviceError(
                f"Azure Kinect #{index} was found but could not be started (in use by another "
                f"program such as the Azure Kinect Viewer, or not enough USB bandwidth/power)"
                + (f". {UDEV_HINT}" if sys.platform.startswith("linux") else "")
            ) from exc
        w, h, _ = DEPTH_MODES[self.depth_mode]
        try:
            self._intrinsics = intrinsics_from_calibration(self._dev.calibration, w, h)
        except Exception:
            self._intrinsics = None
        self._last_frame = self._clock()
        self._warned_no_frames = False

    def _disconnect(self) -> None:
        dev, self._dev = self._dev, None
        if dev is not None:
            try:
                dev.stop()
            except Exception:  # an unplugged camera fails to stop; nothing to do about it
                pass

    def _open(self) -> None:
        self._index = 0
        self._lost = False
        self._connect()

    def _close(self) -> None:
        self._disconnect()

    @property
    def connected(self) -> bool:
        return self._dev is not None

    @property
    def info(self) -> SourceInfo:
        w, h, _ = DEPTH_MODES[self.depth_mode]
        return SourceInfo(
            sensor=SENSOR_NAME,
            unit_mm=1.0,
            depth_mode=self.depth_mode,
            fps=float(self.fps),
            width=w,
            height=h,
            can_seek=False,
            live=True,
            intrinsics=self._intrinsics,
            extra={"connected": self.connected, "reconnects": self.reconnects},
        )

    # -- reading ---------------------------------------------------------------------
    def _mark_lost(self, why: str) -> None:
        self._disconnect()
        self._lost = True
        self._attempt = 0
        self._next_attempt = self._clock() + self._delays[0]
        self._emit(EventKind.DEVICE_LOST, f"Azure Kinect lost ({why}); reconnecting")

    def _try_reconnect(self, timeout_s: float) -> None:
        wait = self._next_attempt - self._clock()
        if wait > 0:
            self._sleep(min(wait, timeout_s))
            return
        try:
            self._connect()
        except CaptureError:
            self._attempt += 1
            delay = self._delays[min(self._attempt, len(self._delays) - 1)]
            self._next_attempt = self._clock() + delay
            return
        self._lost = False
        self.reconnects += 1
        self._emit(EventKind.RECONNECTED, "Azure Kinect is back; streaming again")

    def read(self, timeout_s: float = 0.1) -> DepthFrame | None:
        if self._lost or self._dev is None:
            self._try_reconnect(timeout_s)
            return None
        timeout_error, k4a_error = _k4a_errors()
        ms = max(1, min(self.timeout_ms, int(timeout_s * 1000)))
        try:
            cap = self._dev.get_capture(timeout=ms)
            depth = cap.depth
        except timeout_error:
            self._check_silence()
            return None
        except k4a_error as exc:
            self._mark_lost(str(exc) or type(exc).__name__)
            return None
        if depth is None:  # an IR-only capture; nothing to show
            return None
        self._last_frame = self._clock()
        self._warned_no_frames = False
        frame = DepthFrame(
            depth=depth,
            unit_mm=1.0,
            index=self._index,
            device_ts_us=int(cap.depth_timestamp_usec),
            host_ts_ns=time.monotonic_ns(),
            intrinsics=self._intrinsics,
        )
        self._index += 1
        return frame

    def _check_silence(self) -> None:
        silent = self._clock() - self._last_frame
        if silent >= self._no_frames_after_s and not self._warned_no_frames:
            self._warned_no_frames = True
            self._emit(EventKind.NO_FRAMES, f"no depth frames from the Azure Kinect for {silent:.1f} s")
