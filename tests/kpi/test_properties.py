"""Golden rule, as properties: 60 one-minute windows sum to the hour; machines sum to the line."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processors.kpi import Context, MachineFold, compute_records, merge_all, to_record, window_partials
from tests.kpi.helpers import at, plant

H0 = at("2025-03-03 08:00")
HOUR = 3_600_000
STATES = ["running", "setup", "fault", "idle", "planned_stop", "offline", 7]
TIME_FIELDS = ("pot_s", "pdot_s", "pbt_s", "apt_s", "aust_s", "adet_s", "adot_s", "unknown_s")
SUMMED = (
    *TIME_FIELDS,
    "pq",
    "sq",
    "failures",
    "energy_kwh",
    "energy_kvarh",
    "kwh_peak",
    "kwh_flat",
    "kwh_valley",
    "cost",
    "co2_kg",
    "pq_unscheduled",
)
PLANT = plant(
    [
        {"id": "a", "ideal_cycle_s": 1.5, "counter_modulus": 1000, "state_codes": {7: "running"}},
        {"id": "b", "ideal_cycle_s": 0.5, "power_max_gap_s": 90},
        {"id": "c"},
    ],
    shifts=[{"name": "x", "start": "08:10", "end": "08:50", "breaks": [{"start": "08:20", "end": "08:25"}]}],
    tariff={"prices": {"peak": 1.2, "flat": 0.7, "valley": 0.3}},
)

reading = st.tuples(
    st.sampled_from(["a", "b", "c"]),
    st.integers(H0 - 600_000, H0 + HOUR + 600_000),
    st.sampled_from(["state", "count_total", "count_scrap", "energy_kwh", "power_kw", "energy_kvarh"]),
    st.integers(0, 5000),
)


def _rows(items):
    out = []
    for machine, ts, metric, value in items:
        v = STATES[value % len(STATES)] if metric == "state" else value
        out.append(("s1", "l1", machine, metric, v, ts))
    return out


def _gq_follows(rec) -> bool:
    """GQ is not summed: it is PQ − SQ of the scope's own sums, null where SQ > PQ (the counters
    disagree) — so a window can have a GQ while one of its minutes or machines has none."""
    if rec["pq"] is None or rec["sq"] > rec["pq"] + 1e-9:
        return rec["gq"] is None and (rec["pq"] is None or rec["quality"] is None)
    return _close(rec["gq"], rec["pq"] - rec["sq"])


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (bool, str)) or isinstance(b, (bool, str)):
        return a == b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(reading, max_size=80))
def test_sixty_minutes_sum_to_the_hour(items) -> None:
    rs = _rows(items)
    minutes = compute_records(PLANT, rs, "1m", H0, H0 + HOUR)
    hour = compute_records(PLANT, rs, "1h", H0, H0 + HOUR)
    assert len(minutes) == 60 * len(hour)
    for h in hour:
        parts = [
            m
            for m in minutes
            if (m["scope"], m["line"], m["machine"]) == (h["scope"], h["line"], h["machine"])
        ]
        assert len(parts) == 60
        for key in SUMMED:
            values = [m[key] for m in parts if m[key] is not None]
            if h[key] is None:
                assert not values, key
            else:
                assert _close(sum(values), h[key]), (key, sum(values), h[key])
        assert _gq_follows(h) and all(_gq_follows(m) for m in parts)
        # KPIs recomputed from the sums of the minutes
        apt, pbt = sum(m["apt_s"] or 0 for m in parts), sum(m["pbt_s"] or 0 for m in parts)
        assert _close(apt / pbt if pbt > 0 else None, h["availability"]) or h["pot_s"] is None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(reading, max_size=80))
def test_partials_merge_to_exactly_the_longer_window(items) -> None:
    """The streaming path: merge 1-minute partials, finalize as the hour == the hour computed directly."""
    ctx = Context.from_plant(PLANT)
    hour_w = ctx.cal.windows("1h", H0, H0 + HOUR)
    minute_w = ctx.cal.windows("1m", H0, H0 + HOUR)
    for _, _, machine in PLANT.machines():
        fold = MachineFold(machine, ctx.cal)
        for _, _, _m, metric, value, ts in sorted(
            (r for r in _rows(items) if r[2] == machine.id), key=lambda r: r[5]
        ):
            fold.feed(metric, value, ts)
        fold.advance(H0 + HOUR)
        merged = merge_all(window_partials(fold.buckets, minute_w, machine, ctx))
        direct = window_partials(fold.buckets, hour_w, machine, ctx)[0]
        kw = {
            "scope": "machine",
            "site": "s1",
            "line": "l1",
            "machine": machine.id,
            "window": "1h",
            "start": H0,
            "end": H0 + HOUR,
            "shift": None,
            "final": True,
            "ctx": ctx,
        }
        a, b = to_record(merged, **kw), to_record(direct, **kw)
        for key in a:
            assert _close(a[key], b[key]), (key, a[key], b[key])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(reading, max_size=80))
def test_machines_sum_to_the_line(items) -> None:
    recs = compute_records(PLANT, _rows(items), "15m", H0, H0 + HOUR)
    for line in (r for r in recs if r["scope"] == "line"):
        parts = [r for r in recs if r["scope"] == "machine" and r["start"] == line["start"]]
        assert len(parts) == 3
        for key in SUMMED:
            values = [m[key] for m in parts if m[key] is not None]
            assert _close(sum(values) if values else None, line[key]), key
        assert _gq_follows(line) and all(_gq_follows(m) for m in parts)
        site = next(r for r in recs if r["scope"] == "site" and r["start"] == line["start"])
        assert all(_close(site[k], line[k]) for k in line if k not in ("scope", "line"))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(0, 26 * 60),
            st.sampled_from(["state", "count_total", "energy_kwh"]),
            st.integers(0, 5000),
        ),
        max_size=60,
    )
)
def test_hours_sum_to_the_day_and_minutes_to_the_shift(items) -> None:
    p = plant(
        shifts=[
            {
                "name": "night",
                "start": "22:00",
                "end": "06:00",
                "breaks": [{"start": "02:00", "end": "02:30"}],
            },
            {"name": "day", "start": "08:00", "end": "17:00"},
        ]
    )
    d0 = at("2025-03-03 00:00")
    rs = [
        (
            "s1",
            "l1",
            "m1",
            metric,
            STATES[v % 5] if metric == "state" else v,
            d0 - 7_200_000 + minute * 60_000,
        )
        for minute, metric, v in items
    ]
    day = pick_machine(compute_records(p, rs, "day", d0, d0 + 1))
    hours = [r for r in compute_records(p, rs, "1h", d0, d0 + 86_400_000) if r["scope"] == "machine"]
    assert len(day) == 1 and len(hours) == 24
    for key in ("pot_s", "pdot_s", "apt_s", "unknown_s", "pq", "energy_kwh", "kwh_valley", "failures"):
        values = [h[key] for h in hours if h[key] is not None]
        assert _close(sum(values) if values else None, day[0][key]), key
    for shift in pick_machine(compute_records(p, rs, "shift", d0, d0 + 86_400_000)):
        minutes = [
            r for r in compute_records(p, rs, "1m", shift["start"], shift["end"]) if r["scope"] == "machine"
        ]
        for key in ("pot_s", "pdot_s", "adet_s", "unknown_s", "pq", "failures"):
            values = [m[key] for m in minutes if m[key] is not None]
            assert _close(sum(values) if values else None, shift[key]), key


def pick_machine(recs):
    return [r for r in recs if r["scope"] == "machine"]
