"""Threshold tuning: the operating point by rule on constructed scores, agreement with
scikit-learn's ROC, the bootstrap over subjects, the attempt-level ROC against the
protocol's own decision logic, labels and calibration files, and `spader tune`."""

from __future__ import annotations

import csv
import json
import math
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from core.errors import SpaderError
from core.tuning.operating import _cuts, choose_threshold, parse_rule, rates_at, roc


def _scores(seed: int = 0, n: int = 60, ties: bool = True):
    rng = np.random.default_rng(seed)
    normal = rng.normal(0.5, 0.3, n)
    anomal = rng.normal(-0.2, 0.4, n + 7)
    s = np.r_[normal, anomal]
    if ties:  # many equal scores, across the two classes too
        s = np.round(s, 1)
    return s, np.r_[np.ones(n, bool), np.zeros(n + 7, bool)]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("target", [0.5, 0.8, 0.9, 0.95, 1.0])
def test_a_sensitivity_target_gives_its_exact_boundary_ties_included(seed: int, target: float) -> None:
    s, pos = _scores(seed)
    t = choose_threshold(s, pos, parse_rule(f"sensitivity={target}"))
    assert not np.any(np.isclose(s, t))  # no labelled score sits on the threshold
    assert rates_at(s, pos, t)["sensitivity"] >= target
    lower = _cuts(s)[_cuts(s) < t]
    assert lower.size == 0 or rates_at(s, pos, lower.max())["sensitivity"] < target  # one cut lower: short of it


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("target", [0.5, 0.9, 0.95, 1.0])
def test_a_specificity_target_gives_its_exact_boundary_ties_included(seed: int, target: float) -> None:
    s, pos = _scores(seed)
    t = choose_threshold(s, pos, parse_rule(f"specificity={100 * target:g}"))  # per cent works too
    assert rates_at(s, pos, t)["specificity"] >= target
    higher = _cuts(s)[_cuts(s) > t]
    assert higher.size == 0 or rates_at(s, pos, higher.min())["specificity"] < target


@pytest.mark.parametrize("seed", range(5))
def test_youden_matches_a_brute_force_search_and_cost_one_is_youden(seed: int) -> None:
    s, pos = _scores(seed, ties=seed % 2 == 0)
    t = choose_threshold(s, pos, parse_rule("youden"))
    j = lambda th: sum(rates_at(s, pos, th).values()) - 1  # noqa: E731
    candidates = sorted(set(s.tolist()))  # brute force: every score as a threshold, and beyond the top
    best = max(j(c) for c in candidates + [max(candidates) + 1])
    assert j(t) == pytest.approx(best, abs=1e-12)
    assert choose_threshold(s, pos, parse_rule("cost=1")) == t
    # a higher cost of a missed anomaly never catches fewer anomalies
    assert rates_at(s, pos, choose_threshold(s, pos, parse_rule("cost=5")))["sensitivity"] >= rates_at(s, pos, t)["sensitivity"]


def test_the_roc_agrees_with_scikit_learn() -> None:
    from sklearn.metrics import roc_auc_score, roc_curve

    s, pos = _scores(3)
    r = roc(s, pos)
    # scikit-learn, anomaly positive, higher = more anomalous
    fpr, tpr, _ = roc_curve(~pos, -s, drop_intermediate=False)
    np.testing.assert_allclose(r["false_alarm"], fpr, atol=1e-12)
    np.testing.assert_allclose(r["sensitivity"], tpr, atol=1e-12)
    assert r["auroc"] == pytest.approx(roc_auc_score(~pos, -s), abs=1e-12)


@pytest.mark.parametrize("text, message", [("yoden", "unknown rule"), ("sensitivity=abc", "not a number"),
                                            ("specificity=150", "between 0 and 1"), ("cost=0", "positive"),
                                            ("sensitivity=nan", "finite")])
def test_a_bad_rule_is_a_message(text: str, message: str) -> None:
    with pytest.raises(SpaderError, match=message):
        parse_rule(text)


