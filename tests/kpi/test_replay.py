"""Streaming reuse: JSON state round trip, late data within grace, too-late readings."""

from __future__ import annotations

import json
import random

import pytest

from processors.kpi import OK, REPLAYED, TOO_LATE, Context, MachineFold, ReplayMachine, window_partials
from tests.kpi.helpers import at, plant

H0 = at("2025-03-03 08:00")
PLANT = plant([{"id": "m1", "ideal_cycle_s": 1.0, "power_max_gap_s": 60}])
MACHINE = PLANT.sites[0].lines[0].machines[0]
CTX = Context.from_plant(PLANT)


def _readings(n: int = 400, seed: int = 7) -> list[tuple[str, object, int]]:
    rnd = random.Random(seed)
    out, total, kwh = [], 0, 0.0
    for i in range(n):
        ts = H0 + i * 9_000 + rnd.randrange(0, 5_000)
        kind = rnd.randrange(4)
        if kind == 0:
            out.append(("state", rnd.choice(["running", "idle", "fault", "setup"]), ts))
        elif kind == 1:
            total += rnd.randrange(0, 20)
            out.append(("count_total", total, ts))
        elif kind == 2:
            kwh += rnd.random()
            out.append(("energy_kwh", kwh, ts))
        else:
            out.append(("power_kw", rnd.random() * 50, ts))
    return out


def _hour(fold: MachineFold) -> dict:
    return window_partials(fold.buckets, CTX.cal.windows("1h", H0, H0 + 3_600_000), MACHINE, CTX)[0]


def test_state_round_trips_through_json() -> None:
    fold = MachineFold(MACHINE, CTX.cal)
    for metric, value, ts in _readings():
        fold.feed(metric, value, ts)
    fold.advance(H0 + 3_600_000)
    again = MachineFold.from_dict(json.loads(json.dumps(fold.to_dict())), MACHINE, CTX.cal)
    assert again.to_dict() == fold.to_dict()
    assert _hour(again) == _hour(fold)


def test_late_data_within_grace_gives_the_in_order_result() -> None:
    readings = _readings()
    ordered = MachineFold(MACHINE, CTX.cal)
    for metric, value, ts in sorted(readings, key=lambda r: r[2]):
        ordered.feed(metric, value, ts)
    ordered.advance(H0 + 3_600_000)
    # shuffle locally: each reading arrives up to ~60 s late
    rnd = random.Random(1)
    arrival = sorted(readings, key=lambda r: r[2] + rnd.randrange(0, 60_000))
    rm = ReplayMachine(MACHINE, CTX.cal, grace_ms=120_000)
    outcomes = []
    for metric, value, ts in arrival:
        outcomes.append(rm.add(metric, value, ts))
        rm.set_watermark(ts)
        rm.advance(ts - 120_000)
        rm = ReplayMachine.from_dict(json.loads(json.dumps(rm.to_dict())), MACHINE, CTX.cal, 120_000)
    rm.advance(H0 + 3_600_000)
    assert REPLAYED in outcomes and OK in outcomes and TOO_LATE not in outcomes
    a, b = _hour(rm.live), _hour(ordered)
    for key in a:
        assert a[key] == pytest.approx(b[key]), key


def test_too_late_is_refused_and_counted() -> None:
    rm = ReplayMachine(MACHINE, CTX.cal, grace_ms=10_000)
    assert rm.add("state", "running", H0) == OK
    rm.set_watermark(H0 + 60_000)
    assert rm.add("state", "fault", H0 + 30_000) == TOO_LATE
    assert rm.too_late == 1


def test_replay_reports_dirty_buckets() -> None:
    rm = ReplayMachine(MACHINE, CTX.cal, grace_ms=600_000)
    rm.add("count_total", 0, H0)
    rm.add("count_total", 100, H0 + 300_000)
    rm.live.take_dirty()
    assert rm.add("count_total", 90, H0 + 60_000) == REPLAYED
    assert rm.live.take_dirty()  # the windows to re-emit
