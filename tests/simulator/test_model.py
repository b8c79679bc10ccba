"""The pure simulator: determinism, realism (calendar, counters, meters vs power), KPI plausibility."""

from __future__ import annotations

import math
from collections import defaultdict
from itertools import pairwise

import pytest

from ingest.simulator import Simulation, parse_profile
from ingest.simulator.schedule import BREAK, SCHEDULED, UNSCHEDULED
from processors.kpi import compute_records
from tests.simulator.plants import plant

DAY_MS = 86_400_000
MON = 1772380800000  # 2026-03-02T00:00:00+08:00, a Monday
PERIODS = {"counters": 30, "energy": 30, "power": 30}


def _sim(seed: int = 7, start: int = MON, hours: float = 24, **kw) -> Simulation:
    kw.setdefault("periods", PERIODS)
    return Simulation(plant(), seed=seed, start=start, end=start + int(hours * 3_600_000), **kw)


@pytest.fixture(scope="module")
def day() -> tuple[Simulation, list[dict]]:
    sim = _sim(profile=parse_profile({"defaults": {"meter_reset_per_day": 1.0}}))
    return sim, list(sim.readings())


def test_same_seed_same_bytes_different_seed_different() -> None:
    a = b"".join(_sim(7, hours=6).jsonl_lines())
    b = b"".join(_sim(7, hours=6).jsonl_lines())
    c = b"".join(_sim(8, hours=6).jsonl_lines())
    assert a == b
    assert a != c
    assert len(a) > 10_000


def test_one_machine_does_not_depend_on_the_others() -> None:
    """Each machine has its own generator: restricting the plant keeps its readings."""
    full = [r for r in _sim(hours=4).readings() if r["machine"] == "vmc1"]
    sim = _sim(hours=4)
    keep = sim.keys.index(("sim", "cnc1", "vmc1"))
    solo = [r for r in sim.readings() if r["machine"] == "vmc1"]
    assert full == solo and keep >= 0


def test_readings_are_time_ordered_and_valid(day) -> None:
    _, readings = day
    assert all(a["ts"] <= b["ts"] for a, b in pairwise(readings))
    for r in readings:
        assert isinstance(r["value"], (int, float, str))
        if isinstance(r["value"], float):
            assert math.isfinite(r["value"])


def _state_at(readings: list[dict], machine: str):
    timeline = [(r["ts"], r["value"]) for r in readings if r["machine"] == machine and r["metric"] == "state"]

    def at(ts: int) -> str:
        current = None
        for t, v in timeline:
            if t > ts:
                break
            current = v
        return current

    return timeline, at


def test_states_follow_the_calendar(day) -> None:
    sim, readings = day
    kinds = {seg.kind for seg in sim.segments}
    assert kinds == {SCHEDULED, BREAK, UNSCHEDULED}
    for machine in ("printer", "reflow", "vmc1", "loom1"):
        timeline, at = _state_at(readings, machine)
        assert timeline[0][0] == sim.start
        states = {v for _, v in timeline}
        assert {"running", "planned_stop", "offline"} <= states, (machine, states)
        for seg in sim.segments:
            for ts in range(seg.start, seg.end, 60_000):
                s = at(ts)
                if seg.kind == BREAK:
                    assert s == "planned_stop", (machine, ts)
                elif seg.kind == UNSCHEDULED:
                    assert s == "offline", (machine, ts)
                else:
                    assert s in ("running", "idle", "setup", "fault"), (machine, ts, s)
    # over a day the model produces every kind of unplanned event somewhere in the plant
    all_states = {r["value"] for r in readings if r["metric"] == "state"}
    assert {"fault", "setup", "idle"} <= all_states
    assert not [r for r in readings if r["machine"] == "main_meter" and r["metric"] == "state"]


def _series(readings: list[dict], machine: str, metric: str) -> list[tuple[int, float]]:
    return [(r["ts"], r["value"]) for r in readings if r["machine"] == machine and r["metric"] == metric]


def test_counters_monotone_except_wraps_and_scrap_le_total(day) -> None:
    _, readings = day
    for machine in ("printer", "reflow", "loom1"):
        total = _series(readings, machine, "count_total")
        scrap = _series(readings, machine, "count_scrap")
        assert all(b >= a for (_, a), (_, b) in pairwise(total))
        assert all(b >= a for (_, a), (_, b) in pairwise(scrap))
        assert all(s <= t for (_, s), (_, t) in zip(scrap, total, strict=True))
        assert total[-1][1] > 0
    # vmc1 has counter_modulus 256: decreases are wraps (value near the top before)
    total = _series(readings, "vmc1", "count_total")
    wraps = [(a, b) for (_, a), (_, b) in pairwise(total) if b < a]
    assert wraps and all(a >= 200 and b < 56 for a, b in wraps)
    assert all(0 <= v < 256 for _, v in total)


