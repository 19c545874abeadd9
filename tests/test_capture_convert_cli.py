import json
import re

import numpy as np
import pytest

from capture.convert import convert_mkv
from capture.session import SessionReader
from capture.sources.mkv import MkvSource
from core.cli.main import main
from tests.conftest import shared_path


def mkv_serial(path):
    """The serial stored in the MKV tags (K4A_DEVICE_SERIAL_NUMBER), read straight from the bytes."""
    m = re.search(rb"K4A_DEVICE_SERIAL_NUMBER.{2,4}?(\d{6,})", path.read_bytes(), re.S)
    assert m, "test asset has a serial tag"
    return m.group(1)


def test_convert_keeps_depth_and_leaves_out_the_serial(tmp_path):
    mkv = shared_path("azure_kinect", "recording.mkv")
    serial = mkv_serial(mkv)
    n, problems = convert_mkv(mkv, tmp_path / "s", subject_id="S01")
    assert (n, problems) == (1, [])
    r = SessionReader(tmp_path / "s")
    with MkvSource(mkv) as src:
        original = src.read()
    assert np.array_equal(r[0].depth, original.depth) and r[0].device_ts_us == original.device_ts_us
    m = r.meta
    assert (m.sensor, m.depth_mode, m.unit_mm, m.fps, m.subject_id) == ("Azure Kinect", "NFOV_UNBINNED", 1.0, 5.0, "S01")
    from capture.session.writer import public_intrinsics

    # kept to what scoring needs: factory values at full precision would identify the unit
    assert m.intrinsics == public_intrinsics(original.intrinsics) and m.intrinsics.fx == round(original.intrinsics.fx, 2)
    for f in (tmp_path / "s").rglob("*"):
        if f.is_file():
            assert serial not in f.read_bytes(), f"serial number leaked into {f}"
    assert "recording.mkv" not in (tmp_path / "s" / "session.json").read_text()


def test_spader_convert_command(tmp_path, capsys):
    mkv = shared_path("azure_kinect", "recording.mkv")
    assert main(["convert", str(mkv), str(tmp_path / "s"), "--subject", "S02"]) == 0
    assert "1 frames, 640x576 Azure Kinect" in capsys.readouterr().out
    assert SessionReader(tmp_path / "s").meta.subject_id == "S02"
    assert main(["convert", str(mkv), str(tmp_path / "s")]) == 2  # refuses to overwrite
    assert "already exists" in capsys.readouterr().err


def test_spader_convert_bad_input_has_no_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.mkv"
    bad.write_bytes(b"\x1a\x45\xdf\xa3" + b"\0" * 1000)
    assert main(["convert", str(bad), str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("spader convert: error:") and "truncated" in err and "Traceback" not in err
    assert not (tmp_path / "s").exists()


def test_spader_convert_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["convert", "--help"])
    assert e.value.code == 0 and "serial number" in capsys.readouterr().out


def test_bench_capture_quick_json(capsys):
    assert main(["bench-capture", "--quick", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["frames_read"] == r["frames_written"] > 0
    assert r["read_fps"] > 0 and r["write_fps"] > 0 and 0 < r["write_cpu_ms_per_frame"] < 1000
    assert r["thread_frames"] > 0 and 0 < r["thread_us_per_frame"] < 100_000
    assert r["bytes_per_frame"] > 10_000  # real 640x576 frames were written


def test_bench_capture_table(capsys, tmp_path):
    assert main(["bench-capture", "--quick", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for words in ("session read", "recorder write", "recorder CPU at 30 fps", "capture-thread overhead"):
        assert words in out
    assert list(tmp_path.iterdir()) == []  # temporary session removed
