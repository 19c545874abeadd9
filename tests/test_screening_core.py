"""The screening test's Qt-free core: the protocol file, the attempt judge, the screening
state machine and result, and the hash-chained audit trail."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from core.cli.main import main
from disk_support import FullDisk
from core.screening.attempts import AttemptJudge, Outcome
from core.screening.audit import AuditLog, verify
from core.screening.protocol import BUNDLED_PROTOCOL, ProtocolError, Task, load_protocol, parse_protocol
from core.screening.run import DISCLAIMER, Phase, Screening, ScreeningError

FPS = 30.0


def _protocol(**task) -> dict:
    t = {"id": "pigeon", "title": "Pigeon", "model": "bundled", "instruction": "Show the pigeon.",
         "time_limit_s": 10.0, "hold_s": 1.0, "attempts": 2}
    t.update(task)
    return {"format": "spader-protocol", "format_version": 1, "name": "test", "version": "1.0", "tasks": [t]}


def test_the_bundled_protocol_is_the_pigeon_task_and_says_its_numbers_are_settings() -> None:
    p = load_protocol()
    assert p.path == BUNDLED_PROTOCOL.resolve() and [t.id for t in p.tasks] == ["pigeon"]
    t = p.task("pigeon")
    assert t.model == "bundled" and t.time_limit_s == 10.0 and t.hold_s == 1.0 and t.attempts == 2
    assert "not clinical norms" in p.note and "not a diagnosis" in p.note
    assert parse_protocol(p.to_dict()).tasks == p.tasks  # round trip


@pytest.mark.parametrize("change,message", [
    ({"format": "something"}, "not a protocol file"),
    ({"format_version": 2}, "version 2 is not supported"),
    ({"tasks": []}, "non-empty list"),
    ({"extra": 1}, "unknown key"),
])
def test_a_bad_protocol_file_gets_a_message_naming_the_problem(change: dict, message: str) -> None:
    d = {**_protocol(), **change}
    with pytest.raises(ProtocolError, match=message):
        parse_protocol(d)


@pytest.mark.parametrize("task,message", [
    ({"time_limit_s": "ten"}, "time_limit_s must be a number"),
    ({"hold_s": 12.0}, "must be shorter than time_limit_s"),
    ({"attempts": 0}, "attempts must be a whole number"),
    ({"id": "Pigeon Task"}, "lowercase"),
    ({"instruction": ""}, "instruction is empty"),
    ({"colour": "red"}, "unknown key"),
])
def test_a_bad_task_gets_a_message_naming_the_task_and_key(task: dict, message: str) -> None:
    with pytest.raises(ProtocolError, match=f"task 1: .*{message}"):
        parse_protocol(_protocol(**task))


def test_damaged_or_missing_protocol_files(tmp_path: Path) -> None:
    bad = tmp_path / "p.json"
    bad.write_text('{"format": "spader-protocol", ')
    with pytest.raises(ProtocolError, match="not valid JSON"):
        load_protocol(bad)
    with pytest.raises(ProtocolError, match="not found"):
        load_protocol(tmp_path / "nope.json")


def _frames(timeline: list[tuple[float, float | None]], start: float = 0.0):
    """(t, smoothed) per frame at 30 fps from segments (duration_s, score or None = no hand)."""
    t, out = start, []
    for dur, score in timeline:
        for _ in range(int(round(dur * FPS))):
            out.append((round(t, 6), score))
            t += 1 / FPS
    return out


def _judge(timeline, task: Task | None = None, start: float = 0.0):
    task = task or Task("pigeon", "Pigeon", "bundled", "x", time_limit_s=10.0, hold_s=1.0)
    j = AttemptJudge(task, 1, start)
    for t, s in _frames(timeline, start):
        done = j.feed(t, s is not None, s, threshold=0.0)
        if done:
            return done
    return j.attempt


def test_imitated_when_the_pose_is_held_for_the_hold_time_and_the_time_is_when_it_began() -> None:
    a = _judge([(2.0, -0.5), (0.5, 0.2), (0.3, -0.1), (2.0, 0.3)])
    assert a.outcome is Outcome.IMITATED
    assert a.reached_s == pytest.approx(2.8, abs=1 / FPS)  # the broken hold at 2.0 s does not count
    assert a.end_t == pytest.approx(3.8, abs=1 / FPS)
    assert a.describe(10) == "imitated in 2.8 s"


def test_a_missing_hand_breaks_the_hold_and_a_time_out_is_not_imitated() -> None:
    a = _judge([(0.9, 0.5), (0.1, None)] * 12)
    assert a.outcome is Outcome.NOT_IMITATED and a.reached_s is None
    assert a.end_t == pytest.approx(10.0, abs=1 / FPS)
    assert a.describe(10) == "not imitated within 10 s"


def test_a_hold_that_completes_at_the_limit_counts_and_frames_before_the_start_are_ignored() -> None:
    task = Task("pigeon", "Pigeon", "bundled", "x", time_limit_s=3.0, hold_s=1.0)
    a = _judge([(2.0, -1.0), (1.1, 1.0)], task)
    assert a.outcome is Outcome.IMITATED and a.end_t == pytest.approx(3.0, abs=1 / FPS)
    j = AttemptJudge(task, 1, 5.0)
    assert j.feed(4.0, True, 1.0, 0.0) is None and j.holding_since is None


def _run(screening: Screening, timeline, start: float) -> dict | None:
    for t, s in _frames(timeline, start):
        e = screening.feed(t, s is not None, s, 0.0)
        if e:
            return e
    return None


def test_a_screening_first_attempt_fails_the_second_succeeds() -> None:
    sc = Screening(load_protocol())
    assert sc.phase is Phase.INSTRUCTION
    # hands resting below the threshold before the attempt: waiting, not judged
    assert _run(sc, [(3.0, -1.0)], 0.0) is None and sc.phase is Phase.INSTRUCTION
    sc.begin_attempt(3.0)
    end = _run(sc, [(10.5, -0.4)], 3.0)
    assert end["outcome"] == "not_imitated" and end["text"] == "not imitated within 10 s"
    assert sc.phase is Phase.OUTCOME and sc.can_retry() and sc.attempts_left() == 1
    assert sc.overall() == "incomplete"
    sc.begin_attempt(20.0)
    end = _run(sc, [(2.0, -0.4), (2.0, 0.4)], 20.0)
    assert end["outcome"] == "imitated" and end["reached_s"] == pytest.approx(2.0, abs=1 / FPS)
    assert not sc.can_retry()
    with pytest.raises(ScreeningError, match="no attempt is left"):
        sc.begin_attempt(30.0)
    sc.next_task(25.0)
    assert sc.phase is Phase.DONE and sc.overall() == "all imitated"
    s = sc.summary()
    assert s["finished"] and s["disclaimer"] == DISCLAIMER == "Screening aid, not a diagnosis."
    assert [a["outcome"] for a in s["tasks"][0]["attempts"]] == ["not_imitated", "imitated"]
    assert [e["event"] for e in sc.events] == ["attempt_started", "attempt_ended", "attempt_started",
                                              "attempt_ended", "task_left", "screening_finished"]


def test_two_failures_fail_the_task_and_invalid_or_interrupted_attempts_do_not_count() -> None:
    sc = Screening(load_protocol())
    sc.begin_attempt(0.0)
    assert sc.interrupt(1.0, "camera lost")["outcome"] == "interrupted"
    assert sc.can_retry() and sc.attempts_left() == 2  # an interrupted attempt is offered again
    sc.begin_attempt(5.0)
    _run(sc, [(10.1, -1.0)], 5.0)
    with pytest.raises(ScreeningError, match="say why"):
        sc.mark_invalid(16.0, "  ")
    sc.mark_invalid(16.0, "subject sneezed")
    assert sc.attempts_left() == 2 and sc.last_attempt.describe(10) == "invalid: subject sneezed"
    for start in (20.0, 40.0):
        sc.begin_attempt(start)
        _run(sc, [(10.1, -1.0)], start)
    assert not sc.can_retry() and sc.results()[0].result == "fail" and sc.overall() == "not imitated"
    sc.mark_invalid(60.0, "wrong subject", task_level=True)
    assert sc.results()[0].result == "invalid" and sc.overall() == "invalid"


def test_the_audit_trail_verifies_and_names_the_first_edited_or_removed_line(tmp_path: Path, capsys) -> None:
    log = AuditLog(tmp_path / "data")
    for i in range(5):
        log.append("attempt_started", {"screening": "S1", "attempt": i + 1}, actor="op-3")
    assert stat.S_IMODE(os.stat(log.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(log.folder).st_mode) == 0o700
    assert verify(log.folder).ok and verify(log.folder).entries == 5
    assert main(["audit", "verify", str(log.folder)]) == 0
    assert "5 entries, the chain is intact" in capsys.readouterr().out
    lines = log.path.read_text().splitlines()
    # an edited entry: its own line
    edited = json.loads(lines[2])
    edited["data"]["attempt"] = 99
    log.path.write_text("\n".join(lines[:2] + [json.dumps(edited)] + lines[3:]) + "\n")
    r = verify(log.folder)
    assert not r.ok and r.line == 3 and "edited" in r.problem
    assert main(["audit", "verify", str(log.folder)]) == 1
    assert "line 3" in capsys.readouterr().err
    # a removed entry: the line after the gap
    log.path.write_text("\n".join(lines[:1] + lines[2:]) + "\n")
    r = verify(log.folder)
    assert not r.ok and r.line == 2 and "removed or inserted" in r.problem
    # the last entry removed: the head file catches it
    log.path.write_text("\n".join(lines[:4]) + "\n")
    r = verify(log.folder)
    assert not r.ok and "removed from the end" in r.problem
    # restored, it verifies again and the chain goes on
    log.path.write_text("\n".join(lines) + "\n")
    assert log.append("report_exported", {"screening": "S1"})["seq"] == 6 and verify(log.folder).ok


def _result(index: int, has_hand: bool = True):
    from core.runtime.results import FrameResult
    from core.runtime.verdict import Verdict, VerdictState
    from core.spader.scorers import SCORER_KEYS

    scores = {k: 0.01 * index + i for i, k in enumerate(SCORER_KEYS)} if has_hand else {}
    return FrameResult(index=index, frame_shape=(576, 640), has_hand=has_hand, reason="" if has_hand else "no hand",
                       scores=scores, box=(10, 20, 110, 120) if has_hand else None, device_ts_us=index * 33333,
                       captured_ns=10**9 + index, verdict=VerdictState(Verdict.NORMAL if has_hand else Verdict.NO_HAND,
                                                                      0.5 if has_hand else None, None, index / 30, False))


def test_results_and_events_are_recorded_in_the_session_and_read_back(tmp_path: Path) -> None:
    from core.screening.record import EventsLog, ResultsLog, read_events, read_results

    log = ResultsLog(tmp_path)
    for i in range(5):
        log.write(_result(i, has_hand=i != 3), t_s=i / 30, threshold=-0.04)
    log.close()
    rows = read_results(tmp_path)
    assert [int(r["index"]) for r in rows] == [0, 1, 2, 3, 4]
    assert rows[2]["spader"] == f"{0.02 + 6:.6f}" and rows[2]["verdict"] == "NORMAL" and rows[2]["threshold"] == "-0.040000"
    assert rows[3]["has_hand"] == "0" and rows[3]["reason"] == "no hand" and rows[3]["spader"] == "" and rows[3]["x0"] == ""
    assert stat.S_IMODE(os.stat(tmp_path / "results.csv").st_mode) == 0o600
    # a cut last line (a crash mid-write) is left out, the rest stays
    with open(tmp_path / "results.csv", "a") as f:
        f.write("5,0.16,")
    assert len(read_results(tmp_path)) == 5
    ev = EventsLog(tmp_path)
    ev.write({"event": "attempt_started", "t": 1.0, "task_id": "pigeon", "attempt": 1})
    ev.close()
    with open(tmp_path / "events.jsonl", "a") as f:
        f.write('{"event": "attempt_en')
    events = list(read_events(tmp_path))
    assert len(events) == 1 and events[0]["event"] == "attempt_started" and events[0]["v"] == 1 and events[0]["time"]


CHILD = r"""
import sys, time
sys.path.insert(0, {tests!r})
from test_screening_core import _result
from core.screening.record import ResultsLog
log = ResultsLog({folder!r})
i = 0
while True:
    log.write(_result(i), t_s=i / 30, threshold=0.0)
    print(i, flush=True)
    i += 1
    time.sleep(1 / 30)
