"""Depth frames, frame sources, the capture thread, and the session format. No torch, no Qt.

Main entry points: ``capture.frame.DepthFrame``; ``capture.sources.open_source`` and the
classes in ``capture.sources.*``; ``capture.thread.CaptureThread`` with
``capture.mailbox.LatestFrameMailbox`` and ``capture.recorder.Recorder``;
``capture.session.SessionWriter`` / ``SessionReader``; ``capture.convert.convert_mkv``.
"""

from capture.errors import CaptureError
from capture.frame import DepthFrame, Intrinsics

__all__ = ["CaptureError", "DepthFrame", "Intrinsics"]
