"""A ROC picture (PNG) with the operating point marked, drawn with OpenCV (already a
dependency; no plotting library needed for one curve)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from core.errors import SpaderError


def roc_png(result, path: str | Path, size: int = 520) -> Path:
    """Sensitivity against false alarms (1 - specificity); the frames' curve, the attempts'
    when there are any, and the chosen threshold as a dot with its rates."""
    w, h, m = size, size, 60
    img = np.full((h, w, 3), 255, np.uint8)
    x0, y0, x1, y1 = m, h - m, w - 20, 30

    def P(fa: float, se: float) -> tuple[int, int]:
        return int(round(x0 + fa * (x1 - x0))), int(round(y0 - se * (y0 - y1)))

    grey, black, blue, orange = (200, 200, 200), (0, 0, 0), (180, 100, 30), (40, 130, 240)
    for v in np.linspace(0, 1, 6):
        cv2.line(img, P(v, 0), P(v, 1), grey, 1)
        cv2.line(img, P(0, v), P(1, v), grey, 1)
        cv2.putText(img, f"{v:.1f}", (P(v, 0)[0] - 12, y0 + 18), cv2.FONT_HERSHEY_SIMPLEX, 0.4, black, 1, cv2.LINE_AA)
        cv2.putText(img, f"{v:.1f}", (x0 - 32, P(0, v)[1] + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, black, 1, cv2.LINE_AA)
    cv2.line(img, P(0, 0), P(1, 1), grey, 1, cv2.LINE_AA)
    cv2.rectangle(img, P(0, 1), P(1, 0), black, 1)
    r = result.frames["roc"]
    pts = np.array([P(a, b) for a, b in zip(r["false_alarm"], r["sensitivity"])], np.int32)
    cv2.polylines(img, [pts], False, blue, 2, cv2.LINE_AA)
    legend = [(blue, f"frames, AUROC {result.frames['auroc']:.3f}")]
    a = result.attempts
    if a and a.get("roc"):
        ra = a["roc"]
        pa = np.array([P(u, v) for u, v in zip(ra["false_alarm"], ra["sensitivity"])], np.int32)
        for i in range(len(pa) - 1):  # dashed: told apart by more than its colour
            if i % 2 == 0:
                cv2.line(img, tuple(pa[i]), tuple(pa[i + 1]), orange, 2, cv2.LINE_AA)
        legend.append((orange, f"attempts (dashed), AUROC {a['auroc']:.3f}"))
    fr = result.frames["rates"]
    op = P(1 - fr["specificity"], fr["sensitivity"])
    cv2.circle(img, op, 7, black, 2, cv2.LINE_AA)
    cv2.putText(img, f"threshold {result.threshold:+.3f}", (op[0] + 10, op[1] + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                black, 1, cv2.LINE_AA)
    for i, (col, text) in enumerate(legend):
        yy = y0 - 40 - 18 * i
        cv2.line(img, (x0 + 150, yy - 4), (x0 + 175, yy - 4), col, 2)
        cv2.putText(img, text, (x0 + 182, yy), cv2.FONT_HERSHEY_SIMPLEX, 0.42, black, 1, cv2.LINE_AA)
    cv2.putText(img, "false alarms (1 - specificity)", (x0 + 90, h - 15), cv2.FONT_HERSHEY_SIMPLEX, 0.5, black, 1,
                cv2.LINE_AA)
    rot = np.full((40, h, 3), 255, np.uint8)
    cv2.putText(rot, "anomalies caught (sensitivity)", (110, 26), cv2.FONT_HERSHEY_SIMPLEX, 0.5, black, 1, cv2.LINE_AA)
    img[:, :22] = np.rot90(rot, 1)[:, 10:32]
    ascii_rule = result.rule.describe().replace("≥", ">=").replace("'", "")  # Hershey fonts are ASCII
    cv2.putText(img, f"rule: {ascii_rule}", (x0, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.45, black, 1, cv2.LINE_AA)
    p = Path(path)
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise SpaderError(f"cannot encode the ROC picture {p}")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(buf.tobytes())
    except OSError as exc:
        raise SpaderError(f"cannot write {p}: {exc.strerror or exc}") from None
    return p
