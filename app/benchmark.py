"""``spader app --benchmark SECONDS``: run the real window for a while and report its speeds.

The window runs exactly as an operator would see it (same controller, worker, overlays
and plot; offscreen when there is no display). After a warm-up second, the counters are
read at the start and the end of the measured span:

- display fps: depth frames drawn by the window per second;
- capture fps: frames the source handed on per second;
- scoring fps: frames scored per second (with or without a hand);
- dropped: frames never scored (live mode scores only the newest; replay drops none);
- latency: capture -> score published (worker) and capture -> drawn (window), p50/p95;
- cpu: process CPU time per wall second (1.0 = one core busy).
"""

from __future__ import annotations

import json
import os
import platform
import time
from typing import Any

import numpy as np


def _pct(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "n": 0}
    a = np.asarray(values, dtype=np.float64)
    p50, p95 = np.percentile(a, (50, 95))
    return {"p50": float(p50), "p95": float(p95), "n": int(a.size)}


def run_benchmark(window, seconds: float, warmup_s: float = 1.0) -> dict[str, Any]:
    """Run the Qt event loop for ``warmup_s + seconds`` and measure the window."""
    from PySide6.QtCore import QEventLoop, QTimer

    c = window.controller
    marks: dict[str, Any] = {}

    def snapshot() -> dict[str, Any]:
        st = c.stats()
        return {
            "t": time.monotonic(),
            "cpu": time.process_time(),
            "drawn": window.depth_view.frames_drawn,
            "captured": st["captured"],
            "scored": st["scored"],
            "dropped": st["dropped"],
            "delivered": len(c.delivered),
            "display_lat": len(window.display_latencies_ms),
            "errors": st["worker_errors"],
        }

    def start() -> None:
        marks["start"] = snapshot()
        c.delivered.clear()
        window.display_latencies_ms.clear()

    loop = QEventLoop()
    QTimer.singleShot(int(warmup_s * 1000), start)
    QTimer.singleShot(int((warmup_s + seconds) * 1000), loop.quit)
    loop.exec()
    end = snapshot()
    s = marks.get("start") or end
    span = max(1e-6, end["t"] - s["t"])
    points = list(c.delivered)
    score_lat = [p.latency_ms for p in points]
    disp_lat = list(window.display_latencies_ms)
    st = c.stats()
    return {
        "format": "spader-app-bench",
        "format_version": 1,
        "seconds": round(span, 3),
        "source": c.desc.label if c.desc else None,
        "mode": c.mode,
        "model": c.model_name,
        "device": c.device,
        "backend": st.get("backend", ""),
        "backend_note": st.get("backend_note", ""),
        "torch_threads": c.threads,
        "overlay": window.depth_view.overlay_name,
        "display_fps": (end["drawn"] - s["drawn"]) / span,
        "capture_fps": (end["captured"] - s["captured"]) / span,
        "scoring_fps": (end["scored"] - s["scored"]) / span,
        "frames_scored": end["scored"] - s["scored"],
        "frames_with_hand": sum(1 for p in points if p.has_hand),
        "dropped": end["dropped"] - s["dropped"],
        "worker_errors": end["errors"] - s["errors"],
        "latency_ms": _pct(score_lat),
        "display_latency_ms": _pct(disp_lat),
        "cpu_cores_used": (end["cpu"] - s["cpu"]) / span,
        "threshold": st["threshold"],
        "host": {"cpus": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
                 "qpa": os.environ.get("QT_QPA_PLATFORM", "")},
    }


def format_report(r: dict[str, Any]) -> str:
    def ms(d: dict[str, Any]) -> str:
        if d.get("p50") is None:
            return "n/a"
        return f"p50 {d['p50']:.1f} ms, p95 {d['p95']:.1f} ms ({d['n']} frames)"

    lines = [
        f"SPADER app benchmark: {r['seconds']:.1f} s on {r['source']} ({r['mode']} mode), "
        f"model {r['model']} on {r['device']} ({r.get('backend') or 'PyTorch'}), overlay {r['overlay']}",
        f"  display fps        {r['display_fps']:6.1f}",
        f"  capture fps        {r['capture_fps']:6.1f}",
        f"  scoring fps        {r['scoring_fps']:6.1f}   ({r['frames_scored']} frames, {r['frames_with_hand']} with a hand)",
        f"  dropped frames     {r['dropped']:6d}",
        f"  latency capture→score   {ms(r['latency_ms'])}",
        f"  latency capture→screen  {ms(r['display_latency_ms'])}",
        f"  cpu                {r['cpu_cores_used']:6.2f} cores of {r['host']['cpus']}",
    ]
    if r.get("backend_note"):
        lines.append(f"  note: {r['backend_note']}")
    if r["worker_errors"]:
        lines.append(f"  scoring errors     {r['worker_errors']:6d}")
    return "\n".join(lines)


def to_json(r: dict[str, Any]) -> str:
    return json.dumps(r, sort_keys=True)
