"""Azure Kinect MKV -> session. The device serial number is left out (a HIPAA identifier):
it is never read from the file, and the raw calibration blob, which also carries it, is
not copied; only the depth intrinsics are kept."""

from __future__ import annotations

import os
from typing import Any, Callable

from capture.errors import CaptureError
from capture.session.format import SessionMeta
from capture.session.writer import SessionWriter
from capture.sources.base import EndOfStream
from capture.sources.mkv import MkvSource


def convert_mkv(
    mkv: str | os.PathLike[str],
    session: str | os.PathLike[str],
    *,
    subject_id: str | None = None,
    operator: str | None = None,
    settings: dict[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, list[str]]:
    """Write every depth frame of ``mkv`` into a new session; return (frames, problems).

    A recording damaged part-way is converted up to the damage; the problem is returned
    and recorded in the session's settings rather than raised.
    """
    problems: list[str] = []
    with MkvSource(mkv) as src:
        info = src.info
        meta = SessionMeta.from_stream(
            info,
            subject_id=subject_id,
            operator=operator,
            # The file name is not copied either: names of recordings often identify people.
            settings={
                **(settings or {}),
                "converted_from": "Azure Kinect MKV",
                "start_time_note": "time of conversion; the MKV carries no wall-clock start",
            },
        )
        n = 0
        with SessionWriter.create(session, meta) as writer:
            while True:
                try:
                    frame = src.read()
                except EndOfStream:
                    break
                except CaptureError as exc:
                    problems.append(str(exc))
                    break
                if frame is None:
                    continue
                writer.append(frame)
                n += 1
                if progress is not None:
                    progress(n)
            problems += [p for p in src.problems if p not in problems]  # e.g. a file cut short, recovered
            if problems:
                writer.meta.settings["conversion_problems"] = problems
    if n == 0:
        raise CaptureError(f"{mkv} has no depth frames" + (f": {problems[0]}" if problems else ""))
    return n, problems
