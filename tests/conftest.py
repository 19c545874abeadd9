"""Shared fixtures. Tests that read ../shared/data skip cleanly when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if "SPADER_CACHE_DIR" not in os.environ:  # exported scoring graphs: never the user's own cache
    import atexit
    import shutil
    import tempfile

    os.environ["SPADER_CACHE_DIR"] = tempfile.mkdtemp(prefix="spader-test-graphs-")
    atexit.register(shutil.rmtree, os.environ["SPADER_CACHE_DIR"], True)

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SPADER_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def shared_path(*parts: str) -> Path:
    """Path under ../shared/data, or skip the test when that file or folder is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not present: {path}")
    return path


@pytest.fixture
def shared_data() -> type:
    """Call as ``shared_data("mnist10k.npz")`` in a test; skips when absent."""
    return shared_path