def _meter_increase(values: list[tuple[int, float]]) -> tuple[float, int]:
    """KPI counter rule: a decrease is a reset, the new value counts from 0."""
    total, resets = 0.0, 0
    for (_, a), (_, b) in pairwise(values):
        if b >= a:
            total += b - a
        else:
            total += b
            resets += 1
    return total, resets


def test_energy_meters_match_power_and_resets_are_counted(day) -> None:
    sim, readings = day
    resets_seen = 0
    for (_, _, machine), ms in zip(sim.keys, sim.sims, strict=True):
        kwh, resets = _meter_increase(_series(readings, machine, "energy_kwh"))
        kvarh, _ = _meter_increase(_series(readings, machine, "energy_kvarh"))
        power = _series(readings, machine, "power_kw")
        upto = _series(readings, machine, "energy_kwh")[-1][0]  # the meter's last reading
        steps = pairwise([*power, (upto, 0.0)])
        riemann = sum(p * (min(t1, upto) - t0) / 3_600_000 for (t0, p), (t1, _) in steps if t0 < upto)
        assert kwh == pytest.approx(riemann, rel=1e-3, abs=0.01), machine
        assert kvarh > 0
        assert resets == ms.resets
        resets_seen += resets
        # power by state: running > setup > idle > off
        p = ms.params
        assert p.power_running_kw > p.power_setup_kw > p.power_idle_kw > p.power_off_kw
    assert resets_seen >= 1  # meter_reset_per_day = 1 in this fixture


def test_kpi_on_a_simulated_day_is_plausible(day) -> None:
    sim, readings = day
    rows = [(r["site"], r["line"], r["machine"], r["metric"], r["value"], r["ts"]) for r in readings]
    records = compute_records(sim.plant, rows, "all", sim.start, sim.end)
    lines = {r["line"]: r for r in records if r["scope"] == "line"}
    assert set(lines) == {"smt1", "cnc1", "weaving1"}
    for line, rec in lines.items():
        assert 0.3 <= rec["oee"] <= 0.95, (line, rec["oee"])
        assert 0.5 <= rec["availability"] <= 1.0
        assert 0.8 <= rec["performance"] <= 1.05
        assert rec["quality"] > 0.9
        assert rec["energy_kwh"] > 0
        assert rec["unknown_s"] == 0
    machines = {r["machine"]: r for r in records if r["scope"] == "machine"}
    assert machines["main_meter"]["oee"] is None and machines["main_meter"]["energy_kwh"] > 0


def test_periods_and_state_heartbeat() -> None:
    sim = _sim(
        hours=1, start=MON + 9 * 3_600_000, periods={"state": 60, "counters": 10, "energy": 20, "power": 5}
    )
    by = defaultdict(list)
    for r in sim.readings():
        by[(r["machine"], r["metric"])].append(r["ts"])
    assert len(by[("printer", "count_total")]) == 360  # [start, end): start, then every 10 s
    assert len(by[("printer", "energy_kwh")]) == 180
    assert len(by[("printer", "state")]) >= 60
    assert all(t % 10_000 == 0 for t in by[("printer", "count_total")])


def test_profile_overrides_and_errors() -> None:
    from ingest.simulator import ProfileError, resolve

    prof = parse_profile(
        {
            "defaults": {"scrap_rate": 0.1},
            "lines": {"smt*": {"mtbf_s": 60}},
            "machines": {"*/smt1/reflow": {"power_running_kw": 99}},
            "periods": {"counters": 2},
        }
    )
    p = resolve("sim", "smt1", "reflow", prof)
    assert (p.scrap_rate, p.mtbf_s, p.power_running_kw) == (0.1, 60, 99)
    assert resolve("sim", "cnc1", "vmc1").power_running_kw == 18  # line type default
    assert prof.periods["counters"] == 2
    for bad in (
        {"defaults": {"mtbf": 1}},
        {"defaults": {"scrap_rate": 5}},
        {"periods": {"power": 0}},
        {"x": 1},
    ):
        with pytest.raises(ProfileError):
            parse_profile(bad, "p.yaml")


def test_no_shift_calendar_runs_around_the_clock() -> None:
    from brain.plant import parse_plant

    p = parse_plant(
        {"sites": [{"id": "s", "lines": [{"id": "l", "machines": [{"id": "m", "ideal_cycle_s": 5}]}]}]}
    )
    sim = Simulation(p, seed=1, start=MON, end=MON + DAY_MS, periods=PERIODS)
    states = {r["value"] for r in sim.readings() if r["metric"] == "state"}
    assert "running" in states and not states & {"offline", "planned_stop"}
