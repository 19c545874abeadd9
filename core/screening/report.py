"""The PDF report of a screening, made from its folder alone (the same PDF again later).

reportlab draws it: a pure-Python, long-kept PDF library that needs no Qt (the core never
imports Qt, so Qt's QPdfWriter would have put the report in the window only) and draws
the score plot with its own vector graphics (no matplotlib). Contents: the subject's
pseudonym, date and time, operator, site, protocol and version, each task's model (name,
version, SHA-256) and threshold with its source, camera and depth mode, the attempts and
outcomes, the score plot with the threshold, attempt windows and verdict bands (each
labelled in words, not by colour alone), one key frame per task (depth with Grad-CAM at
the decisive moment, re-scored from the recorded frame when the model file is the one
recorded), the app version, the disclaimer and "page X of Y".
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

from core.errors import SpaderError
from core.private_files import write_private
from core.screening.record import read_events, read_results
from core.screening.store import ScreeningFolder, file_sha256

DISCLAIMER = ("Research software, not a medical device. This is a screening aid, not a diagnosis: "
              "the result does not replace a clinical assessment.")
VERDICT_FILL = {"NORMAL": (0.20, 0.62, 0.45), "ANOMALY": (0.85, 0.40, 0.25), "NO HAND": (0.85, 0.70, 0.25),
                "PENDING": (0.65, 0.65, 0.65)}


def _f(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _key_frame_png(folder: ScreeningFolder, header: dict[str, Any], task_id: str, t_end: float,
                   rows: list[dict[str, Any]]) -> tuple[bytes | None, str]:
    """The decisive frame of a task as a PNG (depth + Grad-CAM), and a caption."""
    import cv2
    import numpy as np

    from capture.session import SessionReader
    from core.runtime.overlay import render_overlay
    from core.runtime.scorer import FrameScorer
    from core.runtime.verdict import Verdict, VerdictState
    from core.spader.checkpoint import load_model, model_sha256

    timed = [(abs((_f(r["t_s"]) or 0.0) - t_end), int(r["index"]), r) for r in rows if _f(r["t_s"]) is not None]
    if not timed:
        return None, "no frame recorded"
    _, index, row = min(timed)
    try:
        reader = SessionReader(folder.session_path)
        dev = row.get("device_ts_us")
        position = next(i for i, e in enumerate(reader.entries)  # the same camera time, else number
                        if (e.device_ts_us == int(dev) if dev not in (None, "") else e.index == index))
        frame = reader[position]
    except Exception as exc:
        return None, f"frame {index} could not be read ({exc})"
    info = header.get("models", {}).get(task_id, {})
    path = Path(str(info.get("path", "")))
    state = VerdictState(Verdict(row["verdict"]) if row.get("verdict") else Verdict.PENDING,
                         _f(row.get("smoothed")), _f(row.get("spader")), float(row["t_s"]), False)
    caption = f"frame {index} at {float(row['t_s']):.1f} s"
    try:
        model = load_model(path) if path.is_file() else None
        # the model's digest; screenings recorded before it named the file's SHA-256
        named = info.get("sha256")
        if model is not None and (named == model_sha256(model) or named == file_sha256(path)):
            (result,) = FrameScorer(model, device="cpu").score_frames([frame])
            caption += ", Grad-CAM of the recorded model"
        else:
            raise FileNotFoundError
    except Exception:
        from core.runtime.results import FrameResult

        result = FrameResult(index=frame.index, frame_shape=frame.depth.shape, has_hand=False,
                             reason="the recorded model file is not here: no Grad-CAM", depth=frame.depth,
                             unit_mm=frame.unit_mm)
        caption += " (the recorded model file is not here or has changed: depth only)"
    img = render_overlay(result, state)
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(img))
    return (bytes(buf) if ok else None), caption


def _score_plot(rows: list[dict[str, Any]], attempts: list[dict[str, Any]], width: float, height: float) -> Any:
    from reportlab.graphics.shapes import Drawing, Line, PolyLine, Rect, String
    from reportlab.lib import colors

    d = Drawing(width, height)
    left, right, top, band_h, bottom = 44, 8, 14, 16, 34
    pw, ph = width - left - right, height - top - bottom - band_h - 6
    y0 = bottom + band_h + 6
    ts = [t for t in (_f(r["t_s"]) for r in rows) if t is not None]
    t_min, t_max = (min(ts), max(ts)) if ts else (0.0, 1.0)
    vals = [v for r in rows for v in (_f(r.get("spader")), _f(r.get("smoothed"))) if v is not None]
    thr = [_f(r.get("threshold")) for r in rows if _f(r.get("threshold")) is not None]
    vals += thr
    lo, hi = (min(vals), max(vals)) if vals else (-1.0, 1.0)
    span = max(hi - lo, 0.1)
    lo, hi = lo - 0.1 * span, hi + 0.1 * span

    def X(t: float) -> float:
        return left + pw * (t - t_min) / max(t_max - t_min, 1e-6)

    def Y(v: float) -> float:
        return y0 + ph * (v - lo) / (hi - lo)

    d.add(Rect(left, y0, pw, ph, fillColor=None, strokeColor=colors.grey, strokeWidth=0.5))
    for a in attempts:  # attempt windows, labelled
        s, e = _f(a.get("start_t")), _f(a.get("end_t"))
        if s is None or e is None:
            continue
        d.add(Rect(X(s), y0, max(X(e) - X(s), 0.5), ph, fillColor=colors.Color(0.3, 0.5, 0.9, alpha=0.12),
                   strokeColor=colors.Color(0.3, 0.5, 0.9), strokeWidth=0.6))
        d.add(String(X(s) + 2, y0 + ph - 9, f"attempt {a['number']}: {str(a.get('outcome')).replace('_', ' ')}",
                     fontSize=7, fillColor=colors.Color(0.1, 0.2, 0.6)))
    for key, colour, w in (("spader", colors.Color(0.55, 0.55, 0.55), 0.6), ("smoothed", colors.black, 1.2)):
        pts = [(X(t), Y(v)) for t, v in ((_f(r["t_s"]), _f(r.get(key))) for r in rows) if t is not None and v is not None]
        for i in range(0, len(pts), 400):  # long recordings: several lines
            seg = pts[max(0, i - 1): i + 400]
            if len(seg) > 1:
                d.add(PolyLine([c for p in seg for c in p], strokeColor=colour, strokeWidth=w))
    if thr:
        d.add(Line(left, Y(thr[-1]), left + pw, Y(thr[-1]), strokeColor=colors.Color(0.2, 0.4, 0.8),
                   strokeDashArray=[3, 2], strokeWidth=0.8))
        d.add(String(left + 2, Y(thr[-1]) + 2, f"threshold {thr[-1]:+.3f}", fontSize=7,
                     fillColor=colors.Color(0.2, 0.4, 0.8)))
    # verdict bands below the plot, each labelled with its word where it fits
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i].get("verdict") != rows[start].get("verdict"):
            v = rows[start].get("verdict") or "PENDING"
            t_a, t_b = _f(rows[start]["t_s"]) or 0.0, _f(rows[i - 1]["t_s"]) or 0.0
            xa, xb = X(t_a), max(X(t_b), X(t_a) + 0.5)
            rgb = VERDICT_FILL.get(v, (0.6, 0.6, 0.6))
            d.add(Rect(xa, bottom, xb - xa, band_h, fillColor=colors.Color(*rgb), strokeColor=colors.white,
                       strokeWidth=0.3))
            label = {"NORMAL": "normal", "ANOMALY": "anomaly", "NO HAND": "no hand", "PENDING": "pending"}.get(v, v)
            if xb - xa > 6 * len(label):
                d.add(String((xa + xb) / 2, bottom + 5, label, fontSize=7, textAnchor="middle", fillColor=colors.white))
            start = i
    d.add(String(left - 4, bottom + 5, "verdict", fontSize=7, textAnchor="end"))
    step = max(1, int((t_max - t_min) // 10) or 1)
    for k in range(int(math.ceil(t_min)), int(t_max) + 1, step):  # time axis
        d.add(Line(X(k), bottom, X(k), bottom - 3, strokeColor=colors.grey, strokeWidth=0.5))
        d.add(String(X(k), bottom - 11, f"{k}", fontSize=7, textAnchor="middle"))
    d.add(String(left + pw / 2, 2, "time (s)", fontSize=7, textAnchor="middle"))
    for v in (lo + 0.1 * span, (lo + hi) / 2, hi - 0.1 * span):
        d.add(String(left - 3, Y(v) - 2, f"{v:+.2f}", fontSize=7, textAnchor="end"))
    d.add(String(left, height - 9, "SPADER score (grey: per frame, black: smoothed; higher = more normal)", fontSize=7))
    return d


def build_report(folder: str | Path | ScreeningFolder, out: str | Path) -> Path:
    """Write the PDF report of a screening folder to ``out``; returns its path."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas as _canvas
    from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    f = folder if isinstance(folder, ScreeningFolder) else ScreeningFolder(folder)
    h = f.header()
    res = f.results()
    status = f.status()
    rows = read_results(f.session_path)
    events = list(read_events(f.session_path))
    try:
        from capture.session import SessionReader

        smeta = SessionReader(f.session_path).meta
        camera = f"{smeta.sensor}, depth mode {smeta.depth_mode or '?'}, {smeta.fps or '?'} fps"
    except Exception:
        camera = "unknown (the session header could not be read)"
    if res is None:  # interrupted: rebuild what is known from the events
        from core.screening.run import summary_from_events

        res = summary_from_events(events, h.get("protocol") or {}, _f(rows[-1].get("t_s")) if rows else None)
        res["overall"] = f"{res['overall']} (interrupted)"

    styles = getSampleStyleSheet()
    body, small = styles["BodyText"], styles["BodyText"].clone("small", fontSize=8, leading=10)
    story: list[Any] = [Paragraph("YFPIT screening report", styles["Title"])]
    overall = str(res.get("overall"))
    story.append(Paragraph(f"<b>Result: {overall}</b> ({status}). {DISCLAIMER}", body))
    story.append(Spacer(1, 4 * mm))
    proto = h.get("protocol", {})
    facts = [
        ["Subject (pseudonym)", h.get("subject_id", "")],
        ["Date and time (UTC)", h.get("created", "")],
        ["Operator", h.get("operator") or "—"], ["Site", h.get("site") or "—"],
        ["Protocol", f"{proto.get('name', '?')}, version {proto.get('version', '?')}"],
        ["Camera", camera], ["Source", h.get("source", "")],
        ["Screening id", h.get("id", f.path.name)], ["App version", h.get("app_version", "?")],
    ]
    for tid, m in h.get("models", {}).items():
        facts.append([f"Model ({tid})", f"{m.get('name')}; SHA-256 {m.get('sha256')}"])
        note = f": {m['threshold_note']}" if m.get("threshold_note") else ""
        facts.append([f"Threshold ({tid})", f"{float(m.get('threshold', float('nan'))):+.4f} "
                                            f"(from the {m.get('threshold_source')}{note})"])
    if h.get("note"):
        facts.append(["Note", h["note"]])
    t = Table([[Paragraph(str(a), small), Paragraph(str(b), small)] for a, b in facts], colWidths=[38 * mm, 132 * mm])
    t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey)]))
    story += [t, Spacer(1, 5 * mm), Paragraph("Attempts", styles["Heading2"])]
    att_rows = [["Task", "Attempt", "Start (s)", "End (s)", "Outcome", "Task result"]]
    all_attempts: list[dict[str, Any]] = []
    tasks_by_id = {x.get("id"): x for x in proto.get("tasks", [])}
    for task in res.get("tasks", []):
        limit = tasks_by_id.get(task["task_id"], {}).get("time_limit_s", 0)
        for a in task["attempts"]:
            all_attempts.append(a)
            if a["outcome"] == "imitated":
                text = f"imitated in {a['reached_s']:.1f} s"
            elif a["outcome"] == "not_imitated":
                text = f"not imitated within {limit:g} s"
            elif a["outcome"] == "invalid":
                text = f"invalid: {a.get('invalid_reason', '')}"
            else:
                text = str(a["outcome"]) + (f" ({a['note']})" if a.get("note") else "")
            att_rows.append([task["task_id"], str(a["number"]), f"{a['start_t']:.1f}",
                             "" if a.get("end_t") is None else f"{a['end_t']:.1f}", text, task["result"]])
    if len(att_rows) == 1:
        att_rows.append(["—", "", "", "", "no attempt recorded", ""])
    t = Table(att_rows, repeatRows=1)
    t.setStyle(TableStyle([("FONTSIZE", (0, 0), (-1, -1), 8), ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9)),
                           ("GRID", (0, 0), (-1, -1), 0.25, colors.grey)]))
    story += [t, Spacer(1, 5 * mm), Paragraph("Scores", styles["Heading2"])]
    story.append(_score_plot(rows, all_attempts, 170 * mm, 70 * mm) if rows else Paragraph("no frames were scored", body))
    story += [Spacer(1, 5 * mm), Paragraph("Key frames", styles["Heading2"])]
    for task in res.get("tasks", []):
        done = [a for a in task["attempts"] if a.get("end_t") is not None]
        decisive = next((a for a in done if a["outcome"] == "imitated"), done[-1] if done else None)
        if decisive is None:
            continue
        png, caption = _key_frame_png(f, h, task["task_id"], float(decisive["end_t"]), rows)
        block: list[Any] = [Paragraph(f"{task['task_id']}, attempt {decisive['number']} "
                                      f"({decisive['outcome'].replace('_', ' ')}): {caption}", small)]
        if png:
            block.append(Image(io.BytesIO(png), width=80 * mm, height=80 * mm, kind="proportional"))
        story.append(KeepTogether(block))
    story += [Spacer(1, 4 * mm), Paragraph(f"Events recorded: {len(events)}. {DISCLAIMER}", small)]

    subject = str(h.get("subject_id", ""))

    class NumberedCanvas(_canvas.Canvas):
        """"page X of Y" needs the page count: pages are drawn once it is known."""

        def __init__(self, *a: Any, **k: Any) -> None:
            super().__init__(*a, **k)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            n = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self.setFont("Helvetica", 7)
                self.drawString(15 * mm, 10 * mm, f"Screening {h.get('id', '')} · subject {subject} · "
                                                  f"screening aid, not a diagnosis")
                self.drawRightString(195 * mm, 10 * mm, f"page {self._pageNumber} of {n}")
                super().showPage()
            super().save()

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                            topMargin=15 * mm, bottomMargin=18 * mm, title=f"YFPIT screening {subject}",
                            author="spader", creator="spader", invariant=1)
    doc.build(story, canvasmaker=NumberedCanvas)
    out = Path(out)
    write_private(out, buf.getvalue(), what="the report")
    return out

