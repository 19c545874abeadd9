"""Azure Kinect live source against a fake pyk4a device (no camera needed)."""

import sys
import time

import numpy as np
import pytest
from pyk4a import K4AException, K4ATimeoutException

from capture.errors import CaptureError, DeviceError, DeviceNotFound
from capture.events import EventKind
from capture.sources.kinect import KinectSource, list_devices
from capture.thread import CaptureThread


class FakeCapture:
    def __init__(self, depth, ts):
        self.depth = depth
        self.depth_timestamp_usec = ts


class FakeDevice:
    def __init__(self, hub, index, depth_mode, fps):
        self.hub, self.index, self.depth_mode, self.fps = hub, index, depth_mode, fps
        self.ts = 0
        self.stopped = False
        self.timeouts_asked = []

    @property
    def serial(self):
        return self.hub.serials[self.index]

    @property
    def calibration(self):
        raise K4AException("no calibration in the fake")

    def start(self):
        pass

    def stop(self):
        self.stopped = True
        if not self.hub.plugged:
            raise K4AException("device gone")

    def get_capture(self, timeout):
        self.timeouts_asked.append(timeout)
        step = self.hub.script.pop(0) if self.hub.script else "frame"
        if not self.hub.plugged or step == "unplug":
            self.hub.plugged = False
            raise K4AException("K4A_WAIT_RESULT_FAILED")
        if step == "timeout":
            raise K4ATimeoutException()
        self.ts += 33333
        return FakeCapture(np.full((576, 640), 1000 + self.ts // 33333, np.uint16), self.ts)


class FakeHub:
    """A fake pyk4a backend: cameras that can be unplugged and plugged back."""

    def __init__(self, serials=("000111", "000222"), script=()):
        self.serials = list(serials)
        self.script = list(script)
        self.plugged = True
        self.opened = []

    def device_count(self):
        return len(self.serials) if self.plugged else 0

    def serial_of(self, index):
        return self.serials[index]

    def open_device(self, index, depth_mode, fps):
        if not self.plugged:
            raise K4AException("cannot open")
        dev = FakeDevice(self, index, depth_mode, fps)
        self.opened.append(dev)
        return dev


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t

    def sleep(self, s):
        self.t += s


def make(hub, **kw):
    clock = Clock()
    src = KinectSource(backend=hub, clock=clock, sleep=clock.sleep, **kw)
    return src, clock


def test_streams_depth_frames_with_device_timestamps():
    hub = FakeHub()
    src, _ = make(hub, depth_mode="nfov_unbinned")
    with src:
        frames = [src.read(0.1) for _ in range(3)]
        info = src.info
    assert [f.index for f in frames] == [0, 1, 2]
    assert [f.device_ts_us for f in frames] == [33333, 66666, 99999]
    assert frames[0].depth.shape == (576, 640) and frames[0].unit_mm == 1.0
    assert info.live and not info.can_seek and info.depth_mode == "NFOV_UNBINNED" and info.fps == 30
    dev = hub.opened[0]
    assert (dev.index, dev.depth_mode, dev.fps) == (0, "NFOV_UNBINNED", 30)
    assert max(dev.timeouts_asked) <= 100  # finite timeout: never blocks forever
    assert dev.stopped  # closed on exit


def test_timeouts_return_none_and_long_silence_is_reported_once():
    hub = FakeHub(script=["timeout"] * 30)
    src, clock = make(hub, no_frames_after_s=2.0)
    with src:
        results = []
        for _ in range(30):
            results.append(src.read(0.1))
            clock.t += 0.1  # each timed-out read waited 100 ms
        events = src.poll_events()
        after = src.read(0.1)
    assert results == [None] * 30
    assert [e.kind for e in events] == [EventKind.NO_FRAMES]
    assert after is not None


def test_unplugged_mid_stream_reports_device_lost_and_reconnects_with_backoff():
    hub = FakeHub(script=["frame", "frame", "unplug"])
    src, clock = make(hub, reconnect_delays_s=(0.5, 1.0, 2.0))
    with src:
        assert src.read(0.1).index == 0 and src.read(0.1).index == 1
        assert src.read(0.1) is None  # unplugged: no exception into the caller
        events = src.poll_events()
        assert [e.kind for e in events] == [EventKind.DEVICE_LOST]
        assert not src.connected and hub.opened[0].stopped
        attempts_at = []
        orig = hub.open_device

        def counting_open(*a):
            attempts_at.append(round(clock.t, 3))
            return orig(*a)

        hub.open_device = counting_open
        hub.device_count = lambda: 0 if not hub.plugged else len(hub.serials)
        for _ in range(40):  # 4 s of reads while unplugged: waits grow 0.5, 1, 2 s
            assert src.read(0.1) is None
        assert attempts_at == [] and src.poll_events() == []
        hub.plugged = True
        frame = None
        for _ in range(40):
            frame = src.read(0.1)
            if frame is not None:
                break
        events = src.poll_events()
    assert frame is not None and frame.index == 2  # numbering continues after reconnect
    assert [e.kind for e in events] == [EventKind.RECONNECTED]
    assert src.reconnects == 1 and len(hub.opened) == 2


def test_reconnect_attempts_back_off():
    hub = FakeHub(script=["unplug"])
    src, clock = make(hub, reconnect_delays_s=(0.5, 1.0, 2.0))
    attempts = []
    real_count = hub.device_count

    def count():
        attempts.append(round(clock.t, 2))
        return real_count()

    with src:
        hub.device_count = count
        src.read(0.1)  # lost at t=0
        while clock.t < 6.0:
            src.read(0.1)
    gaps = [b - a for a, b in zip(attempts, attempts[1:])]
    assert attempts[0] == pytest.approx(0.5, abs=0.11)
    assert gaps[:3] == pytest.approx([1.0, 2.0, 2.0], abs=0.11)


def test_no_device_is_a_clear_error_with_udev_hint():
    src, _ = make(FakeHub(serials=()))
    with pytest.raises(DeviceNotFound) as err:
        src.open()
    assert "no Azure Kinect camera is connected" in str(err.value)
    assert ("udev" in str(err.value)) == sys.platform.startswith("linux")


def test_real_pyk4a_without_a_camera_says_so():
    import pyk4a

    if pyk4a.connected_device_count() > 0:
        pytest.skip("a real camera is connected")
    with pytest.raises(DeviceNotFound, match="no Azure Kinect"):
        KinectSource().open()
    assert list_devices() == []


def test_choose_by_index_or_serial():
    hub = FakeHub()
    src, _ = make(hub, device="000222")
    with src:
        src.read(0.1)
    assert hub.opened[-1].index == 1
    src, _ = make(hub, device=1)
    with src:
        pass
    assert hub.opened[-1].index == 1
    with pytest.raises(DeviceNotFound, match="serial 999.*000111, 000222"):
        make(hub, device="999")[0].open()
    with pytest.raises(DeviceNotFound, match="#5 not found: 2 camera"):
        make(hub, device=5)[0].open()
    assert [(d.index, d.serial) for d in list_devices(hub)] == [(0, "000111"), (1, "000222")]


def test_device_in_use_is_a_clear_error():
    hub = FakeHub()

    def busy(*a):
        raise K4AException("busy")

    hub.open_device = busy
    with pytest.raises(DeviceError, match="could not be started"):
        make(hub)[0].open()


@pytest.mark.parametrize(
    "mode, fps, ok",
    [
        ("NFOV_2X2BINNED", 30, True),
        ("NFOV_UNBINNED", 30, True),
        ("WFOV_2X2BINNED", 30, True),
        ("WFOV_UNBINNED", 15, True),
        ("WFOV_UNBINNED", 30, False),
        ("NFOV_UNBINNED", 25, False),
        ("PASSIVE_IR", 30, False),
    ],
)
def test_depth_modes_and_rates(mode, fps, ok):
    if ok:
        src = KinectSource(depth_mode=mode, fps=fps, backend=FakeHub())
        assert src.info.depth_mode == mode and src.info.fps == fps
    else:
        with pytest.raises(CaptureError):
            KinectSource(depth_mode=mode, fps=fps, backend=FakeHub())
    assert KinectSource(depth_mode="WFOV_UNBINNED", backend=FakeHub()).fps == 15


def test_in_the_capture_thread_loss_is_an_event_and_frames_resume():
    hub = FakeHub(script=["frame"] * 5 + ["unplug"])
    src = KinectSource(backend=hub, reconnect_delays_s=(0.05,))
    thread = CaptureThread(src).start()
    try:
        deadline = time.monotonic() + 5
        seen = []
        while time.monotonic() < deadline:
            ev = thread.events.get(timeout=1)
            seen.append(ev.kind)
            if ev.kind == EventKind.DEVICE_LOST:
                hub.plugged = True  # plugged straight back in
            if ev.kind == EventKind.RECONNECTED:
                break
        frame = thread.mailbox.get(timeout=2)
        assert thread.alive
    finally:
        assert thread.stop()
    assert seen[:3] == [EventKind.STARTED, EventKind.DEVICE_LOST, EventKind.RECONNECTED]
    assert frame is not None and thread.frames > 5
