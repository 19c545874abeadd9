"""The import rules of pyproject.toml ([tool.importlinter]): core never imports the GUI or
Qt, capture never imports core, app or torch, and app reaches the method only through the
runtime (so the window cannot compute a score)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_import_rule_holds() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(lint), str(ROOT / "pyproject.toml"), "--no-cache"], cwd=ROOT,
                         capture_output=True, text=True, timeout=240)
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    assert "Contracts: 3 kept, 0 broken." in report, report
