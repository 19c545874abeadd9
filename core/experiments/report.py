"""Plain-text and CSV tables of scorer x column AUROCs, shared by every experiment command."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from core.spader.scorers import SCORER_KEYS, SCORER_LABELS

Cell = tuple[float, float] | float | None  # (mean, std), a single value, or missing


def _fmt(cell: Cell) -> str:
    if cell is None:
        return "-"
    if isinstance(cell, tuple):
        mean, std = cell
        return f"{mean:.3f} ± {std:.3f}"
    return f"{cell:.3f}"


def format_table(title: str, column_title: str, columns: list[str], rows: dict[str, list[Cell]]) -> str:
    """Rows keyed by scorer key (shown with its paper label); the best value per column starred."""
    labels = {k: SCORER_LABELS.get(k, k) for k in rows}
    best = []
    for j in range(len(columns)):
        vals = [(_mean(r[j]), k) for k, r in rows.items() if r[j] is not None]
        best.append(max(vals)[1] if vals else None)
    cells = {k: [_fmt(c) + ("*" if best[j] == k else " ") for j, c in enumerate(r)] for k, r in rows.items()}
    w0 = max(len(column_title), *(len(v) for v in labels.values()))
    widths = [max(len(c), *(len(cells[k][j]) for k in rows)) for j, c in enumerate(columns)]
    lines = [title, f"{column_title:<{w0}}  " + "  ".join(f"{c:>{w}}" for c, w in zip(columns, widths))]
    lines.append("-" * len(lines[-1]))
    for k in rows:
        lines.append(f"{labels[k]:<{w0}}  " + "  ".join(f"{c:>{w}}" for c, w in zip(cells[k], widths)))
    lines.append("(* best in column)")
    return "\n".join(lines)


def _mean(cell: Cell) -> float:
    return cell[0] if isinstance(cell, tuple) else float(cell)  # type: ignore[arg-type]


def write_table_csv(path: Path, columns: list[str], rows: dict[str, list[Cell]]) -> None:
    """One row per scorer; columns '<name>_mean' and '<name>_std' (std empty for single values)."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["scorer", "label"] + [f"{c}_{s}" for c in columns for s in ("mean", "std")])
        for k, r in rows.items():
            out: list[str] = [k, SCORER_LABELS.get(k, k)]
            for cell in r:
                if cell is None:
                    out += ["", ""]
                elif isinstance(cell, tuple):
                    out += [f"{cell[0]:.6f}", f"{cell[1]:.6f}"]
                else:
                    out += [f"{cell:.6f}", ""]
            w.writerow(out)


class RepeatedAurocs:
    """AUROC per scorer and known choice, one value per repeat (a trial or a fold).

    Mixed into an experiment's result, which holds ``aurocs[scorer][known] -> [AUROC, ...]``
    and names its known choices in ``known_keys()``."""

    aurocs: dict[str, dict[Any, list[float]]]

    def known_keys(self) -> list[Any]:
        raise NotImplementedError

    def mean_std(self, scorer: str, known: Any) -> tuple[float, float]:
        v = np.asarray(self.aurocs[scorer][known], np.float64)
        return float(v.mean()), float(v.std())

    def average(self, scorer: str) -> tuple[float, float]:
        """Mean over the known choices within each repeat, then mean ± std over repeats."""
        per_repeat = np.mean([self.aurocs[scorer][k] for k in self.known_keys()], axis=0)
        return float(per_repeat.mean()), float(per_repeat.std())

    def summary(self) -> dict[str, dict[str, dict[str, float]]]:
        return {s: {**{str(k): dict(zip(("mean", "std"), self.mean_std(s, k))) for k in self.known_keys()},
                    "average": dict(zip(("mean", "std"), self.average(s)))} for s in SCORER_KEYS}

    def table(self) -> tuple[list[str], dict[str, list[Cell]]]:
        """Columns (each known choice, then the average) and one row of (mean, std) per scorer."""
        cols = [str(k) for k in self.known_keys()] + ["average"]
        rows: dict[str, list[Cell]] = {
            s: [self.mean_std(s, k) for k in self.known_keys()] + [self.average(s)] for s in SCORER_KEYS}
        return cols, rows
