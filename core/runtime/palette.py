"""The verdict colours, as plain RGB: the window (app/theme.py) and the overlay pictures
of ``spader score`` (core/runtime/overlay.py) both take them from here.

Chosen for the common red-green colour deficiencies, from the Okabe-Ito set: NORMAL a dark
blue, ANOMALY a light orange, NO HAND a bright yellow, the states without a verdict a dark
grey. They differ in brightness as well as hue (NORMAL and ANOMALY 2.3:1 in luminance, where
the earlier green and red were 1.1:1), so they stay apart in a deuteranopia simulation and
in greyscale; text on each reaches WCAG AA (4.5:1; tests/test_palette.py computes it), and
every verdict is also written out in words wherever it is shown.
"""

from __future__ import annotations

RGB = tuple[int, int, int]

_GREY: RGB = (71, 78, 88)
_LIGHT_TEXT: RGB = (240, 243, 246)
_DARK_TEXT: RGB = (20, 23, 27)

VERDICT_RGB: dict[str, RGB] = {
    "NORMAL": (31, 111, 178),
    "ANOMALY": (230, 159, 0),
    "NO HAND": (240, 228, 66),
    "PENDING": _GREY,
    "NO MODEL": _GREY,  # the window's states without a verdict
    "NO SIGNAL": _GREY,
    "WAITING": _GREY,  # a screening between attempts: hands may rest, nothing is judged
}
# text drawn on a verdict's colour
VERDICT_TEXT_RGB: dict[str, RGB] = {
    "NORMAL": _LIGHT_TEXT,
    "ANOMALY": _DARK_TEXT,
    "NO HAND": _DARK_TEXT,
    "PENDING": _LIGHT_TEXT,
    "NO MODEL": _LIGHT_TEXT,
    "NO SIGNAL": _LIGHT_TEXT,
    "WAITING": _LIGHT_TEXT,
}


def relative_luminance(rgb: RGB) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""
    def lin(c: int) -> float:
        v = c / 255.0
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: RGB, b: RGB) -> float:
    """WCAG 2 contrast ratio, 1 to 21."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)))
    return (lb + 0.05) / (la + 0.05)


def rgb_hex(rgb: RGB) -> str:
    """(46, 158, 131) -> "#2e9e83"."""
    return "#{:02x}{:02x}{:02x}".format(*rgb)
