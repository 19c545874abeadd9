"""Interrupted and damaged sessions: clear messages, and every frame before the damage."""

import numpy as np
import pytest

from capture.errors import CaptureError, CorruptFile
from capture.session import SessionMeta, SessionReader, SessionWriter
from capture.sources.synthetic import SyntheticSource


def record(path, n=6, close=True):
    frames = list(SyntheticSource(40, 30, n_frames=n, seed=2))
    w = SessionWriter.create(path, SessionMeta(sensor="synthetic", fps=30.0))
    for f in frames:
        w.append(f)
    if close:
        w.close()
    return frames


def test_garbage_row_in_index_keeps_every_frame(tmp_path):
    frames = record(tmp_path / "s")
    idx = tmp_path / "s" / "index.csv"
    lines = idx.read_text().splitlines(keepends=True)
    lines[3] = "2,fr#$%garbage\n"
    idx.write_text("".join(lines))
    r = SessionReader(tmp_path / "s")
    assert len(r) == 6 and r.recovered
    assert any("1 damaged row" in p for p in r.problems)
    assert r.device_ts_us[2] is None and r.device_ts_us[3] == frames[3].device_ts_us
    assert all(np.array_equal(r[i].depth, f.depth) for i, f in enumerate(frames))


def test_missing_or_truncated_index(tmp_path):
    frames = record(tmp_path / "s")
    idx = tmp_path / "s" / "index.csv"
    text = idx.read_bytes()
    idx.write_bytes(text[: len(text) - 10])  # cut inside the last row
    r = SessionReader(tmp_path / "s")
    assert len(r) == 6 and any("incomplete row" in p for p in r.problems)
    assert r.device_ts_us[:5] == [f.device_ts_us for f in frames[:5]] and r.device_ts_us[5] is None
    idx.unlink()
    r = SessionReader(tmp_path / "s")
    assert len(r) == 6 and any("index.csv is missing" in p for p in r.problems)
    assert np.array_equal(r[5].depth, frames[5].depth)


def test_damaged_frame_reads_frames_before_it(tmp_path):
    frames = record(tmp_path / "s")
    png = tmp_path / "s" / "frames" / "000003.png"
    png.write_bytes(png.read_bytes()[:50])
    r = SessionReader(tmp_path / "s")
    assert [np.array_equal(r[i].depth, frames[i].depth) for i in range(3)] == [True] * 3
    with pytest.raises(CorruptFile, match="session frame 3 is damaged.*truncated or damaged"):
        r[3]
    assert np.array_equal(r[4].depth, frames[4].depth)


def test_replay_reports_a_damaged_frame_once_and_goes_on(tmp_path):
    from capture.sources.session import SessionSource

    record(tmp_path / "s")
    png = tmp_path / "s" / "frames" / "000003.png"
    png.write_bytes(png.read_bytes()[:50])
    got: list[int | str] = []
    with SessionSource(tmp_path / "s") as src:
        for _ in range(6):
            try:
                got.append(src.read().index)
            except CorruptFile:
                got.append("damaged")
    assert got == [0, 1, 2, "damaged", 4, 5]


def test_missing_frame_file_is_reported_and_skipped(tmp_path):
    record(tmp_path / "s")
    (tmp_path / "s" / "frames" / "000002.png").unlink()
    r = SessionReader(tmp_path / "s")
    assert [e.index for e in r.entries] == [0, 1, 3, 4, 5]
    assert any("missing" in p for p in r.problems)


def test_unclosed_session_opens_with_leftover_temp_file(tmp_path):
    frames = record(tmp_path / "s", n=4, close=False)
    (tmp_path / "s" / "frames" / "000004.png.tmp").write_bytes(b"half a png")
    r = SessionReader(tmp_path / "s")
    assert not r.closed and r.recovered and len(r) == 4
    assert r.device_ts_us == [f.device_ts_us for f in frames]


@pytest.mark.parametrize("damage", ["missing", "garbage", "not ours"])
def test_damaged_header_is_a_clear_error(tmp_path, damage):
    record(tmp_path / "s", n=1)
    h = tmp_path / "s" / "session.json"
    if damage == "missing":
        h.unlink()
    elif damage == "garbage":
        h.write_text("{ not json")
    else:
        h.write_text('{"format": "something-else", "version": 1}')
    with pytest.raises(CorruptFile, match="session.json|header"):
        SessionReader(tmp_path / "s")


def test_not_a_folder(tmp_path):
    with pytest.raises(CaptureError, match="not found"):
        SessionReader(tmp_path / "nothing")
