"""`spader score`: batch re-scoring of recordings into the documented files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from capture.frame import DepthFrame
from capture.pngio import encode_png16
from capture.session import SessionMeta, SessionWriter
from core.spader.checkpoint import save_model
from core.cli.main import main
from core.runtime.scorer import FrameScorer
from core.runtime.rescore import rescore
from core.runtime.score_files import SCORE_COLUMNS, VERDICT_COLUMNS
from core.spader.scorers import SCORER_KEYS
from core.runtime.verdict import verdict_settings_to_session, VerdictSettings
from support import FakeSource, pose_frames, tiny_model


W, H = 160, 144
N = 24


def recording_frames() -> list[DepthFrame]:
    frames = pose_frames(N, width=W, height=H)
    empty = np.zeros((H, W), np.uint16)
    for i in (10, 11):  # two frames without anything in range: no hand
        frames[i] = DepthFrame(empty, 1.0, i, frames[i].device_ts_us)
    return frames


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    return save_model(tiny_model("tiny"), tmp_path_factory.mktemp("model") / "tiny.safetensors")


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rec") / "session"
    meta = SessionMeta(sensor="synthetic", fps=30.0, settings=verdict_settings_to_session(VerdictSettings(normal_hold_s=0.2)))
    w = SessionWriter.create(path, meta)
    for f in recording_frames():
        w.append(f)
    w.close()
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_score_a_session_writes_the_documented_files(session: Path, model_file: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    rc = main(["score", str(session), "--model", str(model_file), "--out", str(out), "--batch", "5",
               "--overlays", "--video", "--threads", "1"])
    assert rc == 0
    assert "scored 24 frames" in capsys.readouterr().out
    rows = read_csv(out / "scores.csv")
    assert list(rows[0].keys()) == list(SCORE_COLUMNS)
    assert [int(r["index"]) for r in rows] == list(range(N))
    no_hand = [r for r in rows if r["has_hand"] == "0"]
    assert [int(r["index"]) for r in no_hand] == [10, 11]
    assert all(r["spader"] == "" and r["verdict"] for r in no_hand)
    hand = [r for r in rows if r["has_hand"] == "1"]
    assert all(all(r[k] != "" for k in SCORER_KEYS) and r["smoothed"] != "" and r["box_x1"] != "" for r in hand)
    assert rows[1]["device_ts_us"] == "33333" and float(rows[3]["t_s"]) == pytest.approx(0.1)
    segs = read_csv(out / "verdicts.csv")
    assert list(segs[0].keys()) == list(VERDICT_COLUMNS)
    assert segs[0]["verdict"] == "PENDING" and int(segs[0]["start_index"]) == 0
    assert int(segs[-1]["end_index"]) == N - 1
    assert sum(int(s["frames"]) for s in segs) == N
    s = json.loads((out / "summary.json").read_text())
    assert s["format"] == "spader-scores" and s["version"] == 1 and s["complete"] is True
    assert s["counts"] == {"frames": N, "with_hand": N - 2, "no_hand": 2, "read_errors": 0, "unit_suspect": 0,
                           "errors": 0}
    assert s["warnings"] == []
    assert s["model"]["name"] == "tiny" and s["threshold"] == 0.0 and s["threshold_source"] == "model"
    assert s["verdict_settings"]["normal_hold_s"] == 0.2  # taken from the session header
    assert sum(s["verdict_fraction"].values()) == pytest.approx(1.0)
    assert s["time_s"] == pytest.approx(N / 30.0)
    assert s["recording"]["kind"] == "session" and s["final_verdict"] == rows[-1]["verdict"]
    assert len(list((out / "overlays").glob("*.png"))) == N
    assert (out / "overlay.mp4").stat().st_size > 1000
    # refuses to overwrite without --force
    assert main(["score", str(session), "--model", str(model_file), "--out", str(out)]) == 2
    assert "already holds scores" in capsys.readouterr().err


def test_batch_rescoring_equals_scoring_frame_by_frame(session: Path, tmp_path: Path) -> None:
    model = tiny_model("tiny")
    rescore(session, tmp_path / "o", model, device="cpu", batch=7, progress=False)
    rows = read_csv(tmp_path / "o" / "scores.csv")
    scorer = FrameScorer(tiny_model("tiny"), device="cpu")
    for f, row in zip(recording_frames(), rows):
        r = scorer.score_frame(f)
        assert int(row["index"]) == r.index and int(row["has_hand"]) == int(r.has_hand)
        for k in r.scores:
            assert float(row[k]) == pytest.approx(r.scores[k], abs=1e-5)


def test_an_interrupted_run_keeps_the_rows_it_wrote(tmp_path: Path) -> None:
    k = 13
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        rescore(None, out, tiny_model("tiny"), device="cpu", batch=4, progress=False,
                source=FakeSource(recording_frames(), fail_at={k + 1}, error=KeyboardInterrupt))  # Ctrl-C on read k + 1
    rows = read_csv(out / "scores.csv")
    assert [int(r["index"]) for r in rows] == list(range(k))
    s = json.loads((out / "summary.json").read_text())
    assert s["complete"] is False and s["interrupted"] is True and s["counts"]["frames"] == k
    segs = read_csv(out / "verdicts.csv")
    assert sum(int(x["frames"]) for x in segs) == k


def test_image_folder_with_a_unit_and_damaged_frames(tmp_path: Path, model_file: Path) -> None:
    folder = tmp_path / "pngs"
    folder.mkdir()
    for f in recording_frames()[:6]:  # store in 0.5 mm units
        (folder / f"{f.index}.png").write_bytes(encode_png16((f.depth.astype(np.uint32) * 2).clip(0, 65535).astype(np.uint16)))
    (folder / "3.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    assert main(["score", str(folder), "--model", str(model_file), "--out", str(out), "--unit-mm", "0.5", "--quiet"]) == 0
    rows = read_csv(out / "scores.csv")
    assert [int(r["index"]) for r in rows] == [0, 1, 2, 4, 5]
    s = json.loads((out / "summary.json").read_text())
    assert s["counts"]["read_errors"] == 1 and s["errors"] and s["recording"]["kind"] == "images"
    ref = FrameScorer(tiny_model("tiny"), device="cpu").score_frame(recording_frames()[0])
    assert float(rows[0]["spader"]) == pytest.approx(ref.scores["spader"], abs=1e-4)
    # without --unit-mm, a data set's class folder takes the unit its dataset.json gives
    ds = tmp_path / "ds"
    ds.mkdir()
    folder.rename(ds / "pigeon")
    (ds / "dataset.json").write_text(json.dumps({"unit_mm": 0.5}))
    out2 = tmp_path / "out2"
    assert main(["score", str(ds / "pigeon"), "--model", str(model_file), "--out", str(out2), "--quiet"]) == 0
    assert json.loads((out2 / "summary.json").read_text())["recording"]["unit_mm"] == 0.5
    assert float(read_csv(out2 / "scores.csv")[0]["spader"]) == pytest.approx(ref.scores["spader"], abs=1e-4)


def test_missing_default_model_and_bad_recording_are_clear_errors(tmp_path: Path, monkeypatch, capsys, session) -> None:
    import core.assets

    monkeypatch.setattr(core.assets, "DEFAULT_MODEL", tmp_path / "nope.safetensors")
    assert main(["score", str(session), "--out", str(tmp_path / "o")]) == 2
    assert "default model is missing" in capsys.readouterr().err
    model = save_model(tiny_model("tiny"), tmp_path / "m.safetensors")
    assert main(["score", str(tmp_path / "missing.txt"), "--model", str(model), "--out", str(tmp_path / "o2")]) == 2
    assert "error" in capsys.readouterr().err


def test_overlays_use_the_windows_colour_blind_safe_verdict_colours() -> None:
    from app import theme
    from core.runtime.overlay import render_overlay
    from core.runtime.palette import VERDICT_RGB, rgb_hex
    from core.runtime.verdict import Verdict, VerdictState

    assert theme.VERDICT_COLORS == {k: rgb_hex(v) for k, v in VERDICT_RGB.items()}
    frame = recording_frames()[0]
    r = FrameScorer(tiny_model("tiny"), device="cpu").score_frame(frame)
    assert r.box is not None
    for verdict in (Verdict.NORMAL, Verdict.ANOMALY, Verdict.NO_HAND, Verdict.PENDING):
        img = render_overlay(r, VerdictState(verdict, 0.0, 0.0, 0.0, False))
        x0, y0, x1, y1 = r.box
        red, green, blue = VERDICT_RGB[verdict.value]
        assert tuple(img[int(y1) - 1, (int(x0) + int(x1)) // 2]) == (blue, green, red)  # the box's lower edge, BGR
