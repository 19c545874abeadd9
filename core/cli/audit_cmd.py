"""check the screenings' audit trail (a hash-chained, append-only log)"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    v = sub.add_parser("verify", help="check every entry of the audit log; name the first broken or edited one")
    v.add_argument("folder", nargs="?", help="the data folder (or an audit.jsonl file); default: the screenings "
                   "data folder ($SPADER_DATA_DIR, else ~/.local/share/spader/screenings)")


def run(args: argparse.Namespace) -> int:
    import sys

    from core.screening.audit import verify
    from core.screening.paths import default_data_dir

    report = verify(args.folder or default_data_dir())
    if report.ok:
        print(f"audit log {report.path}: {report.entries} entries, the chain is intact")
        return 0
    print(f"audit log {report.path}: BROKEN after {report.entries} good entries: {report.problem}", file=sys.stderr)
    return 1
