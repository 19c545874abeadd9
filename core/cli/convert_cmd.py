"""convert an Azure Kinect MKV recording into a session"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("mkv", help="Azure Kinect recording (.mkv from k4arecorder or the Azure Kinect Viewer)")
    parser.add_argument("session", help="new session folder to create (must not exist)")
    parser.add_argument("--subject", metavar="ID", help="pseudonymous subject id (never a name)")
    parser.add_argument("--operator", metavar="NAME", help="who made the recording")
    parser.epilog = "The device serial number in the recording is not copied into the session."


def run(args: argparse.Namespace) -> int:
    from capture.convert import convert_mkv
    from capture.session.reader import SessionReader

    n, problems = convert_mkv(args.mkv, args.session, subject_id=args.subject, operator=args.operator)
    for p in problems:
        print(f"warning: {p}", file=sys.stderr)
    print(f"wrote {args.session}: {SessionReader(args.session).describe()}")
    return 0
