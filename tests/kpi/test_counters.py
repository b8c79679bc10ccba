"""Cumulative counters and meters: reset, wrap, even spreading across boundaries."""

from __future__ import annotations

import pytest

from processors.kpi import increase
from tests.kpi.helpers import at, pick, plant, rows, run

DAY = "2025-03-03"


@pytest.mark.parametrize(
    ("prev", "cur", "modulus", "expected"),
    [
        (10, 15, None, 5),
        (15, 15, None, 0),
        (100, 7, None, 7),  # reset: the new value counts from 0
        (65530, 4, 65536, 10),  # 16-bit register wrap
        (65535, 0, 65536, 1),
        (100, 7, 65536, 7),  # a drop far from the top is a reset, even with a modulus
        (1.5, 0.25, None, 0.25),
    ],
)
def test_increase(prev, cur, modulus, expected) -> None:
    assert increase(prev, cur, modulus) == expected


def test_reset_and_wrap_through_the_core() -> None:
    p = plant([{"id": "m1", "ideal_cycle_s": 1.0, "counter_modulus": 65536}])
    rs = rows(
        [
            (f"{DAY} {t}", "count_total", v)
            for t, v in [("08:00", 65000), ("08:10", 65530), ("08:20", 100), ("08:30", 50), ("08:40", 80)]
        ]
    )
    rec = pick(run(p, rs, "1h", f"{DAY} 08:00", f"{DAY} 09:00"))
    assert rec["pq"] == pytest.approx(530 + 106 + 50 + 30)


def test_increase_straddling_a_window_boundary_is_split_by_time() -> None:
    rs = rows([(f"{DAY} 08:59:30", "count_total", 0), (f"{DAY} 09:01:00", "count_total", 90)])
    recs = run(plant(), rs, "1m", f"{DAY} 08:59", f"{DAY} 09:01")
    by_start = {r["start"]: r["pq"] for r in recs if r["scope"] == "machine"}
    assert by_start[at(f"{DAY} 08:59")] == pytest.approx(30)
    assert by_start[at(f"{DAY} 09:00")] == pytest.approx(60)
    hour = run(plant(), rs, "1h", f"{DAY} 08:00", f"{DAY} 10:00")
    assert [r["pq"] for r in hour if r["scope"] == "machine"] == pytest.approx([30, 60])


def test_spread_sums_exactly() -> None:
    rs = rows([(at(f"{DAY} 08:00") + 7, "count_total", 0), (at(f"{DAY} 08:59") + 13, "count_total", 1000)])
    minutes = [
        r["pq"] for r in run(plant(), rs, "1m", f"{DAY} 08:00", f"{DAY} 09:00") if r["scope"] == "machine"
    ]
    assert sum(minutes) == pytest.approx(1000, abs=1e-9)
    hour = pick(run(plant(), rs, "1h", f"{DAY} 08:00", f"{DAY} 09:00"))
    assert hour["pq"] == 1000


def test_duplicate_timestamp_increase_is_instant() -> None:
    t = at(f"{DAY} 08:30")
    rs = rows([(t, "count_total", 0), (t, "count_total", 5)])
    rec = pick(run(plant(), rs, "1h", f"{DAY} 08:00", f"{DAY} 09:00"))
    assert rec["pq"] == 5
