"""The subject-id rule: a session names its subject by a pseudonym, never by a name.

One check for every place that takes a subject id: the recording dialog, the
controller and the session writer (so no session on disk breaks the rule).
"""

from __future__ import annotations

import re

from capture.errors import CaptureError

SUBJECT_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
SUBJECT_ID_RULE = (
    "the subject id must be a pseudonym of 1-64 letters, digits, '-', '_' or '.' "
    "(never a name or a date of birth)"
)


def subject_id_ok(subject_id: str | None) -> bool:
    """Whether ``subject_id`` (surrounding spaces ignored) follows the rule."""
    return bool(SUBJECT_ID_RE.fullmatch((subject_id or "").strip()))


def check_subject_id(subject_id: str | None) -> str:
    """The id without surrounding spaces; CaptureError when it breaks the rule."""
    s = (subject_id or "").strip()
    if not SUBJECT_ID_RE.fullmatch(s):
        raise CaptureError(SUBJECT_ID_RULE)
    return s
