import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from capture.errors import CaptureError, CorruptFile
from capture.events import EventKind
from capture.sources import mkv_recover, open_source
from capture.sources.base import EndOfStream
from capture.sources.mkv import MkvSource
from capture.sources.pacing import Paced
from tests.conftest import shared_path
from tests.mkv_support import depth_frames, real_calibration, write_depth_mkv


@pytest.fixture
def mkv():
    return shared_path("azure_kinect", "recording.mkv")


def test_real_recording_depth_track(mkv):
    src = MkvSource(mkv)
    with src:
        info = src.info
        frames = list(src)
    assert (info.sensor, info.depth_mode, info.fps) == ("Azure Kinect", "NFOV_UNBINNED", 5.0)
    assert (info.width, info.height, info.unit_mm, info.can_seek) == (640, 576, 1.0, True)
    assert 0.3 < info.duration_s < 1.0
    k = info.intrinsics
    assert k is not None and 400 < k.fx < 600 and 250 < k.cx < 400 and (k.width, k.height) == (640, 576)
    assert len(frames) == 1  # the test asset holds a single depth frame (plus colour/IR/IMU)
    f = frames[0]
    assert f.depth.dtype == np.uint16 and f.depth.shape == (576, 640)
    assert f.device_ts_us == 800222
    valid = f.depth[f.depth > 0]
    assert 300 < np.median(valid) < 3000  # a desk scene in millimetres


def test_seek_and_loop(mkv):
    with MkvSource(mkv) as src:
        first = src.read()
        with pytest.raises(EndOfStream):
            src.read()
        src.seek(0.0)
        again = src.read()
        src.seek(10.0)  # past the end
        with pytest.raises(EndOfStream):
            src.read()
    assert np.array_equal(first.depth, again.depth)
    looped = Paced(MkvSource(mkv), speed=None, loop=True)
    with looped:
        ts = [looped.read().device_ts_us for _ in range(3)]
    assert ts == [800222] * 3 and looped.loops == 2


def test_paced_playback_at_recorded_rate(mkv):
    src = Paced(MkvSource(mkv), speed=1.0)
    with src:
        assert src.read() is not None
        with pytest.raises(EndOfStream):
            src.read()


def test_truncated_recording_is_a_clear_error(mkv, tmp_path):
    data = mkv.read_bytes()
    bad = tmp_path / "cut.mkv"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFile, match="truncated"):
        MkvSource(bad).open()


def test_not_an_mkv_and_missing(tmp_path):
    junk = tmp_path / "junk.mkv"
    junk.write_bytes(b"hello world" * 100)
    with pytest.raises(CorruptFile, match="not a Matroska"):
        MkvSource(junk).open()
    with pytest.raises(CaptureError, match="not found"):
        MkvSource(tmp_path / "none.mkv").open()


def test_damage_after_the_start_still_gives_the_frames_before(mkv, tmp_path):
    """Overwrite 100 kB in the last quarter (colour/IR): the depth frame before it plays."""
    data = bytearray(mkv.read_bytes())
    start = len(data) * 3 // 4
    data[start : start + 100_000] = np.random.default_rng(0).bytes(100_000)
    bad = tmp_path / "damaged.mkv"
    bad.write_bytes(bytes(data))
    with MkvSource(bad) as src:
        got = []
        while True:
            try:
                got.append(src.read())
            except EndOfStream:
                break
        problems = src.problems
    assert [f.device_ts_us for f in got] == [800222]
    # the damage is in the same cluster as the depth frame (one capture's colour, depth and IR):
    # kept, and said to be doubtful
    assert len(problems) == 1 and "do not match their CRC-32" in problems[0]
    with MkvSource(mkv) as src:
        assert np.array_equal(got[0].depth, src.read().depth)


# -- recordings cut short or damaged (capture/sources/mkv_recover.py) -------------------------

REPO = Path(__file__).resolve().parents[1]
N_FRAMES = 20
STEP_US = 33_333
OFFSET_US = 336_277  # the start offset of the real recording


