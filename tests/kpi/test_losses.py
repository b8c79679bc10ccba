"""The loss split of one machine (processors/kpi/losses.py): the worked example of shared/KPIS.md
"Loss analysis (v2)" exactly, the label rules, and the identity APT + sum of stop categories = POT
on random input."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from brain.vocabulary import LOSS_CATEGORIES, PLANNED, STATES, UNKNOWN, UNLABELLED
from processors.kpi.losses import Interval, ReasonReading, pareto, split

MIN = 60_000
TREE = {"R01": "breakdown", "R20": "setup", "R31": "no_order"}


def _timeline(parts: list[tuple[str, int]], t0: int = 0) -> list[Interval]:
    out, t = [], t0
    for state, minutes in parts:
        out.append(Interval(t, t + minutes * MIN, state))
        t += minutes * MIN
    return out


def test_worked_example_of_kpis_md() -> None:
    """PBT 420 min: a 20 min fault R01, a 15 min changeover R20, six 2-min jams unlabelled, 10 min
    idle R31 -> breakdown 1,200 s, setup 900, minor_stop 720, no_order 600; 9 stops, 6 minor."""
    parts = [("running", 60), ("fault", 20), ("running", 40), ("setup", 15), ("running", 30)]
    for _ in range(6):
        parts += [("fault", 2), ("running", 28)]
    parts += [("idle", 10)]
    parts += [("running", 420 - sum(m for _, m in parts))]
    iv = _timeline(parts)
    assert iv[-1].end == 420 * MIN
    fault, setup, idle = iv[1], iv[3], iv[-2]
    reasons = [
        ReasonReading(fault.start + 5 * MIN, "R01", 1),  # during the fault
        ReasonReading(setup.start, "R20", 2),  # at the start of the changeover
        ReasonReading(idle.end - 1, "R31", 3),  # at its last millisecond
    ]
    got = split(iv, reasons, TREE, 300, 0, 420 * MIN)
    assert {c: s for c, s in got.seconds.items() if s} == {
        "breakdown": 1200.0,
        "setup": 900.0,
        "minor_stop": 720.0,
        "no_order": 600.0,
    }
    assert (got.stops, got.minor_stops, got.unattached) == (9, 6, 0)
    assert got.apt_s == 420 * 60 - 3420
    assert [c for c, _ in pareto(got)] == ["breakdown", "setup", "minor_stop", "no_order"]
    assert got.by_reason == {
        ("R01", "breakdown"): [1200.0, 1],
        ("R20", "setup"): [900.0, 1],
        (UNLABELLED, "minor_stop"): [720.0, 6],
        ("R31", "no_order"): [600.0, 1],
    }


def test_latest_received_label_wins_and_unmapped_codes_keep_the_state_category() -> None:
    iv = _timeline([("running", 5), ("fault", 10), ("idle", 10), ("running", 5)])
    r = [ReasonReading(iv[1].start, "R20", 2), ReasonReading(iv[2].start, "R01", 1)]  # one episode
    got = split(iv, r, TREE, 300, 0, 30 * MIN)
    assert got.by_reason == {("R20", "setup"): [1200.0, 1]} and got.seconds["setup"] == 1200.0
    got = split(iv, [ReasonReading(iv[1].start, "X9", 1)], TREE, 300, 0, 30 * MIN)
    # each state keeps its own category; the stop is counted once, under its first state's
    assert got.by_reason == {("unmapped:X9", "breakdown"): [600.0, 1], ("unmapped:X9", "idle"): [600.0, 0]}
    assert (got.seconds["breakdown"], got.seconds["idle"]) == (600.0, 600.0)
    got = split(iv, [ReasonReading(0, "R01", 1), ReasonReading(30 * MIN, "R01", 2)], TREE, 300, 0, 30 * MIN)
    assert got.unattached == 2  # while running, after the data: labels nothing, counted


def test_planned_and_offline_seconds_ignore_labels_and_a_window_sees_the_whole_episode() -> None:
    iv = _timeline([("running", 5), ("planned_stop", 10), ("fault", 6), ("offline", 3), ("running", 6)])
    whole = split(iv, [ReasonReading(iv[2].start, "R20", 1)], TREE, 300, 0, 30 * MIN)
    secs = whole.seconds
    assert (secs["planned"], secs["setup"], secs["unknown"]) == (600.0, 360.0, 180.0)
    assert whole.minor_stops == 0 and whole.stops == 1  # 6 unplanned minutes: not minor at 300 s
    assert split(iv, [], TREE, 300, 0, 30 * MIN).seconds["minor_stop"] == 0.0
    # a window holding only the last minute of the fault: still a breakdown, the stop not counted again
    part = split(iv, [], TREE, 300, 18 * MIN, 19 * MIN)
    assert part.seconds["breakdown"] == 60.0 and part.stops == 0
    assert split(iv, [], TREE, 600, 18 * MIN, 19 * MIN).seconds["minor_stop"] == 60.0


_STOP_STATES = [s for s in STATES if s != "running"]


@st.composite
def _machine(draw):
    n = draw(st.integers(1, 40))
    t = draw(st.integers(0, 10 * MIN))
    ivs = []
    for _ in range(n):
        t += draw(st.sampled_from([0, 0, 0, 7_000]))  # sometimes a gap without data
        d = draw(st.integers(1, 20 * MIN))
        ivs.append(Interval(t, t + d, draw(st.sampled_from(["running", "running", *_STOP_STATES]))))
        t += d
    codes = st.sampled_from([*TREE, "X9", "R99"])
    reasons = draw(
        st.lists(st.builds(ReasonReading, st.integers(0, t + MIN), codes, st.integers(0, 1000)), max_size=30)
    )
    # window bounds anywhere, and often on a state change (where an episode starts or ends)
    bound = st.integers(0, t + MIN) | st.sampled_from([iv.start for iv in ivs] + [iv.end for iv in ivs])
    cuts = sorted(draw(st.lists(bound, min_size=2, max_size=6, unique=True)))
    return ivs, reasons, cuts, draw(st.sampled_from([60, 300, 900]))


@settings(max_examples=300, deadline=None)
@given(_machine())
def test_identity_apt_plus_stop_categories_is_pot(case) -> None:
    ivs, reasons, cuts, minor_s = case
    windows = list(pairwise(cuts))
    parts = [split(ivs, reasons, TREE, minor_s, a, b) for a, b in windows]
    whole = split(ivs, reasons, TREE, minor_s, cuts[0], cuts[-1])
    for (a, b), p in zip(windows, parts, strict=True):
        pot = sum(max(0, min(iv.end, b) - max(iv.start, a)) for iv in ivs) / 1000
        assert abs(p.apt_s + sum(p.seconds.values()) - pot) < 1e-6
        unplanned = sum(s for c, s in p.seconds.items() if c not in (PLANNED, UNKNOWN))
        assert abs(sum(row[0] for row in p.by_reason.values()) - unplanned) < 1e-6
        assert sum(row[1] for row in p.by_reason.values()) == p.stops >= p.minor_stops
    # windows that partition a range add up to the range: nothing lost, nothing double counted
    for c in LOSS_CATEGORIES:
        assert abs(sum(p.seconds[c] for p in parts) - whole.seconds[c]) < 1e-6
    assert sum(p.stops for p in parts) == whole.stops
    assert sum(p.minor_stops for p in parts) == whole.minor_stops
