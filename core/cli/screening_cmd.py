"""run a screening on a recording without the window, list the screenings, or make a report"""

from __future__ import annotations

import argparse
import sys

from core.cli.option_types import number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    r = sub.add_parser("run", help="run the protocol on a recording: attempts start at the given stream times")
    r.add_argument("recording", help="a session folder, an Azure Kinect .mkv file, or a folder of depth PNGs")
    r.add_argument("--subject", required=True, help="the subject's pseudonym (never a name or a date of birth)")
    when = r.add_mutually_exclusive_group(required=True)
    when.add_argument("--starts", type=number(0, 604_800), nargs="+", metavar="SECONDS",
                      help="stream times (s) at which attempts start, in order; an attempt starts at the first "
                      "frame at or after its time once the screening can start one")
    when.add_argument("--starts-from-events", action="store_true",
                      help="start the attempts where the recording's own screening started them (a screening's "
                      "session folder, with its events.jsonl): the same screening again, e.g. with another model")
    r.add_argument("--protocol", help="protocol file (default: the bundled pigeon protocol)")
    r.add_argument("--data", help="the screenings data folder (default: $SPADER_DATA_DIR, else "
                   "~/.local/share/spader/screenings)")
    r.add_argument("--operator", help="the operator's pseudonym")
    r.add_argument("--site", help="where the screening took place")
    r.add_argument("--note", help="a note kept with the screening")
    rp = sub.add_parser("report", help="the PDF report of a screening, made from its folder alone")
    rp.add_argument("screening", help="the screening's folder (see `spader screening list`)")
    rp.add_argument("--out", required=True, help="the PDF to write")
    rp.add_argument("--operator", help="who exported it (recorded in the audit trail)")
    rp.add_argument("--data", help="the data folder whose audit trail records the export (default: the "
                    "screening's parent folder)")
    ls = sub.add_parser("list", help="every screening in the data folder: subject, date, tasks, result, status")
    ls.add_argument("--data", help="the screenings data folder")
    ls.add_argument("--subject", help="only this subject's screenings")


def run(args: argparse.Namespace) -> int:
    from core.screening.paths import default_data_dir

    if args.action == "report":
        from pathlib import Path

        from core.screening.audit import AuditLog
        from core.screening.report import build_report
        from core.screening.store import ScreeningFolder

        folder = ScreeningFolder(args.screening)
        header = folder.header()  # a clear error when it is not a screening folder
        out = build_report(folder, args.out)
        AuditLog(args.data or Path(args.screening).resolve().parent).append(
            "report_exported", {"screening": header.get("id"), "file": str(Path(out).resolve())}, args.operator)
        print(f"wrote {out}")
        return 0
    data = args.data or default_data_dir()
    if args.action == "list":
        from core.screening.store import list_screenings

        rows = list_screenings(data, args.subject)
        if not rows:
            print(f"no screenings in {data}")
            return 0
        print(f"{'screening':<24} {'subject':<12} {'created (UTC)':<26} {'tasks':<12} {'result':<14} status")
        for s in rows:
            print(f"{s.id:<24} {s.subject_id:<12} {s.created:<26} {','.join(s.tasks):<12} {s.overall:<14} {s.status}")
        return 0
    from core.screening.headless import run_on_recording

    def show(e: dict) -> None:
        if e["event"] == "attempt_ended":
            print(f"  {e['task_id']} attempt {e['attempt']} at {e['t']:.1f} s: {e['text']}")
        elif e["event"] == "attempt_started":
            print(f"  {e['task_id']} attempt {e['attempt']} starts at {e['t']:.1f} s")

    starts = args.starts
    if args.starts_from_events:
        from core.screening.headless import recorded_attempt_starts

        starts = recorded_attempt_starts(args.recording)
    folder = run_on_recording(args.recording, args.subject, starts, data, protocol_path=args.protocol,
                              operator=args.operator, site=args.site, note=args.note, on_event=show)
    res = folder.results() or {}
    for t in res.get("tasks", []):
        print(f"{t['task_id']}: {t['result']}")
    print(f"overall: {res.get('overall')} ({res.get('disclaimer')})")
    print(f"wrote {folder.path}")
    return 0 if res else 1


