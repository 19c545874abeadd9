"""Settings remembered between runs (QSettings).

Where they live: the platform's usual place for organisation "SPADER", application
"spader-app" (on Linux ``~/.config/SPADER/spader-app.conf``), unless a file is named by
``spader app --settings FILE`` or the environment variable ``SPADER_APP_SETTINGS``; tests
always pass a temporary file. Every key has a default here, so a missing or damaged
settings file only means defaults. The threshold is remembered per model name: a
threshold chosen for one model never silently applies to another.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "SPADER"
APPLICATION = "spader-app"
ENV_VAR = "SPADER_APP_SETTINGS"

DEFAULTS: dict[str, Any] = {
    "overlay/name": "cam",  # none | cam | loss | weighted_loss
    "overlay/opacity": 0.6,
    "overlay/box": True,
    "display/near_mm": 300.0,
    "display/far_mm": 1800.0,
    "display/rate_hz": 60.0,
    "plot/window_s": 20.0,
    # the score plot redraws at most this often: its axes and bands cost the GUI thread
    # several ms a redraw, taken from scoring on a 2-core machine (points are never dropped)
    "plot/rate_hz": 10.0,
    "playback/speed": 1.0,
    "playback/loop": False,
    "recording/folder": str(Path.home() / "spader-sessions"),
    "recording/operator": "",  # the operator of this run (pseudonym); kept across runs only with operator/remember
    # a shared machine: the previous operator's name is not offered to the next one
    "operator/remember": False,
    "source/last": "",
    "source/kinect_depth_mode": "NFOV_UNBINNED",
    "scoring/device": "auto",
    "screening/data_dir": "",  # empty: the user's data folder (core.screening.paths.default_data_dir)
    "screening/site": "",
}


class AppSettings:
    """Typed access to the app's QSettings, with defaults."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        path = path or os.environ.get(ENV_VAR) or None
        if path:
            self.qs = QSettings(str(path), QSettings.IniFormat)
        else:  # pragma: no cover - the user's own settings; tests never touch them
            self.qs = QSettings(QSettings.IniFormat, QSettings.UserScope, ORGANIZATION, APPLICATION)
        self.path = self.qs.fileName()

    def get(self, key: str, default: Any = None) -> Any:
        if default is None:
            default = DEFAULTS.get(key)
        value = self.qs.value(key, default)
        if default is None or value is None:
            return value
        try:  # INI files hand every value back as a string
            if isinstance(default, bool):
                return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
            if isinstance(default, float):
                return float(value)
            if isinstance(default, int):
                return int(value)
        except (TypeError, ValueError):
            return default
        return value

    def set(self, key: str, value: Any) -> None:
        self.qs.setValue(key, value)

    # -- per-model threshold -----------------------------------------------------------------
    @staticmethod
    def _threshold_key(model_name: str) -> str:
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in model_name) or "model"
        return f"threshold/{safe}"

    def threshold_for(self, model_name: str) -> float | None:
        v = self.qs.value(self._threshold_key(model_name))
        try:
            return None if v is None else float(v)
        except (TypeError, ValueError):
            return None

    def set_threshold_for(self, model_name: str, threshold: float | None) -> None:
        if threshold is None:
            self.qs.remove(self._threshold_key(model_name))
        else:
            self.qs.setValue(self._threshold_key(model_name), float(threshold))

    def threshold_source_for(self, model_name: str):
        """Where the remembered threshold came from (app.threshold_source), or None."""
        from app.threshold_source import ThresholdSource

        v = self.qs.value(self._threshold_key(model_name).replace("threshold/", "threshold_source/", 1))
        return None if v is None else ThresholdSource.from_json(v)

    def set_threshold_source_for(self, model_name: str, source) -> None:
        key = self._threshold_key(model_name).replace("threshold/", "threshold_source/", 1)
        if source is None:
            self.qs.remove(key)
        else:
            self.qs.setValue(key, source.to_json())

    # -- image folders: the unit and frame rate chosen for each ----------------------------------
    @staticmethod
    def _folder_key(folder) -> str:
        """Keyed by a hash of the folder's path: a path may name a person, settings stay free of it."""
        import hashlib

        return "image_folder/" + hashlib.sha256(str(Path(folder).resolve()).encode()).hexdigest()[:24]

    def folder_units(self, folder) -> tuple[float, float] | None:
        v = self.qs.value(self._folder_key(folder))
        try:
            unit, fps = (float(x) for x in str(v).split(","))
        except (TypeError, ValueError):
            return None
        return (unit, fps) if unit > 0 and fps > 0 else None

    def set_folder_units(self, folder, unit_mm: float, fps: float) -> None:
        self.qs.setValue(self._folder_key(folder), f"{float(unit_mm)!r},{float(fps)!r}")

    # -- window geometry -----------------------------------------------------------------------
    def geometry(self) -> tuple[QByteArray | None, QByteArray | None]:
        g, s = self.qs.value("window/geometry"), self.qs.value("window/state")
        return (g if isinstance(g, QByteArray) else None, s if isinstance(s, QByteArray) else None)

    def set_geometry(self, geometry: QByteArray, state: QByteArray) -> None:
        self.qs.setValue("window/geometry", geometry)
        self.qs.setValue("window/state", state)

    def sync(self) -> None:
        self.qs.sync()
