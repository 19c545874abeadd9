"""Writes tests/data/demo_scores.json: the bundled model's scores on every demo frame.

Made once, before the method moved into core/spader (commit 882d760), so the test that
reads it proves a refactor left every score as it was. Rerun only on purpose (a new
bundled model or demo): `.venv/bin/python tests/data/make_demo_reference.py`.
"""

from __future__ import annotations

import json
from pathlib import Path

from capture.session.reader import SessionReader
from core.assets import default_model_path, demo_session_path

try:  # the layout after the move, then the one before it
    from core.spader.checkpoint import load_model
    from core.runtime.scorer import FrameScorer
except ImportError:  # pragma: no cover
    from core.spader.checkpoint import load_model  # type: ignore[no-redef]
    from core.runtime.scorer import FrameScorer  # type: ignore[no-redef]


def demo_scores() -> dict[str, dict[str, float] | None]:
    scorer = FrameScorer(load_model(default_model_path()), device="cpu")
    out: dict[str, dict[str, float] | None] = {}
    for frame in SessionReader(demo_session_path()):
        (res,) = scorer.score_frames([frame])
        out[str(frame.index)] = dict(res.scores) if res.has_hand else None
    return out


if __name__ == "__main__":
    path = Path(__file__).with_name("demo_scores.json")
    path.write_text(json.dumps(demo_scores(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {path}")
