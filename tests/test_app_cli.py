"""`spader app`: the subcommand is registered, and --benchmark runs the window and exits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.timeout(90)


def test_app_subcommand_is_registered():
    from core.cli.main import SUBCOMMANDS, build_parser

    assert SUBCOMMANDS["app"][0] == "core.cli.app_cmd"
    args = build_parser("app").parse_args(["app", "--source", "synthetic", "--benchmark", "2"])
    assert args.source == "synthetic" and args.benchmark == 2.0


def test_the_cli_and_its_app_command_import_without_qt():
    """Qt is loaded only when the window starts (pytest-qt has loaded it in this process
    already, so the check runs in a fresh interpreter)."""
    code = (
        "import sys\n"
        "from core.cli.main import build_parser\n"
        "import core.cli.app_cmd\n"
        "build_parser('app').parse_args(['app', '--source', 'synthetic'])\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'app'))\n"
        "assert not bad, bad\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_benchmark_mode_prints_text_and_json(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    out_json = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli.main", "app", "--source", "synthetic", "--benchmark", "2",
         "--settings", str(tmp_path / "s.ini"), "--benchmark-json", str(out_json), "--threads", "1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=80,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    report = json.loads(lines[-1])
    assert report == json.loads(out_json.read_text())
    assert report["format"] == "spader-app-bench" and report["source"].startswith("Synthetic")
    assert report["display_fps"] > 5 and report["capture_fps"] > 5
    for key in ("scoring_fps", "dropped", "latency_ms", "display_latency_ms", "model", "device"):
        assert key in report
    text = "\n".join(lines[:-1])
    assert "display fps" in text and "capture fps" in text and "scoring fps" in text and "p95" in text


def test_benchmark_with_a_bad_source_does_not_hang(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli.main", "app", "--source", str(tmp_path / "nothing-here"), "--benchmark", "1",
         "--settings", str(tmp_path / "s.ini")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=80,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Cannot open the recording" in proc.stderr and "no such file" in proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["source"]  # fell back to the demo session or the synthetic stream