def _times(n: int = N_FRAMES) -> list[int]:
    return [100_000 + i * STEP_US for i in range(n)]


def _synthetic(tmp_path, name="synthetic.mkv", n=N_FRAMES, **kw):
    frames = depth_frames(n)
    mkv = write_depth_mkv(frames, _times(n), start_offset_us=OFFSET_US, **kw)
    path = tmp_path / name
    path.write_bytes(mkv.data)
    return path, mkv, frames


def _play(src):
    """Every frame until EndOfStream, then the events and problems."""
    got = []
    with src:
        info = src.info
        while True:
            try:
                f = src.read()
            except EndOfStream:
                break
            if f is not None:
                got.append(f)
        events = src.poll_events()
        with pytest.raises(EndOfStream):  # stays ended, says nothing more
            src.read()
        events_after = src.poll_events()
        problems = src.problems
    return info, got, events, events_after, problems


@pytest.mark.timeout(60)
@pytest.mark.parametrize("layout", [{}, {"ir": True}, {"unknown_segment": True, "unknown_clusters": True},
                                    {"timecode_scale_ns": 1_000_000, "fps": None, "frames_per_cluster": 6},
                                    {"block_groups": True, "ir": True}])
def test_the_recovery_reader_reads_every_frame_of_a_whole_file_exactly(tmp_path, layout):
    path, mkv, frames = _synthetic(tmp_path, **layout)
    tick_us = layout.get("timecode_scale_ns", 1000) // 1000
    times = [t // tick_us * tick_us for t in _times()]  # what the file's timecodes can hold
    ix = mkv_recover.scan(path)
    assert ix.damage is None and ix.has_cues and ix.problem() is None
    assert (ix.track.width, ix.track.height) == (64, 48) and len(ix.blocks) == N_FRAMES
    reader = mkv_recover.DepthReader(ix)
    try:
        for block, want, t in zip(ix.blocks, frames, times):
            got = reader.read(block)
            assert got.dtype == np.uint16 and np.array_equal(got, want)
            assert ix.device_ts_us(block) == t + OFFSET_US
    finally:
        reader.close()
    info, got, events, _, problems = _play(MkvSource(path))  # the SDK refuses it (no calibration): read directly
    assert [f.device_ts_us for f in got] == [t + OFFSET_US for t in times]
    assert all(np.array_equal(f.depth, want) for f, want in zip(got, frames))
    assert [f.index for f in got] == list(range(N_FRAMES)) and events == [] and problems == []
    assert (info.width, info.height, info.frame_count, info.unit_mm) == (64, 48, N_FRAMES, 1.0)
    assert info.fps == 30.0 and info.duration_s == pytest.approx(times[-1] / 1e6)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fraction", [0.5, 0.94])
def test_a_truncated_mkv_keeps_the_frames_before_the_damage_and_says_where_it_stopped(tmp_path, fraction):
    whole, mkv, frames = _synthetic(tmp_path, ir=True)
    cut = int(len(mkv.data) * fraction)
    path = tmp_path / "cut.mkv"
    path.write_bytes(mkv.data[:cut])
    n = mkv.frames_before(cut)
    assert 0 < n < N_FRAMES
    info, got, events, after, problems = _play(MkvSource(path))
    assert len(got) == n and info.frame_count == n
    assert [f.device_ts_us for f in got] == [t + OFFSET_US for t in _times()[:n]]
    assert all(np.array_equal(f.depth, want) for f, want in zip(got, frames))
    assert [e.kind for e in events] == [EventKind.ERROR] and after == []
    msg = events[0].message
    assert f"cut short at byte {cut:,} of {len(mkv.data):,}" in msg
    assert f"after {_times()[n - 1] / 1e6:.1f} s" in msg and f"{n} depth frames before the damage were recovered" in msg
    assert problems == [msg] and info.extra["problems"] == [msg]
    assert info.fps == 30.0 and info.can_seek and info.duration_s == pytest.approx(_times()[n - 1] / 1e6)


@pytest.mark.timeout(60)
def test_the_frames_of_a_truncated_mkv_come_through_open_source_as_the_app_reads_them(tmp_path):
    _, mkv, frames = _synthetic(tmp_path)
    path = tmp_path / "cut.mkv"
    path.write_bytes(mkv.data[: int(len(mkv.data) * 0.94)])
    n = mkv.frames_before(int(len(mkv.data) * 0.94))
    info, got, events, _, problems = _play(open_source(str(path), speed=None))
    assert len(got) == n and all(np.array_equal(f.depth, want) for f, want in zip(got, frames))
    assert len(events) == 1 and "cut short" in events[0].message and problems == [events[0].message]
    looped = open_source(str(path), speed=None, loop=True)
    with looped:
        ts = [looped.read().device_ts_us for _ in range(2 * n + 1)]
        events = looped.poll_events()
    assert ts == [f.device_ts_us for f in got] * 2 + [got[0].device_ts_us]
    assert [e.kind for e in events] == [EventKind.ERROR, EventKind.LOOPED, EventKind.LOOPED]  # said once, not per loop


@pytest.mark.timeout(60)
def test_a_recovered_recording_seeks_by_time(tmp_path):
    _, mkv, frames = _synthetic(tmp_path)
    path = tmp_path / "cut.mkv"
    path.write_bytes(mkv.data[: len(mkv.data) * 3 // 4])
    with MkvSource(path) as src:
        src.seek((_times()[5] - 1) / 1e6)  # file time: just before frame 5
        f = src.read()
        assert f.device_ts_us == _times()[5] + OFFSET_US and np.array_equal(f.depth, frames[5])
        src.seek(0.0)
        assert src.read().device_ts_us == _times()[0] + OFFSET_US
        src.seek(60.0)
        with pytest.raises(EndOfStream):
            src.read()


@pytest.mark.timeout(60)
def test_a_block_claiming_more_bytes_than_the_file_has_loses_that_frame_only(tmp_path):
    _, mkv, frames = _synthetic(tmp_path)
    data = bytearray(mkv.data)
    block = mkv.frame_ends[4] - 64 * 48 * 2 - 4 - 3  # the SimpleBlock of frame 4: ID, 2-byte size, header
    assert data[block] == 0xA3
    data[block + 1 : block + 3] = b"\x7f\xfe"  # 16 kB where the cluster holds 6 kB
    path = tmp_path / "huge_block.mkv"
    path.write_bytes(bytes(data))
    t0 = time.monotonic()
    info, got, events, _, _ = _play(MkvSource(path))
    assert time.monotonic() - t0 < 10
    # frame 4 is lost; reading goes on at the next cluster
    assert [f.device_ts_us for f in got] == [t + OFFSET_US for i, t in enumerate(_times()) if i != 4]
    assert "damaged at byte" in events[0].message and "larger than what holds it" in events[0].message


@pytest.mark.timeout(60)
def test_garbage_empty_files_and_impossible_sizes_are_a_clear_corrupt_file_at_once(tmp_path):
    _, mkv, _ = _synthetic(tmp_path, n=2)
    rng = np.random.default_rng(1)
    ebml_header_end = mkv.data.index(b"\x18\x53\x80\x67")
    cases = {
        "empty.mkv": (b"", "not a Matroska"),
        "random.mkv": (rng.bytes(5000), "not a Matroska"),
        "magic_then_garbage.mkv": (mkv_recover.EBML_MAGIC + b"\x00" + rng.bytes(5000), "header cannot be read"),
        "huge_header.mkv": (mkv_recover.EBML_MAGIC + b"\x01\xff\xff\xff\xff\xff\xff\xfe" + rng.bytes(100),
                            "header cannot be read"),
        "no_segment.mkv": (mkv.data[:ebml_header_end] + rng.bytes(3000), "no Matroska segment"),
        "huge_segment_no_tracks.mkv": (mkv.data[:ebml_header_end] + b"\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xfe",
                                       "before its track list"),
        "header_only.mkv": (mkv.data[: mkv.frame_ends[0] - 100], "before its first complete depth frame"),
    }
    for name, (data, why) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        t0 = time.monotonic()
        with pytest.raises(CorruptFile, match=why):
            MkvSource(path).open()
        assert time.monotonic() - t0 < 5, name


@pytest.mark.timeout(120)
def test_the_recovery_reader_survives_random_damage(tmp_path):
    """Flipped bytes anywhere: frames or a CorruptFile, never another exception or a hang."""
    _, mkv, _ = _synthetic(tmp_path, n=6, ir=True)
    rng = np.random.default_rng(7)
    path = tmp_path / "fuzz.mkv"
    header_len = mkv.frame_ends[0]
    for _ in range(300):
        data = bytearray(mkv.data[: int(rng.integers(1, len(mkv.data) + 1))])
        for _ in range(int(rng.integers(1, 6))):  # mostly in the headers, where it matters
            at = int(rng.integers(0, min(len(data), header_len + 200)))
            data[at] = int(rng.integers(0, 256))
        path.write_bytes(bytes(data))
        try:
            ix = mkv_recover.scan(path)
        except CorruptFile:
            continue
        assert len(ix.blocks) <= 6
        if ix.blocks:
            reader = mkv_recover.DepthReader(ix)
            assert reader.read(ix.blocks[-1]).shape == (ix.track.height, ix.track.width)
            reader.close()


def test_the_real_recording_cut_short_is_recovered_through_the_depth_frame_it_holds(mkv, tmp_path):
    data = mkv.read_bytes()
    with MkvSource(mkv) as src:
        whole = src.read()
        want_k = src.info.intrinsics
    path = tmp_path / "cut.mkv"
    path.write_bytes(data[: int(len(data) * 0.94)])
    info, got, events, _, problems = _play(MkvSource(path))
    assert [f.device_ts_us for f in got] == [800222] and np.array_equal(got[0].depth, whole.depth)
    assert (info.depth_mode, info.fps, info.width, info.height) == ("NFOV_UNBINNED", 5.0, 640, 576)
    assert info.intrinsics == want_k and got[0].intrinsics == want_k  # from the calibration.json attachment
    assert info.extra["start_timestamp_offset_us"] == 336277
    assert len(events) == 1 and "1 depth frame before the damage was recovered" in events[0].message
    path.write_bytes(data[: len(data) // 2])  # inside the depth frame: nothing to recover
    with pytest.raises(CorruptFile, match="before its first complete depth frame"):
        MkvSource(path).open()


_CUT_SCRIPT = """
import json, sys
from capture.errors import CaptureError
from capture.sources.base import EndOfStream
from capture.sources.mkv import MkvSource
data = open(sys.argv[1], "rb").read()
out = {}
for cut in map(int, sys.argv[3:]):
    path = sys.argv[2]
    open(path, "wb").write(data[:cut])
    try:
        with MkvSource(path) as src:
            ts = [f.device_ts_us for f in src]
            out[cut] = {"frames": ts, "events": [str(e) for e in src.poll_events()]}
    except CaptureError as exc:
        out[cut] = {"error": type(exc).__name__ + ": " + str(exc)}
sys.stderr.write(json.dumps(out))
"""


@pytest.mark.timeout(180)
def test_the_real_recording_cut_anywhere_opens_or_recovers_and_never_takes_the_process_down(mkv, tmp_path):
    """In a child process: on some cuts (the last byte missing) the SDK itself aborts the process."""
    size = mkv.stat().st_size
    cuts = [1, 4, 40, 1000, 1692, 5700, 7490, 7546, 224667, size // 2, 961955, 1_000_000, int(size * 0.94),
            1699243, 1699250, size - 1, size]
    run = subprocess.run([sys.executable, "-c", _CUT_SCRIPT, str(mkv), str(tmp_path / "cut.mkv"), *map(str, cuts)],
                         cwd=REPO, capture_output=True, text=True, timeout=170)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout == ""
    out = {int(k): v for k, v in json.loads(run.stderr).items()}
    for cut in cuts:
        r = out[cut]
        if cut < 961955:  # the depth frame ends at byte 961,955
            assert r.get("error", "").startswith("CorruptFile: "), (cut, r)
        else:
            assert r.get("frames") == [800222], (cut, r)
            assert (cut == size) == (r["events"] == []), (cut, r)


_STDOUT_SCRIPT = """
import sys
from capture.sources.base import EndOfStream
from capture.sources.mkv import MkvSource
import pyk4a
for path in sys.argv[1:]:
    pb = pyk4a.PyK4APlayback(path, thread_safe=False)  # straight to the SDK: it logs why it fails
    try:
        pb.open()
        pb.get_next_capture()
    except Exception:
        pass
    try:
        with MkvSource(path) as src:
            list(src)
    except Exception as exc:
        sys.stderr.write(f"{exc}\\n")
"""


@pytest.mark.timeout(120)
def test_the_sdks_error_lines_do_not_reach_stdout(tmp_path):
    path, mkv, _ = _synthetic(tmp_path)  # whole but without calibration: the SDK logs an [error]
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(mkv.data[: len(mkv.data) // 2])
    args = [sys.executable, "-c", _STDOUT_SCRIPT, str(path), str(cut)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("K4A_")}
    quiet = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=100)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout == ""
    # the same script with the SDK's logging asked for: the lines are there (so the test can see them)
    loud = subprocess.run(args, cwd=REPO, env={**env, "K4A_ENABLE_LOG_TO_STDOUT": "1"},
                          capture_output=True, text=True, timeout=100)
    assert "[error]" in loud.stdout


@pytest.mark.timeout(60)
def test_when_the_sdk_fails_part_way_the_rest_is_read_from_the_file(mkv, tmp_path):
    from capture.sources.k4a_common import load_pyk4a

    frames = [f.repeat(12, axis=0).repeat(10, axis=1) for f in depth_frames(8)]  # 640x576
    whole = write_depth_mkv(frames, _times(8), start_offset_us=OFFSET_US, calibration=real_calibration(mkv.read_bytes()))
    path = tmp_path / "whole.mkv"
    path.write_bytes(whole.data)
    info, by_sdk, events, _, _ = _play(MkvSource(path))
    assert "read_without_sdk" not in info.extra and events == []  # the SDK reads this one
    assert [f.device_ts_us for f in by_sdk] == [t + OFFSET_US for t in _times(8)]
    assert all(np.array_equal(f.depth, want) for f, want in zip(by_sdk, frames))
    src = MkvSource(path)
    src.open()
    real_next = src._pb.get_next_capture
    calls = []

    def failing():
        calls.append(1)
        if len(calls) > 3:
            raise load_pyk4a().K4AException("simulated damage")
        return real_next()

    src._pb.get_next_capture = failing
    info, got, events, _, problems = _play(src)
    assert [f.device_ts_us for f in got] == [f.device_ts_us for f in by_sdk]
    assert all(np.array_equal(f.depth, want) for f, want in zip(got, frames))
    assert [f.index for f in got] == list(range(8))
    assert len(events) == 1 and "past depth frame 3" in events[0].message and "5 depth frame(s)" in events[0].message
    assert problems == [events[0].message]


_CALIBRATION_SCRIPT = """
import sys
from capture.sources.mkv import MkvSource
with MkvSource(sys.argv[1]) as src:
    frames = list(src)
    print(len(frames), src.info.intrinsics is None, [str(e) for e in src.poll_events()])
"""


@pytest.mark.timeout(60)
def test_a_damaged_calibration_leaves_the_intrinsics_unknown_and_the_process_alive(mkv, tmp_path):
    """NUL bytes in calibration.json: pyk4a's Calibration.from_raw would crash the process on them."""
    data = bytearray(mkv.read_bytes())
    at = data.index(b'{"CalibrationInformation"') + 1400
    data[at : at + 256] = bytes(256)
    path = tmp_path / "bad_calibration.mkv"
    path.write_bytes(bytes(data))
    run = subprocess.run([sys.executable, "-c", _CALIBRATION_SCRIPT, str(path)], cwd=REPO,
                         capture_output=True, text=True, timeout=50)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "1 True []"  # the file is whole: its frame plays, no problem to report


@pytest.mark.timeout(60)
def test_damage_inside_a_recording_loses_only_the_frames_there(tmp_path):
    """The frames after a damaged cluster are read too (the next cluster is found again),
    and the message says which stretch of recording time is lost."""
    _, mkv, frames = _synthetic(tmp_path)
    data = bytearray(mkv.data)
    marker = b"\x1f\x43\xb6\x75"
    starts = [i for i in range(len(data)) if data[i:i + 4] == marker]
    assert len(starts) == N_FRAMES  # one cluster per frame
    data[starts[8]:starts[8] + 4] = b"\x00\x00\x00\x00"  # cluster 8's ID: no element starts with 0x00
    path = tmp_path / "damaged.mkv"
    path.write_bytes(bytes(data))
    ix = mkv_recover.scan(path)
    assert not ix.intact and len(ix.skipped) == 1 and ix.damage is None
    info, got, events, after, problems = _play(MkvSource(path))
    keep = [i for i in range(N_FRAMES) if i != 8]
    assert [f.device_ts_us for f in got] == [_times()[i] + OFFSET_US for i in keep]
    assert all(np.array_equal(f.depth, frames[i]) for f, i in zip(got, keep))
    assert [e.kind for e in events] == [EventKind.ERROR] and after == []
    msg = events[0].message
    t7, t9 = _times()[7] / 1e6, _times()[9] / 1e6
    assert f"at byte {starts[8]:,}" in msg and f"the frames from {t7:.1f} s to {t9:.1f} s are lost" in msg
    assert f"{N_FRAMES - 1} depth frames recovered" in msg and problems == [msg]


@pytest.mark.timeout(60)
def test_damaged_spots_with_no_cluster_after_them_keep_the_frames_before(tmp_path):
    _, mkv, frames = _synthetic(tmp_path)
    data = bytearray(mkv.data)
    marker = b"\x1f\x43\xb6\x75"
    starts = [i for i in range(len(data)) if data[i:i + 4] == marker]
    for s in starts[15:]:  # no cluster from 15 on is readable
        data[s:s + 4] = b"\x00\x00\x00\x00"
    path = tmp_path / "damaged.mkv"
    path.write_bytes(bytes(data))
    info, got, events, _, problems = _play(MkvSource(path))
    assert [f.device_ts_us for f in got] == [t + OFFSET_US for t in _times()[:15]]
    assert len(events) == 1 and "15 depth frames before the damage were recovered" in events[0].message


@pytest.mark.timeout(60)
def test_a_frame_changed_on_the_disk_is_shown_but_said_to_be_doubtful_when_its_cluster_has_a_crc(tmp_path):
    """k4arecord starts every cluster with a CRC-32: a changed pixel no longer matches it. The
    frame is kept (which bytes changed is not known; the cluster also holds colour and IR)
    and the message says which frames may be wrong; the others are vouched for."""
    path, mkv, frames = _synthetic(tmp_path, crc=True)
    ix = mkv_recover.scan(path)
    assert ix.intact and ix.crc_checked == N_FRAMES and ix.problem() is None
    data = bytearray(mkv.data)
    data[mkv.frame_ends[5] - 100] ^= 0x01  # one bit of one pixel of frame 5
    bad = tmp_path / "flipped.mkv"
    bad.write_bytes(bytes(data))
    info, got, events, _, problems = _play(MkvSource(bad))
    assert len(got) == N_FRAMES and sum(not np.array_equal(f.depth, w) for f, w in zip(got, frames)) == 1
    (msg,) = problems
    assert "do not match their CRC-32" in msg and f"(at {_times()[5] / 1e6:.1f} s) are shown but may be wrong" in msg
    assert "the 1 depth frame(s)" in msg and [e.kind for e in events] == [EventKind.ERROR]
