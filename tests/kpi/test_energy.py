"""Energy: meter vs left-Riemann power, demand blocks, power factor, TOU split and cost, carbon."""

from __future__ import annotations

import pytest

from processors.kpi import power_factor, projected_demand_kw
from processors.kpi.tariff import FLAT, PEAK, VALLEY, Tou
from tests.kpi.helpers import at, pick, plant, rows, run

SPRING = "2025-04-07"  # spring/autumn season
SUMMER = "2025-07-07"  # summer/winter season
PRICES = {"tariff": {"prices": {"peak": 1.0, "flat": 0.5, "valley": 0.25}}}


@pytest.mark.parametrize(
    ("kwh", "kvarh", "expected"),
    [(0, 0, None), (3, 4, 0.6), (5, 0, 1.0), (0, 2, 0.0)],
)
def test_power_factor(kwh, kvarh, expected) -> None:
    assert power_factor(kwh, kvarh) == (None if expected is None else pytest.approx(expected))


def test_meter_energy_and_derived_kpis() -> None:
    rs = rows(
        [
            (f"{SPRING} 08:00", "energy_kwh", 1000),
            (f"{SPRING} 09:00", "energy_kwh", 1060),
            (f"{SPRING} 08:00", "energy_kvarh", 0),
            (f"{SPRING} 09:00", "energy_kvarh", 45),
            (f"{SPRING} 08:00", "count_total", 0),
            (f"{SPRING} 09:00", "count_total", 120),
            (f"{SPRING} 08:00", "count_scrap", 0),
            (f"{SPRING} 09:00", "count_scrap", 20),
            (f"{SPRING} 08:00", "state", "running"),
        ]
    )
    rec = pick(
        run(
            plant(grid_emission_factor_kg_per_kwh=0.5, **PRICES),
            rs,
            "1h",
            f"{SPRING} 08:00",
            f"{SPRING} 09:00",
        )
    )
    assert rec["energy_kwh"] == pytest.approx(60)
    assert rec["energy_kvarh"] == pytest.approx(45)
    assert rec["avg_kw"] == pytest.approx(60)
    assert rec["peak_demand_kw"] == pytest.approx(60)  # even use: every block 15 kWh -> 60 kW
    assert rec["load_factor"] == pytest.approx(1.0)
    assert rec["power_factor"] == pytest.approx(60 / (60**2 + 45**2) ** 0.5)
    assert rec["sec_kwh_per_unit"] == pytest.approx(60 / 100)
    assert rec["sec_kwh_per_pq"] == pytest.approx(60 / 120)
    assert rec["co2_kg"] == pytest.approx(30)
    assert rec["kwh_flat"] == pytest.approx(60) and rec["kwh_peak"] == 0 and rec["kwh_valley"] == 0
    assert rec["cost"] == pytest.approx(30)


def test_meter_is_preferred_over_power() -> None:
    rs = rows(
        [
            (f"{SPRING} 08:00", "energy_kwh", 0),
            (f"{SPRING} 09:00", "energy_kwh", 10),
            (f"{SPRING} 08:00", "power_kw", 500),
        ]
    )
    assert pick(run(plant(), rs, "1h", f"{SPRING} 08:00", f"{SPRING} 09:00"))["energy_kwh"] == pytest.approx(
        10
    )


def test_power_left_riemann_with_max_gap() -> None:
    p = plant([{"id": "m1", "power_max_gap_s": 600}])
    rs = rows(
        [
            (f"{SPRING} 08:00", "power_kw", 60),
            (f"{SPRING} 08:05", "power_kw", 120),
            (f"{SPRING} 08:10", "power_kw", 30),  # then silent for 50 min: only 10 min assumed
            (f"{SPRING} 08:00", "power_kvar", 0),
        ]
    )
    rec = pick(run(p, rs, "1h", f"{SPRING} 08:00", f"{SPRING} 09:00"))
    assert rec["energy_kwh"] == pytest.approx(60 * 5 / 60 + 120 * 5 / 60 + 30 * 10 / 60)
    assert rec["energy_kvarh"] == 0
    assert rec["power_factor"] == pytest.approx(1.0)


