"""What the scoring worker publishes for one frame: every score, the maps, the timing.

The GUI, the batch re-scorer and the benchmark all consume this one type; nothing
downstream recomputes a score. Maps are kept at model resolution (cheap to publish);
``frame_map`` places one on the full frame through the crop box for overlays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

MAP_NAMES: tuple[str, ...] = ("input", "recon", "loss", "cam", "weighted_loss")


@dataclass
class FrameResult:
    index: int  # the source's frame index
    frame_shape: tuple[int, int]  # (H, W) of the full depth frame
    has_hand: bool
    reason: str = ""  # why there is no score ("" when has_hand)
    scores: dict[str, float] = field(default_factory=dict)  # every key of core.spader.scorers.SCORER_KEYS when has_hand
    box: tuple[int, int, int, int] | None = None  # hand crop (x0, y0, x1, y1) in frame pixels
    maps: dict[str, np.ndarray] = field(default_factory=dict)  # MAP_NAMES -> (S, S) float32 at model resolution
    depth: np.ndarray | None = None  # the raw uint16 frame, for display (not copied)
    unit_mm: float = 1.0
    device_ts_us: int | None = None
    captured_ns: int = 0  # time.monotonic_ns() when the frame was captured (host timestamp)
    scored_ns: int = 0  # when scoring finished
    published_ns: int = 0  # when the result was put in the result mailbox
    model_name: str = ""
    device: str = "cpu"
    ref_depth_mm: float | None = None  # the preprocessing's reference (hand) depth, mm
    verdict: Any = None  # core.runtime.verdict.VerdictState when a verdict tracker ran on this result
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def score(self) -> float | None:
        """The SPADER normalness (higher = more normal), None when there is no hand."""
        return self.scores.get("spader") if self.has_hand else None

    @property
    def latency_ms(self) -> float:
        """Frame captured -> result published."""
        return (self.published_ns - self.captured_ns) / 1e6

    def frame_map(self, name: str) -> np.ndarray | None:
        """A model-resolution map placed on the full frame (0 outside the crop box)."""
        if name not in self.maps or self.box is None:
            return None
        from core.preprocess import map_to_frame

        return map_to_frame(self.maps[name], self.box, self.frame_shape)
