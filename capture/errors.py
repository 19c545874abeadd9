"""Errors the user can act on. The CLI and GUI show their message without a traceback."""

from __future__ import annotations


class CaptureError(Exception):
    """Base class: a camera, file or setting problem, explained in plain words."""


class DeviceNotFound(CaptureError):
    """No camera is connected, or the requested one (index or serial) is not there."""


class DeviceError(CaptureError):
    """A camera is there but could not be opened or configured."""


class CorruptFile(CaptureError):
    """A recording, image or session file is truncated, damaged or not what it claims."""


class BadFrame(CaptureError):
    """A depth image has the wrong dtype, dimensions or size for its stream."""


class SessionExists(CaptureError):
    """Refusing to overwrite an existing session folder."""


class NotSeekable(CaptureError):
    """The source (a live camera) cannot seek."""
