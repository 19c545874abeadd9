"""The calibration file: a threshold tuned for one model on labelled data
(format ``spader-calibration``, version 1; docs/calibration-format.md).

The model file is never changed: the calibration names the model by the SHA-256 of its
architecture and tensors (``core.spader.checkpoint.model_digest``: a copy or a renamed file
is the same model), and a calibration for another model is refused.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path
from typing import Any

from core.errors import SpaderError, shown

FORMAT = "spader-calibration"
FORMAT_VERSION = 1


def model_sha256(model: Any) -> str:
    """The model's one digest (``core.spader.checkpoint.model_sha256``; imported when
    needed, so that reading a calibration does not load torch)."""
    from core.spader.checkpoint import model_sha256 as digest

    return digest(model)


def build_calibration(model: Any, result: Any, *, who: str | None, note: str = "") -> dict[str, Any]:
    """The calibration of a tuning result (core.tuning.tune.TuneResult)."""
    f, iv = result.frames, result.frames["intervals"]
    data = result.data
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "model": {"name": str(getattr(model, "name", "model")), "sha256": model_sha256(model),
                  "threshold_in_file": getattr(model, "threshold", None)},
        "threshold": float(result.threshold),
        "rule": str(result.rule), "rule_text": result.rule.describe(),
        "target": result.rule.value if result.rule.kind in ("sensitivity", "specificity", "cost") else None,
        "rates": {"sensitivity": f["rates"]["sensitivity"], "specificity": f["rates"]["specificity"],
                  "sensitivity_95": iv["sensitivity"], "specificity_95": iv["specificity"],
                  "threshold_95": iv.get("threshold"),
                  "per_class_caught": {c: {"rate": v["caught"], "ci95": iv["per_class_caught"].get(c)}
                                       for c, v in f["per_class"].items()},
                  "auroc": f["auroc"],
                  "attempts": None if result.attempts is None else
                  {k: result.attempts[k] for k in ("imitated", "not_imitated", "rates", "auroc")}},
        "bootstrap": {"unit": "subject", "replicates": iv["replicates"], "seed": iv["seed"]},
        "data": {"description": data.describe(), "sources": data.sources, "normal_class": data.normal,
                 "labels_sha256": data.labels_sha256, "frames": int(data.scores.size),
                 "normal_frames": f["normal"], "anomalous_frames": f["anomalous"], "subjects": f["subjects"],
                 "no_hand": f["no_hand"]},
        "who": (who or "").strip() or None,
        "when": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "note": " ".join(str(note).split()),
    }


def write_calibration(path: str | os.PathLike[str], calib: dict[str, Any]) -> Path:
    from core.private_files import write_private_json

    return write_private_json(path, calib, what="the calibration")


def read_calibration(path: str | os.PathLike[str], model: Any | None = None) -> dict[str, Any]:
    """A calibration file, checked; with ``model``, refused unless it is that model's."""
    p = Path(path)
    try:
        c = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpaderError(f"{p}: no such calibration file") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise SpaderError(f"{p}: not a readable calibration file ({exc})") from None
    except RecursionError:
        raise SpaderError(f"{p}: not a readable calibration file (nested too deeply)") from None
    if not isinstance(c, dict) or c.get("format") != FORMAT:
        raise SpaderError(f"{p}: not a calibration file (format {FORMAT!r} expected)")
    version = c.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise SpaderError(f"{p}: calibration format version {shown(version)} is not one this app reads")
    th = c.get("threshold")
    # abs(th) <= 1e6 is false for NaN and the infinities, and exact for an int of any length
    if isinstance(th, bool) or not isinstance(th, (int, float)) or not abs(th) <= 1e6:
        raise SpaderError(f"{p}: the threshold {shown(th)} is not a usable number")
    named = c.get("model")
    sha = named.get("sha256") if isinstance(named, dict) else None
    if not isinstance(sha, str) or len(sha) != 64:
        raise SpaderError(f"{p}: it names no model (model.sha256)")
    if model is not None and sha != model_sha256(model):
        raise SpaderError(f"{p} was tuned for another model ({shown(named.get('name'))}, "
                          f"SHA-256 {sha[:12]}…), not {getattr(model, 'name', 'this model')!r} "
                          f"({model_sha256(model)[:12]}…): tune this model instead")
    return c


def source_text(calib: dict[str, Any]) -> str:
    """How the window names a calibrated threshold: "tuned 2026-12-01 by op-3 · sensitivity 95 % [91, 98]"."""
    when = str(calib.get("when") or "")[:10]
    who = calib.get("who")
    who = who if isinstance(who, str) and who else "?"
    rates = calib.get("rates")
    rates = rates if isinstance(rates, dict) else {}
    kind = str(calib.get("rule") or "").split("=")[0]
    if kind == "specificity":
        name, v, ivl = "specificity", rates.get("specificity"), rates.get("specificity_95")
    else:
        name, v, ivl = "sensitivity", rates.get("sensitivity"), rates.get("sensitivity_95")
    if not _rate(v):  # a damaged rate is left out of the text, never a crash
        return f"tuned {when} by {who}"
    rate = f" · {name} {100 * v:.0f} %"
    if isinstance(ivl, list) and len(ivl) == 2 and all(_rate(x) for x in ivl):
        rate += f" [{100 * ivl[0]:.0f}, {100 * ivl[1]:.0f}]"
    return f"tuned {when} by {who}{rate}"


def _rate(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1