def test_no_energy_data_is_null_and_pf_zero_over_zero_is_null() -> None:
    rec = pick(
        run(
            plant(),
            rows([(f"{SPRING} 08:00", "state", "running")]),
            "1h",
            f"{SPRING} 08:00",
            f"{SPRING} 09:00",
        )
    )
    assert all(
        rec[k] is None
        for k in (
            "energy_kwh",
            "avg_kw",
            "peak_demand_kw",
            "power_factor",
            "cost",
            "co2_kg",
            "kwh_peak",
            "load_factor",
            "sec_kwh_per_unit",
        )
    )
    rs = rows(
        [
            (f"{SPRING} 08:00", "energy_kwh", 5),
            (f"{SPRING} 09:00", "energy_kwh", 5),
            (f"{SPRING} 08:00", "energy_kvarh", 5),
            (f"{SPRING} 09:00", "energy_kvarh", 5),
        ]
    )
    rec = pick(run(plant(), rs, "1h", f"{SPRING} 08:00", f"{SPRING} 09:00"))
    assert rec["energy_kwh"] == 0 and rec["power_factor"] is None and rec["load_factor"] is None


def test_cost_is_null_without_prices() -> None:
    rs = rows([(f"{SPRING} 08:00", "energy_kwh", 0), (f"{SPRING} 09:00", "energy_kwh", 10)])
    rec = pick(run(plant(), rs, "1h", f"{SPRING} 08:00", f"{SPRING} 09:00"))
    assert rec["cost"] is None and rec["kwh_flat"] == pytest.approx(10)


@pytest.mark.parametrize(
    ("day", "local", "period"),
    [
        (SUMMER, "13:59", FLAT),
        (SUMMER, "14:00", PEAK),
        (SUMMER, "21:59", PEAK),
        (SUMMER, "22:00", FLAT),
        (SUMMER, "00:00", VALLEY),
        (SUMMER, "05:59", VALLEY),
        (SUMMER, "11:30", VALLEY),
        (SUMMER, "23:59", FLAT),
        (SPRING, "14:59", FLAT),
        (SPRING, "15:00", PEAK),
        (SPRING, "01:59", FLAT),
        (SPRING, "02:00", VALLEY),
        (SPRING, "10:00", VALLEY),
        (SPRING, "09:59", FLAT),
        ("2025-12-15", "14:30", PEAK),
        ("2025-11-15", "14:30", FLAT),
        ("2025-02-10", "12:00", VALLEY),
        ("2025-03-10", "12:00", VALLEY),
    ],
)
def test_jiangsu_periods_both_seasons(day, local, period) -> None:
    assert Tou("Asia/Shanghai").period(at(f"{day} {local}")) == period


@pytest.mark.parametrize(
    ("day", "boundary", "before", "after"),
    [
        (SUMMER, "14:00", "kwh_flat", "kwh_peak"),
        (SPRING, "15:00", "kwh_flat", "kwh_peak"),
        (SPRING, "02:00", "kwh_flat", "kwh_valley"),
        (SUMMER, "22:00", "kwh_peak", "kwh_flat"),
    ],
)
def test_tou_split_across_a_period_boundary(day, boundary, before, after) -> None:
    b = at(f"{day} {boundary}")
    rs = rows([(b - 20 * 60_000, "energy_kwh", 0), (b + 40 * 60_000, "energy_kwh", 60)])
    rec = pick(run(plant(**PRICES), rs, "all", b - 3_600_000, b + 3_600_000))
    assert rec[before] == pytest.approx(20) and rec[after] == pytest.approx(40)
    prices = {"kwh_peak": 1.0, "kwh_flat": 0.5, "kwh_valley": 0.25}
    assert rec["cost"] == pytest.approx(20 * prices[before] + 40 * prices[after])


