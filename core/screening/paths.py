"""Where screenings live: one data folder (a setting; by default under the user's data
directory), one sub-folder per screening, and the audit trail at its top."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "SPADER_DATA_DIR"


def default_data_dir() -> Path:
    """$SPADER_DATA_DIR, else $XDG_DATA_HOME/spader/screenings, else ~/.local/share/spader/screenings."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "spader" / "screenings"