"""


@pytest.mark.slow
def test_a_sigkill_while_recording_results_loses_at_most_one_second(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    from core.screening.record import read_results

    for k in range(3):
        folder = tmp_path / f"s{k}"
        folder.mkdir()
        code = CHILD.format(tests=str(Path(__file__).parent), folder=str(folder))
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                                 cwd=str(Path(__file__).parents[1]))
        last = -1
        for line in child.stdout:  # type: ignore[union-attr]
            last = int(line)
            if last >= 20 + 7 * k:
                break
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        rows = read_results(folder)
        assert rows, "nothing recorded"
        assert int(rows[-1]["index"]) >= last - 30  # at most 1 s (30 frames) lost; in practice none
        assert [int(r["index"]) for r in rows] == list(range(len(rows)))


def test_two_audit_writers_on_one_log_keep_the_chain(tmp_path: Path) -> None:
    import threading

    a, b = AuditLog(tmp_path), AuditLog(tmp_path)  # e.g. a running screening and a report export
    def write(log: AuditLog) -> None:
        for i in range(30):
            log.append("attempt_started", {"i": i})
    threads = [threading.Thread(target=write, args=(x,)) for x in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    r = verify(tmp_path)
    assert r.ok and r.entries == 60


def test_a_full_disk_keeps_every_line_written_before_and_lines_after_it_readable(tmp_path: Path, monkeypatch) -> None:
    from core.errors import SpaderError
    from core.screening.record import EventsLog, ResultsLog, read_events, read_results

    disk = FullDisk(monkeypatch, tmp_path)
    log, ev = ResultsLog(tmp_path), EventsLog(tmp_path)
    for i in range(3):
        log.write(_result(i), t_s=i / 30, threshold=0.0)
    ev.write({"event": "attempt_started", "t": 0.0})
    disk.fill()
    with pytest.raises(SpaderError, match="No space left on device"):
        log.write(_result(3), t_s=0.1, threshold=0.0)  # half a row reaches the file
    disk.fill()  # again: the event line is cut too
    with pytest.raises(SpaderError, match="No space left on device"):
        ev.write({"event": "attempt_ended", "t": 0.1})
    disk.free()  # space was freed: the next lines are whole lines again
    log.write(_result(4), t_s=4 / 30, threshold=0.0)
    ev.write({"event": "attempt_ended", "t": 0.2})
    log.close(), ev.close()
    assert [int(r["index"]) for r in read_results(tmp_path)] == [0, 1, 2, 4]
    assert [(e["event"], e["t"]) for e in read_events(tmp_path)] == [("attempt_started", 0.0), ("attempt_ended", 0.2)]


def test_a_full_disk_during_an_attempt_interrupts_it_and_keeps_its_events_in_order(tmp_path: Path, monkeypatch) -> None:
    from core.screening.record import read_events, read_results
    from core.screening.session import ScreeningSession
    from core.screening.store import ScreeningFolder, list_screenings

    data = tmp_path / "data"
    folder = ScreeningFolder.create(data, {"subject_id": "P-0001"})
    folder.session_path.mkdir()
    sess = ScreeningSession(folder, load_protocol(), AuditLog(data), "op-3")
    sess.open_logs()
    disk = FullDisk(monkeypatch, data)
    for i in range(10):
        sess.on_result(_result(i), i / FPS, 0.0)
    sess.begin_attempt()
    for i in range(10, 20):
        sess.on_result(_result(i), i / FPS, 0.0)
    disk.fill()
    sess.on_result(_result(20), 20 / FPS, 0.0)
    assert sess.write_error and "No space left" in sess.write_error
    assert sess.phase is Phase.OUTCOME and sess.screening.last_attempt.outcome is Outcome.INTERRUPTED
    assert sess.unwritten_events >= 1  # the attempt's end could not be written yet
    assert sess.on_result(_result(21), 21 / FPS, 0.0) == []  # nothing more is judged
    disk.free()
    sess.note("disk freed")  # the next event writes the waiting ones first, in order
    assert sess.unwritten_events == 0
    sess.close(finished=True)  # a recording with a gap is never "complete"
    assert [int(r["index"]) for r in read_results(folder.session_path)] == list(range(20))
    events = [(e["event"], e.get("outcome")) for e in read_events(folder.session_path)]
    assert events == [("attempt_started", None), ("attempt_ended", "interrupted"), ("note", None)]
    assert "recording failed" in next(e for e in read_events(folder.session_path) if e["event"] == "attempt_ended")["note"]
    assert verify(data).ok and verify(data).entries == 3
    (listed,) = list_screenings(data)
    assert listed.status == "interrupted"


def test_the_result_of_an_interrupted_screening_is_rebuilt_from_its_events() -> None:
    from core.screening.run import summary_from_events

    sc = Screening(load_protocol())
    sc.begin_attempt(3.0)
    _run(sc, [(10.5, -0.4)], 3.0)  # not imitated
    sc.mark_invalid(13.5, "the subject sneezed")
    sc.begin_attempt(14.0)
    _run(sc, [(2.0, -0.4)], 14.0)  # still running when the process died
    proto = load_protocol().to_dict()
    s = summary_from_events(sc.events, proto, last_t=16.0)
    (task,) = s["tasks"]
    assert [(a["number"], a["outcome"]) for a in task["attempts"]] == [(1, "invalid"), (2, "interrupted")]
    assert task["attempts"][0]["invalid_reason"] == "the subject sneezed"
    assert task["attempts"][1]["end_t"] == 16.0 and task["attempts"][1]["note"] == "the screening stopped"
    assert task["result"] == "incomplete" and s["overall"] == "incomplete" and s["finished"] is False
    # a finished run rebuilt from its events gives the result it recorded
    done = Screening(load_protocol())
    done.begin_attempt(0.0)
    _run(done, [(2.0, 0.4)], 0.0)
    done.next_task(3.0)
    assert summary_from_events(done.events, proto)["tasks"] == done.summary()["tasks"]


def test_a_report_is_private_from_its_first_byte_and_replaces_an_older_one_whole(tmp_path: Path) -> None:
    from core.private_files import write_private as _write_private

    out = tmp_path / "r.pdf"
    out.write_bytes(b"old")
    out.chmod(0o644)
    old = os.umask(0)
    try:
        _write_private(out, b"%PDF-new")
    finally:
        os.umask(old)
    assert out.read_bytes() == b"%PDF-new" and stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["r.pdf"]  # no temporary file left
