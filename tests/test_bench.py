"""`spader bench --tiny`: runs end to end and reports every field with sane values."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from core.cli.main import main



def _lat_ok(d: dict) -> None:
    assert d["n"] > 0
    assert 0 < d["p50"] <= d["p95"] <= d["p99"] <= d["max"] + 1e-9


@pytest.mark.slow
def test_bench_tiny_writes_a_complete_report(tmp_path: Path, capsys) -> None:
    path = tmp_path / "bench.json"
    assert main(["bench", "--tiny", "--device", "cpu", "--json", str(path), "--seconds", "2"]) == 0
    table = capsys.readouterr().out
    assert "scorer latency" in table and "throughput" in table and "replay" in table and "Grad-CAM" in table
    r = json.loads(path.read_text())
    assert r["format"] == "spader-bench" and r["version"] == 1 and r["tiny"] is True
    assert r["model"]["input_size"] == 32 and r["model"]["parameters"] > 0 and r["model"]["m_samples"] == 5
    assert r["host"]["cpu_count"] >= 1 and r["host"]["torch"]
    assert set(r["targets"]) == {"cpu_fps_batch1_min", "cpu_fps_batch1_three_regressors_min", "replay_e2e_p95_ms_max",
                                 "replay_dropped_steady_max", "gradcam_speedup_min"}
    cpu = r["devices"]["cpu"]
    _lat_ok(cpu["latency_ms"])
    _lat_ok(cpu["frame_latency_ms"])
    assert cpu["latency_p50_ms_by_threads"]["1"] > 0
    tp = cpu["throughput"]
    assert set(tp["fps_by_batch"]) == {"1", "2", "4", "8", "16", "32", "64"}
    assert all(v > 0 for v in tp["fps_by_batch"].values())
    assert tp["best_fps"] == max(tp["fps_by_batch"].values()) and tp["best_batch"] in (1, 2, 4, 8, 16, 32, 64)
    rp = cpu["replay"]
    assert rp["fps"] == 30 and rp["frames_produced"] == 60 and 0 < rp["frames_scored"] <= 60
    assert 0 <= rp["dropped_steady"] <= rp["steady_frames"] == 30
    assert rp["dropped_total"] == rp["frames_produced"] - rp["frames_scored"]
    assert rp["hand_fraction"] > 0.5 and not rp["errors"]
    assert 0 < rp["e2e_ms"]["p50"] <= rp["e2e_ms"]["p95"] <= rp["e2e_ms"]["p99"]
    gc = cpu["gradcam"]
    assert gc["batch"] == 6 and gc["ours_ms"]["p50"] > 0 and gc["forward_ms_p50"] > 0
    if gc["captum_ms"] is None:
        assert "captum" in gc["note"]
    else:
        assert gc["max_abs_diff"] <= 1e-5 and gc["speedup"] > 0 and math.isfinite(gc["speedup_beyond_forward"])
    assert cpu["compile"]["status"] == "skipped" and cpu["half"]["status"] == "skipped"
    assert set(cpu["targets_met"]) == {"fps_batch1", "fps_batch1_three_regressors", "replay_e2e_p95",
                                       "replay_no_drops", "gradcam_speedup"}
    # the backends side by side: every installed one, both models, PyTorch's scores
    assert cpu["backend"].startswith("onnxruntime CPU") and cpu["backend_note"] == ""
    be = cpu["backends"]
    assert be["backends"][0] == "torch" and "onnxruntime" in be["backends"]
    for label in ("bundled", "three regressors"):
        rows = [row for row in be["rows"].values() if row["model"] == label]
        assert {row["backend"] for row in rows} == set(be["backends"])
        assert {row["threads"] for row in rows} == set(be["threads"])
        for row in rows:
            assert row["status"] == "ok" and row["fps"] > 0 and row["max_abs_score_diff_vs_torch"] <= 1e-4
            assert row["speedup_vs_torch"] > 0
        fastest = be["rows"][be["fastest"][label]]
        assert fastest["latency_ms"]["p50"] == min(row["latency_ms"]["p50"] for row in rows)
    stages = cpu["stages"]["p50_ms"]
    assert stages["whole scoring call"] > 0 and all(v >= 0 for v in stages.values())
    assert {"preprocess", "encoder", "decoder x 5", "regressor conv stack x 6"} <= set(stages)
    assert "backends side by side" in table and "where the time goes" in table