def test_bootstrap_intervals_are_reproducible_and_widen_with_fewer_subjects() -> None:
    from core.tuning.bootstrap import bootstrap_intervals

    rng = np.random.default_rng(0)

    def data(n_subjects: int):
        s, pos, subj, cls = [], [], [], []
        for k in range(n_subjects):
            shift = rng.normal(0, 0.3)  # a person's own offset: frames of one person move together
            for normal in (True, False):
                v = rng.normal(0.5 if normal else -0.3, 0.2, 40) + shift
                s += v.tolist()
                pos += [normal] * 40
                subj += [f"s{k}"] * 40
                cls += ["pigeon" if normal else "uncrossed"] * 40
        return np.array(s), np.array(pos), np.array(subj), np.array(cls)

    rule = parse_rule("youden")
    s, pos, subj, cls = data(40)
    t = choose_threshold(s, pos, rule)
    a = bootstrap_intervals(s, pos, subj, cls, t, rule, replicates=300, seed=7)
    assert a == bootstrap_intervals(s, pos, subj, cls, t, rule, replicates=300, seed=7)
    assert a != bootstrap_intervals(s, pos, subj, cls, t, rule, replicates=300, seed=8)
    width = lambda iv: iv[1] - iv[0]  # noqa: E731
    groups = []  # eight disjoint groups of 5 subjects: on average far wider intervals
    for g in range(8):
        few = np.isin(subj, [f"s{k}" for k in range(5 * g, 5 * g + 5)])
        groups.append(bootstrap_intervals(s[few], pos[few], subj[few], cls[few], t, rule, replicates=300, seed=7))
    for rate in ("sensitivity", "specificity"):
        assert np.mean([width(b[rate]) for b in groups]) > 1.5 * width(a[rate]), rate
    assert groups[0]["subjects"] == 5 and a["threshold"][0] <= t <= a["threshold"][1]
    assert set(a["per_class_caught"]) == {"uncrossed"}


@pytest.mark.parametrize("seed", range(6))
def test_the_attempt_roc_agrees_with_the_protocols_decision_logic_at_every_threshold(seed: int) -> None:
    from core.screening.attempts import AttemptJudge, Outcome
    from core.screening.protocol import load_protocol
    from core.tuning.attempt_roc import critical_threshold

    task = load_protocol().tasks[0]
    rng = np.random.default_rng(seed)
    for _ in range(20):
        n = int(rng.integers(5, 400))
        times = np.cumsum(rng.uniform(0.02, 0.12, n))
        hand = rng.uniform(size=n) > rng.uniform(0, 0.3)
        smooth = np.round(np.cumsum(rng.normal(0, 0.05, n)), 2)
        sm = [float(v) if h else None for v, h in zip(smooth, hand)]
        start = float(times[int(rng.integers(0, n))])
        # as recorded: the event's time to the microsecond (the judge had the exact one)
        crit = critical_threshold(times, hand, sm, round(start, 6), task.time_limit_s, task.hold_s)
        for th in np.r_[np.unique(smooth), np.unique(smooth) + 0.005, -99.0]:
            judge = AttemptJudge(task, 1, start)
            out = None
            for t, h, v in zip(times, hand, sm):
                out = judge.feed(float(t), bool(h), v, float(th))
                if out is not None:
                    break
            imitated = out is not None and out.outcome is Outcome.IMITATED
            assert imitated == (th <= crit), (th, crit)


def test_labels_files_round_trip_are_private_and_damage_is_a_message(tmp_path: Path) -> None:
    from core.tuning.labels import SessionLabels, read_labels, write_labels

    lab = SessionLabels(labeller="op-3")
    lab.add(10, 5, "normal")  # given backwards: kept in order
    lab.add(20, 30, "uncrossed")
    lab.add(25, 26, "ignore")
    lab.judge_attempt("pigeon", 1, "not_imitated")
    write_labels(tmp_path, lab)
    assert stat.S_IMODE(os.stat(tmp_path / "labels.json").st_mode) == 0o600
    back = read_labels(tmp_path)
    assert [(r.start, r.end, r.label) for r in back.ranges] == [(5, 10, "normal"), (20, 30, "uncrossed"), (25, 26, "ignore")]
    assert back.label_of(25) == "ignore" and back.label_of(27) == "uncrossed" and back.label_of(11) == ""
    assert back.attempts == {"pigeon:1": "not_imitated"} and back.labeller == "op-3"
    with pytest.raises(SpaderError, match="letters, digits"):
        lab.add(0, 1, "../x")
    (tmp_path / "labels.json").write_text('{"format": "spader-labels", "ranges": [{"start": 1}]}')
    with pytest.raises(SpaderError, match="damaged entry"):
        read_labels(tmp_path)
    (tmp_path / "labels.json").write_text("{not json")
    with pytest.raises(SpaderError, match="not a readable labels file"):
        read_labels(tmp_path)


