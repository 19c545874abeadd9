"""The verdict colours, as plain RGB: the window (app/theme.py) and the overlay pictures
of ``spader score`` (core/runtime/overlay.py) both take them from here.

Chosen to stay distinguishable for the common red-green colour deficiencies: NORMAL is a
blue-green, ANOMALY an orange-red, NO HAND amber, PENDING grey; every verdict is also
written out in words wherever it is shown.
"""

from __future__ import annotations

RGB = tuple[int, int, int]

_GREY: RGB = (93, 102, 114)
_LIGHT_TEXT: RGB = (232, 236, 240)

VERDICT_RGB: dict[str, RGB] = {
    "NORMAL": (46, 158, 131),
    "ANOMALY": (217, 96, 59),
    "NO HAND": (201, 162, 39),
    "PENDING": _GREY,
    "NO MODEL": _GREY,  # the window's states without a verdict
    "NO SIGNAL": _GREY,
    "WAITING": _GREY,  # a screening between attempts: hands may rest, nothing is judged
}
# text drawn on a verdict's colour
VERDICT_TEXT_RGB: dict[str, RGB] = {
    "NORMAL": (243, 251, 248),
    "ANOMALY": (255, 246, 242),
    "NO HAND": (27, 31, 36),
    "PENDING": _LIGHT_TEXT,
    "NO MODEL": _LIGHT_TEXT,
    "NO SIGNAL": _LIGHT_TEXT,
    "WAITING": _LIGHT_TEXT,
}


def rgb_hex(rgb: RGB) -> str:
    """(46, 158, 131) -> "#2e9e83"."""
    return "#{:02x}{:02x}{:02x}".format(*rgb)
