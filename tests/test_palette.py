"""The verdict colours: text on each meets WCAG AA, NORMAL and ANOMALY differ in
brightness, and the verdicts stay apart for a deuteranope (Viénot/Machado simulation)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from core.runtime.palette import VERDICT_RGB, VERDICT_TEXT_RGB, contrast_ratio

# deuteranopia (Machado et al. 2009, severity 1) on linear RGB
DEUTERANOPIA = np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                         [-0.011820, 0.042940, 0.968881]])


def _deut(rgb) -> np.ndarray:
    c = np.asarray(rgb, float) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    v = np.clip(DEUTERANOPIA @ lin, 0, 1)
    return 255 * np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055)


@pytest.mark.parametrize("verdict", sorted(VERDICT_RGB))
def test_text_on_every_verdict_colour_meets_wcag_aa(verdict: str) -> None:
    assert contrast_ratio(VERDICT_RGB[verdict], VERDICT_TEXT_RGB[verdict]) >= 4.5


def test_normal_and_anomaly_differ_in_brightness_not_only_in_hue() -> None:
    assert contrast_ratio(VERDICT_RGB["NORMAL"], VERDICT_RGB["ANOMALY"]) >= 2.0


def test_the_verdicts_stay_apart_for_a_deuteranope() -> None:
    shown = ("NORMAL", "ANOMALY", "NO HAND", "PENDING")
    for a, b in itertools.combinations(shown, 2):
        d = float(np.linalg.norm(_deut(VERDICT_RGB[a]) - _deut(VERDICT_RGB[b])))
        assert d >= 70, (a, b, d)
    assert contrast_ratio(VERDICT_RGB["NORMAL"], VERDICT_RGB["PENDING"]) >= 1.5  # also apart in greyscale
