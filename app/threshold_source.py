"""Where the verdict threshold in force came from, remembered per model between runs.

Four kinds: ``model`` (the threshold in the model file), ``default`` (the model has none:
0), ``manual`` (set by hand in the window: who and when) and ``calibration`` (a tuned
calibration file, docs/calibration-format.md, re-read and checked against the model at
every start). The window shows the text everywhere it shows a threshold, e.g.
"tuned 2026-12-01 by op-3 · sensitivity 95 % [91, 98]" or "manual override by op-3".
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ThresholdSource:
    kind: str  # model | default | manual | calibration
    text: str
    who: str | None = None
    when: str | None = None
    path: str | None = None  # the calibration file

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: Any) -> "ThresholdSource | None":
        try:
            d = json.loads(str(text))
        except (TypeError, ValueError):
            return None
        if not isinstance(d, dict) or not isinstance(d.get("kind"), str):
            return None
        return cls(**{k: (None if d.get(k) is None else str(d.get(k))) for k in ("kind", "text", "who", "when", "path")})


def model_source(model: Any) -> ThresholdSource:
    if getattr(model, "threshold", None) is None:
        return ThresholdSource("default", "default (the model has no threshold)")
    return ThresholdSource("model", "model default")


def manual_source(who: str | None) -> ThresholdSource:
    who = (who or "").strip() or None
    return ThresholdSource("manual", "manual override" + (f" by {who}" if who else ""), who,
                           _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))


def calibration_source(calib: dict[str, Any], path: str) -> ThresholdSource:
    from core.tuning.calibration import source_text

    return ThresholdSource("calibration", source_text(calib), calib.get("who"), calib.get("when"), str(path))


def resolve(settings: Any, model: Any) -> tuple[float, ThresholdSource, str | None]:
    """The threshold to use for ``model`` now, its source, and a problem to tell the
    operator (a calibration that can no longer be used), or None."""
    from core.errors import SpaderError
    from core.tuning.calibration import read_calibration

    name = str(getattr(model, "name", "model"))
    base = float(model.threshold) if getattr(model, "threshold", None) is not None else 0.0
    src = settings.threshold_source_for(name)
    saved = settings.threshold_for(name)
    if src is not None and src.kind == "calibration" and src.path:
        try:
            calib = read_calibration(src.path, model)
        except SpaderError as exc:
            return base, model_source(model), f"The calibration in use could not be loaded ({exc}); using the model's threshold."
        return float(calib["threshold"]), calibration_source(calib, src.path), None
    if saved is not None:
        return saved, src if src is not None and src.kind == "manual" else ThresholdSource("manual", "manual override"), None
    return base, model_source(model), None
