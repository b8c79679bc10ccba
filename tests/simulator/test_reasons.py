"""Reason readings of the simulated stops: which code, how many unlabelled, determinism. Pure."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from ingest.simulator.reasons import ReasonPicker

TREE = {
    "R01": "breakdown",
    "R02": "breakdown",
    "R20": "setup",
    "R31": "no_order",
    "R32": "starved",
    "R33": "blocked",
    "M05": "minor_stop",
}
LONG, SHORT = 3_600_000, 60_000


def picker(share: float = 0.2, seed: int = 1, tree: dict[str, str] = TREE) -> ReasonPicker:
    return ReasonPicker(tree, unlabelled_share=share, minor_stop_s=300, rng=random.Random(seed))


def test_codes_follow_the_state_and_the_stop_length() -> None:
    p = picker(0.0)
    assert {p.pick("fault", LONG) for _ in range(200)} == {"R01", "R02"}
    assert {p.pick("setup", LONG) for _ in range(50)} == {"R20"}
    assert {p.pick("idle", LONG) for _ in range(200)} == {"R31", "R32", "R33"}
    assert {p.pick("fault", SHORT) for _ in range(50)} == {"M05"}  # a jam, not a breakdown
    assert {p.pick("idle", 299_999) for _ in range(50)} == {"M05"}
    assert {p.pick("idle", 300_000) for _ in range(50)} <= {"R31", "R32", "R33"}
    assert {p.pick("setup", SHORT) for _ in range(50)} == {"R20"}  # a short changeover is a changeover
    assert {p.pick(s, LONG) for s in ("planned_stop", "offline", "running") for _ in range(20)} == {None}


@pytest.mark.parametrize("share", [0.0, 0.15, 0.5, 1.0])
def test_the_configured_share_stays_unlabelled(share: float) -> None:
    p = picker(share, seed=3)
    n = 20_000
    unlabelled = sum(p.pick("fault", LONG) is None for _ in range(n))
    assert abs(unlabelled / n - share) < 0.015


def test_no_code_in_the_tree_for_the_state_leaves_it_unlabelled() -> None:
    p = picker(0.0, tree={"R01": "breakdown"})
    assert p.pick("setup", LONG) is None and p.pick("idle", SHORT) is None
    assert p.pick("fault", SHORT) == "R01"  # no minor_stop code: the state's category


def test_same_seed_same_codes() -> None:
    def draws(seed: int) -> list[str | None]:
        p = picker(0.2, seed)
        return [p.pick(s, d) for s in ("fault", "idle", "setup") for d in (SHORT, LONG) for _ in range(50)]

    assert draws(5) == draws(5) != draws(6)
    assert Counter(draws(5))[None] > 0


def _machine_readings(picker_: ReasonPicker | None, hours: float = 24) -> list[tuple[int, dict]]:
    from ingest.simulator.model import MachineSim
    from ingest.simulator.params import DEFAULT_PERIODS, resolve
    from ingest.simulator.schedule import segments
    from tests.simulator.plants import plant

    p = plant()
    site, line, machine = next((s, ln, m) for s, ln, m in p.machines() if m.id == "printer")
    start = 1772380800000  # a Monday
    end = start + int(hours * 3_600_000)
    sim = MachineSim(
        machine, resolve(site.id, line.id, machine.id), segments(p, start, end), start, end,
        dict(DEFAULT_PERIODS), random.Random("7/printer"), None, picker_,
    )  # fmt: skip
    return list(sim.samples())


def test_the_machine_labels_its_stops_with_the_state_reading_that_starts_them() -> None:
    labelled = _machine_readings(picker(0.25, seed=9), hours=72)
    plain = _machine_readings(None, hours=72)
    # the picker has its own generator: states, counters, power are the same with or without it
    assert [(ts, {k: v for k, v in m.items() if k != "reason"}) for ts, m in labelled] == plain
    stops = [(ts, m) for ts, m in labelled if m.get("state") in ("fault", "setup", "idle")]
    reasons = [(ts, m) for ts, m in labelled if "reason" in m]
    assert len(stops) > 50
    assert all(m.get("state") in ("fault", "setup", "idle") for _, m in reasons)  # only at a stop's start
    assert 0.6 < len(reasons) / len(stops) < 0.9  # 25 % left unlabelled
    for _, m in reasons:
        assert (
            TREE[m["reason"]]
            in {
                "fault": ("breakdown", "minor_stop"),
                "setup": ("setup",),
                "idle": ("no_order", "starved", "blocked", "minor_stop"),
            }[m["state"]]
        )
    assert labelled == _machine_readings(picker(0.25, seed=9), hours=72)  # deterministic
