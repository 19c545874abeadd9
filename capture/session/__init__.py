"""The app's session format: a folder of 16-bit PNG frames, a CSV index, a JSON header.

See docs/session-format.md. ``SessionWriter`` appends crash-safely; ``SessionReader``
opens closed and interrupted sessions alike.
"""

from capture.session.format import FORMAT_NAME, FORMAT_VERSION, SessionMeta
from capture.session.reader import SessionReader
from capture.session.writer import SessionWriter

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "SessionMeta", "SessionReader", "SessionWriter"]
