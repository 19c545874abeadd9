"""Verdict smoothing and hysteresis: hold times, flicker, NO HAND, live threshold changes."""

from __future__ import annotations

import math

import pytest

from core.runtime.verdict import (
    Verdict,
    VerdictSettings,
    VerdictTracker,
    verdict_settings_from_session,
    verdict_settings_to_session,
)

FPS = 30.0


def feed(tracker: VerdictTracker, scores, t0: float = 0.0, fps: float = FPS):
    """Feed a list of scores (None = no hand) at fps from t0; returns the states."""
    return [tracker.update(t0 + i / fps, s) for i, s in enumerate(scores)]


def first_change(states, verdict: Verdict) -> float | None:
    for s in states:
        if s.changed and s.verdict == verdict:
            return s.t_s
    return None


def test_pending_until_the_normal_hold_has_passed() -> None:
    tr = VerdictTracker(VerdictSettings(threshold=0.0, normal_hold_s=1.0))
    states = feed(tr, [0.5] * 45)
    assert states[0].verdict == Verdict.PENDING
    assert all(s.verdict == Verdict.PENDING for s in states if s.t_s < 1.0 - 1e-6)
    t = first_change(states, Verdict.NORMAL)
    assert t == pytest.approx(1.0, abs=1.5 / FPS)
    assert states[-1].verdict == Verdict.NORMAL
    assert sum(s.changed for s in states) == 1


def test_anomaly_after_its_hold_and_short_dips_do_not_flip() -> None:
    st = VerdictSettings(threshold=0.0, smoothing_s=0.0, normal_hold_s=0.5, anomaly_hold_s=1.0)
    tr = VerdictTracker(st)
    feed(tr, [1.0] * 30)
    assert tr.verdict == Verdict.NORMAL
    # dips shorter than the anomaly hold: stays NORMAL
    states = feed(tr, ([-1.0] * 15 + [1.0] * 3) * 4, t0=1.0)
    assert all(s.verdict == Verdict.NORMAL for s in states)
    # a sustained drop: ANOMALY only after anomaly_hold_s
    states = feed(tr, [-1.0] * 45, t0=3.0)
    t = first_change(states, Verdict.ANOMALY)
    assert t is not None and t - 3.0 == pytest.approx(1.0, abs=1.5 / FPS)


def test_flicker_around_the_threshold_is_suppressed() -> None:
    tr = VerdictTracker(VerdictSettings(threshold=0.0, smoothing_s=0.5))
    feed(tr, [0.3] * 60)
    assert tr.verdict == Verdict.NORMAL
    # frame-to-frame noise straddling the threshold, mean above it
    noisy = [0.05 + (0.4 if i % 2 else -0.4) for i in range(300)]
    states = feed(tr, noisy, t0=2.0)
    assert sum(s.changed for s in states) == 0
    assert all(s.verdict == Verdict.NORMAL for s in states)
    assert all(abs(s.smoothed) < 0.3 for s in states[30:])  # the average tames the noise
    # without smoothing the raw flicker never holds long enough to change anything either
    tr2 = VerdictTracker(VerdictSettings(threshold=0.0, smoothing_s=0.0, anomaly_hold_s=0.2, normal_hold_s=0.2))
    feed(tr2, [0.3] * 30)
    states = feed(tr2, [0.3 if (i // 3) % 2 else -0.3 for i in range(120)], t0=1.0)  # 100 ms runs
    assert sum(s.changed for s in states) == 0


def test_no_hand_after_its_hold_and_the_average_restarts() -> None:
    st = VerdictSettings(threshold=0.0, smoothing_s=0.5, no_hand_hold_s=0.5, normal_hold_s=0.5, anomaly_hold_s=0.5)
    tr = VerdictTracker(st)
    feed(tr, [1.0] * 60)
    assert tr.verdict == Verdict.NORMAL
    states = feed(tr, [None] * 6, t0=2.0)  # 0.2 s without a hand: no change
    assert all(s.verdict == Verdict.NORMAL and s.smoothed is None and s.raw is None for s in states)
    states = feed(tr, [None] * 30, t0=2.2)  # still no hand: NO HAND 0.5 s after it went
    t = first_change(states, Verdict.NO_HAND)
    assert t is not None and t == pytest.approx(2.5, abs=1.5 / FPS)
    # the next hand starts a fresh average (not dragged by the old 1.0)
    s = tr.update(4.0, -2.0)
    assert s.smoothed == pytest.approx(-2.0)
    assert s.verdict == Verdict.NO_HAND  # until the anomaly hold has passed
    states = feed(tr, [-2.0] * 30, t0=4.0 + 1 / FPS)
    assert first_change(states, Verdict.ANOMALY) is not None


def test_threshold_change_applies_live_with_the_hold() -> None:
    tr = VerdictTracker(VerdictSettings(threshold=0.0, smoothing_s=0.2, normal_hold_s=0.5, anomaly_hold_s=0.5))
    feed(tr, [0.4] * 40)
    assert tr.verdict == Verdict.NORMAL
    tr.set_threshold(0.5)
    assert tr.settings.threshold == 0.5
    states = feed(tr, [0.4] * 30, t0=2.0)
    t = first_change(states, Verdict.ANOMALY)
    assert t is not None and t - 2.0 == pytest.approx(0.5, abs=1.5 / FPS)
    tr.set_threshold(0.3)
    states = feed(tr, [0.4] * 30, t0=3.0)
    assert first_change(states, Verdict.NORMAL) is not None


def test_smoothing_is_time_based_not_frame_based() -> None:
    def smoothed_at_1s(fps: float) -> float:
        tr = VerdictTracker(VerdictSettings(smoothing_s=0.5))
        tr.update(0.0, 0.0)
        n = int(fps)
        states = [tr.update(i / fps, 1.0) for i in range(1, n + 1)]
        return states[-1].smoothed

    a, b = smoothed_at_1s(10), smoothed_at_1s(60)
    assert a == pytest.approx(1 - math.exp(-2), abs=1e-6)
    assert b == pytest.approx(a, abs=1e-6)


def test_time_going_backwards_restarts() -> None:
    tr = VerdictTracker(VerdictSettings(normal_hold_s=0.2))
    feed(tr, [1.0] * 30, t0=10.0)
    assert tr.verdict == Verdict.NORMAL
    s = tr.update(0.0, -1.0)  # seek back to the start
    assert s.verdict == Verdict.PENDING and s.smoothed == -1.0
    tr.reset()
    assert tr.verdict == Verdict.PENDING


def test_settings_round_trip_and_session_header() -> None:
    st = VerdictSettings(threshold=0.25, smoothing_s=0.3, normal_hold_s=2.0, anomaly_hold_s=1.5, no_hand_hold_s=0.7)
    assert VerdictSettings.from_dict(st.to_dict()) == st
    assert VerdictSettings.from_dict({"threshold": 1, "unknown": 3}) == VerdictSettings(threshold=1.0)
    header_settings = {"model": "x", **verdict_settings_to_session(st)}
    assert verdict_settings_from_session(header_settings) == st
    assert verdict_settings_from_session({}) is None
    assert verdict_settings_from_session(None) is None
    with pytest.raises(ValueError):
        VerdictSettings(normal_hold_s=-1)
    with pytest.raises(ValueError):
        VerdictSettings(threshold=float("nan"))
    assert str(Verdict.NO_HAND) == "NO HAND"
    assert Verdict("NO HAND") is Verdict.NO_HAND