def _labelled_screening(tmp_path: Path) -> Path:
    """The demo screened headless, its frames labelled from the demo's ground truth and its
    two attempts judged as the clinician saw them."""
    from core.assets import DEMO_SESSION
    from core.cli.main import main
    from core.screening.store import list_screenings
    from core.tuning.labels import SessionLabels, write_labels

    data = tmp_path / "data"
    assert main(["screening", "run", str(DEMO_SESSION), "--subject", "P-5", "--starts", "7.5", "17.5",
                 "--data", str(data)]) == 0
    (listed,) = list_screenings(data)
    session = listed.path / "session"
    truth = {int(r["index"]): r["class"] for r in csv.DictReader(open(DEMO_SESSION / "labels.csv"))}
    lab = SessionLabels(labeller="op-3")
    from capture.session import SessionReader

    for e in SessionReader(session).entries:  # the session numbers frames from 0 as the demo does
        c = truth.get(e.index, "transition")
        lab.add(e.index, e.index, "normal" if c == "pigeon" else "ignore" if c == "transition" else c)
    lab.judge_attempt("pigeon", 1, "not_imitated")
    lab.judge_attempt("pigeon", 2, "imitated")
    write_labels(session, lab)
    return listed.path


@pytest.mark.slow
def test_spader_tune_on_labelled_sessions_and_attempts_writes_a_calibration_and_a_plot(tmp_path: Path, capsys) -> None:
    from core.cli.main import main
    from core.tuning.calibration import read_calibration

    folder = _labelled_screening(tmp_path)
    capsys.readouterr()
    out, png = tmp_path / "calib.json", tmp_path / "roc.png"
    assert main(["tune", "--sessions", str(folder), "--normal", "normal", "--rule", "specificity=0.9",
                 "--out", str(out), "--plot", str(png), "--who", "op-3", "--replicates", "200"]) == 0
    text = capsys.readouterr().out
    assert "normals kept (specificity)" in text and "attempts: 1 imitated, 1 not imitated" in text
    c = read_calibration(out)
    assert c["rule"] == "specificity=0.9" and c["who"] == "op-3" and c["rates"]["specificity"] >= 0.9
    assert c["data"]["subjects"] == 1 and len(c["data"]["labels_sha256"]) == 64 and c["rates"]["attempts"]["imitated"] == 1
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and png.read_bytes()[:4] == b"\x89PNG"
    # a bad rule or no data: a message and a non-zero exit, never a traceback
    assert main(["tune", "--sessions", str(folder), "--normal", "normal", "--rule", "sensitivity=2x"]) != 0
    assert main(["tune", "--normal", "normal"]) != 0
    assert "nothing to tune on" in capsys.readouterr().err


def test_a_calibration_for_another_model_or_a_damaged_one_is_refused(tmp_path: Path) -> None:
    from support import tiny_model

    from core.tuning.calibration import model_sha256, read_calibration

    m1, m2 = tiny_model(), tiny_model(seed=1)
    assert model_sha256(m1) != model_sha256(m2)
    good = {"format": "spader-calibration", "format_version": 1, "threshold": -0.1,
            "model": {"name": "tiny", "sha256": model_sha256(m1)}}
    p = tmp_path / "c.json"
    p.write_text(json.dumps(good))
    assert read_calibration(p, m1)["threshold"] == -0.1
    with pytest.raises(SpaderError, match="tuned for another model"):
        read_calibration(p, m2)
    for bad, message in [({**good, "threshold": float("nan")}, "not a usable number"),
                         ({**good, "threshold": True}, "not a usable number"),
                         ({**good, "format_version": 9}, "version"), ({**good, "model": {}}, "names no model")]:
        p.write_text(json.dumps(bad))
        with pytest.raises(SpaderError, match=message):
            read_calibration(p, m1)
    p.write_text("{")
    with pytest.raises(SpaderError, match="not a readable calibration"):
        read_calibration(p)
