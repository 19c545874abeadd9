"""Depth frames, frame sources, the capture thread, and the session format. No torch, no Qt.

Main entry points: ``capture.frame.DepthFrame``; ``capture.sources.open_source`` (what a
spec names: ``capture.sources.spec.source_kind``) and the classes in ``capture.sources.*``;
``capture.thread.CaptureThread`` (``capture.playback.PlaybackThread`` adds stepping and
speed) with ``capture.mailbox.LatestFrameMailbox`` / ``capture.frame_queue.FrameQueue``
(``capture.tap`` keeps the newest frame for a display) and ``capture.recorder.Recorder``;
``capture.read_ahead.ReadAhead`` for batch reading, with the rule for failed reads in
``capture.read_errors``; ``capture.session.SessionWriter`` / ``SessionReader`` (subject
ids: ``capture.subject``); ``capture.rate.RateMeter``; ``capture.convert.convert_mkv``.
"""

from capture.errors import CaptureError
from capture.frame import DepthFrame, Intrinsics

__all__ = ["CaptureError", "DepthFrame", "Intrinsics"]
