import csv
import json

import cv2
import numpy as np
import pytest

from capture.errors import BadFrame, CaptureError, SessionExists
from capture.frame import DepthFrame, Intrinsics
from capture.session import FORMAT_VERSION, SessionMeta, SessionReader, SessionWriter
from capture.sources.synthetic import SyntheticSource

K = Intrinsics(250.0, 251.0, 40.0, 30.0, 80, 60)


def record(path, n=8, unit=1.0, **meta):
    src = SyntheticSource(80, 60, n_frames=n, seed=5, unit_mm=unit)
    frames = list(src)
    m = SessionMeta(sensor="synthetic", unit_mm=unit, fps=30.0, intrinsics=K, **meta)
    with SessionWriter.create(path, m) as w:
        for f in frames:
            w.append(f)
    return frames


def test_round_trip_is_lossless_with_timestamps_and_metadata(tmp_path):
    settings = {"verdict": {"threshold": -12.5, "scorer": "recon"}}
    frames = record(tmp_path / "s", unit=0.125, subject_id="P-0042", operator="op1", settings=settings)
    r = SessionReader(tmp_path / "s")
    assert len(r) == 8 and r.closed and not r.recovered and r.version == FORMAT_VERSION
    for i, f in enumerate(frames):
        g = r[i]
        assert np.array_equal(g.depth, f.depth) and g.depth.dtype == np.uint16
        assert (g.index, g.device_ts_us, g.host_ts_ns, g.unit_mm) == (i, f.device_ts_us, f.host_ts_ns, 0.125)
        assert g.intrinsics == K
    assert r[-1].index == 7
    assert r.device_ts_us == [f.device_ts_us for f in frames]
    m = r.meta
    assert (m.sensor, m.subject_id, m.operator, m.unit_mm, m.width, m.height) == (
        "synthetic", "P-0042", "op1", 0.125, 80, 60)
    assert m.settings == settings and m.start_time and m.app_version
    assert r.time_s(3) == pytest.approx(0.1) and r.position_at(0.1) == 3
    with pytest.raises(IndexError):
        r[8]


def test_device_time_keeps_increasing_when_the_source_loops_while_recording(tmp_path):
    """A looped replay starts its device time over; the recording continues its time line
    one frame step on instead, and frames without a device time stay without one."""
    raw = [1000, 34333, 67666, 1000, 34333, None, 67666, 5000]
    with SessionWriter.create(tmp_path / "s", SessionMeta(sensor="synthetic", fps=30.0)) as w:
        for ts in raw:
            w.append(DepthFrame(np.zeros((4, 4), np.uint16), device_ts_us=ts))
    r = SessionReader(tmp_path / "s")
    assert r.device_ts_us == [1000, 34333, 67666, 100999, 134332, None, 167665, 200998]
    times = [t for t in r.device_ts_us if t is not None]
    assert all(b > a for a, b in zip(times, times[1:]))


def test_files_are_readable_without_our_code(tmp_path):
    frames = record(tmp_path / "s", n=3)
    header = json.loads((tmp_path / "s" / "session.json").read_text())
    assert header["format"] == "spader-session" and header["version"] == 2
    assert header["closed"] is True and header["frame_count"] == 3
    rows = list(csv.DictReader(open(tmp_path / "s" / "index.csv")))
    assert [r["file"] for r in rows] == ["frames/000000.png", "frames/000001.png", "frames/000002.png"]
    assert int(rows[2]["device_ts_us"]) == frames[2].device_ts_us
    img = cv2.imread(str(tmp_path / "s" / rows[1]["file"]), cv2.IMREAD_UNCHANGED)
    assert img.dtype == np.uint16 and np.array_equal(img, frames[1].depth)


def test_first_frame_fills_size_and_intrinsics(tmp_path):
    f = DepthFrame(np.ones((6, 9), np.uint16), intrinsics=K)
    with SessionWriter.create(tmp_path / "s") as w:
        w.append(f)
    m = SessionReader(tmp_path / "s").meta
    assert (m.width, m.height, m.intrinsics) == (9, 6, K)


def test_writer_rejects_mismatched_frames_and_existing_folders(tmp_path):
    w = SessionWriter.create(tmp_path / "s", SessionMeta(unit_mm=1.0))
    w.append(DepthFrame(np.zeros((4, 4), np.uint16)))
    with pytest.raises(BadFrame, match="unit"):
        w.append(DepthFrame(np.zeros((4, 4), np.uint16), unit_mm=0.125))
    with pytest.raises(BadFrame, match="5x4"):
        w.append(DepthFrame(np.zeros((4, 5), np.uint16)))
    w.close()
    with pytest.raises(CaptureError, match="closed"):
        w.append(DepthFrame(np.zeros((4, 4), np.uint16)))
    assert len(SessionReader(tmp_path / "s")) == 1
    with pytest.raises(SessionExists, match="already exists"):
        SessionWriter.create(tmp_path / "s")
    (tmp_path / "empty").mkdir()
    SessionWriter.create(tmp_path / "empty").close()  # an empty folder is fine


@pytest.mark.parametrize("bad", ["Jane Doe", "", "   ", "x" * 70, "a/b", "-P1", "12.03.1980 Müller"])
def test_writer_refuses_a_subject_id_that_is_not_a_pseudonym_and_writes_nothing(tmp_path, bad):
    with pytest.raises(CaptureError, match="pseudonym of 1-64 letters"):
        SessionWriter.create(tmp_path / "s", SessionMeta(sensor="synthetic", subject_id=bad))
    assert not (tmp_path / "s").exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(CaptureError, match="never a name"):
        SessionWriter.create(tmp_path / "empty", SessionMeta(subject_id=bad))
    assert list((tmp_path / "empty").iterdir()) == []


def test_writer_accepts_a_pseudonym_or_no_subject(tmp_path):
    record(tmp_path / "a", n=2, subject_id=" P-0007_b.2 ")
    assert SessionReader(tmp_path / "a").meta.subject_id == "P-0007_b.2"  # stored without the spaces
    record(tmp_path / "b", n=2, subject_id="x" * 64)
    record(tmp_path / "c", n=2)
    assert SessionReader(tmp_path / "c").meta.subject_id is None


def test_newer_format_version_is_refused_politely(tmp_path):
    record(tmp_path / "s", n=1)
    p = tmp_path / "s" / "session.json"
    h = json.loads(p.read_text())
    h["version"] = 99
    p.write_text(json.dumps(h))
    with pytest.raises(CaptureError, match="format version 99.*Update the app"):
        SessionReader(tmp_path / "s")


def test_prefetching_iteration_matches_random_access(tmp_path):
    record(tmp_path / "s", n=7)
    r = SessionReader(tmp_path / "s")
    a = [f.index for f in r.iter_frames(prefetch=2)]
    b = [f.index for f in r.iter_frames(start=3, prefetch=0)]
    assert a == list(range(7)) and b == [3, 4, 5, 6]
    assert all(np.array_equal(f.depth, r[f.index].depth) for f in r.iter_frames(start=5))