def test_custom_tariff_periods() -> None:
    seasons = [
        {
            "months": list(range(1, 13)),
            "peak": ["08:00-20:00"],
            "flat": [],
            "valley": ["00:00-08:00", "20:00-24:00"],
        }
    ]
    p = plant(tariff={"periods": seasons, "prices": {"peak": 2, "flat": 1, "valley": 0.5}})
    rs = rows([(f"{SPRING} 07:00", "energy_kwh", 0), (f"{SPRING} 09:00", "energy_kwh", 20)])
    rec = pick(run(p, rs, "all", f"{SPRING} 07:00", f"{SPRING} 09:00"))
    assert (rec["kwh_valley"], rec["kwh_peak"], rec["cost"]) == pytest.approx((10, 10, 25))


def test_demand_blocks_peak_and_partial_windows() -> None:
    rs = rows(
        [
            (f"{SPRING} 08:00", "energy_kwh", 0),
            (f"{SPRING} 08:15", "energy_kwh", 10),
            (f"{SPRING} 08:30", "energy_kwh", 40),
            (f"{SPRING} 09:00", "energy_kwh", 50),
        ]
    )
    recs = [
        r for r in run(plant(), rs, "15m", f"{SPRING} 08:00", f"{SPRING} 09:00") if r["scope"] == "machine"
    ]
    assert [r["peak_demand_kw"] for r in recs] == pytest.approx([40, 120, 20, 20])
    hour = pick(run(plant(), rs, "1h", f"{SPRING} 08:00", f"{SPRING} 09:00"))
    assert hour["peak_demand_kw"] == pytest.approx(120)
    assert hour["load_factor"] == pytest.approx(50 / (120 * 1))
    minute = pick(run(plant(), rs, "1m", f"{SPRING} 08:20", f"{SPRING} 08:21"))
    assert minute["peak_demand_kw"] is None  # no whole block inside a minute
    assert minute["energy_kwh"] == pytest.approx(2)
    assert projected_demand_kw(5, 5 * 60_000) == pytest.approx(60)
    assert projected_demand_kw(5, 0) is None


def test_line_and_site_sum_machines() -> None:
    p = plant([{"id": "a", "ideal_cycle_s": 1.0}, {"id": "b", "ideal_cycle_s": 4.0}])
    rs = rows(
        [
            (f"{SPRING} 08:00", "state", "running"),
            (f"{SPRING} 08:00", "count_total", 0),
            (f"{SPRING} 09:00", "count_total", 1800),
            (f"{SPRING} 08:00", "energy_kwh", 0),
            (f"{SPRING} 09:00", "energy_kwh", 10),
        ],
        machine="a",
    )
    rs += rows(
        [
            (f"{SPRING} 08:00", "state", "running"),
            (f"{SPRING} 08:30", "state", "fault"),
            (f"{SPRING} 08:00", "count_total", 0),
            (f"{SPRING} 09:00", "count_total", 450),
            (f"{SPRING} 08:00", "energy_kwh", 0),
            (f"{SPRING} 09:00", "energy_kwh", 30),
        ],
        machine="b",
    )
    recs = run(p, rs, "1h", f"{SPRING} 08:00", f"{SPRING} 09:00")
    line = pick(recs, "line")
    assert (line["pot_s"], line["apt_s"], line["adet_s"], line["pq"]) == (7200, 5400, 1800, 2250)
    assert line["availability"] == pytest.approx(5400 / 7200)
    assert line["performance"] == pytest.approx((1.0 * 1800 + 4.0 * 450) / 5400)
    assert line["energy_kwh"] == pytest.approx(40) and line["peak_demand_kw"] == pytest.approx(40)
    assert pick(recs, "site")["oee"] == pytest.approx(line["oee"])
