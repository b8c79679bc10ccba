"""Machine state -> ISO 22400 time elements, failures, calendar, output KPI formulas."""

from __future__ import annotations

import pytest

from processors.kpi import MachineFold, compute_records
from processors.kpi.calendar import Calendar
from processors.kpi.timeline import FAULT, IDLE, OFFLINE, RUNNING, state_index
from tests.kpi.helpers import at, pick, plant, rows, run

DAY = "2025-03-03"  # a Monday, spring/autumn season


@pytest.mark.parametrize(
    ("value", "codes", "expected"),
    [
        ("running", {}, RUNNING),
        (" Fault ", {}, FAULT),
        ("offline", {}, OFFLINE),
        (2, {"2": "running"}, RUNNING),
        (2.0, {"2": "running"}, RUNNING),
        ("2", {"2": "running"}, RUNNING),
        (1, {"1": "idle"}, IDLE),
        (7, {"2": "running"}, None),
        ("warming", {}, None),
        (True, {"1": "idle"}, None),
    ],
)
def test_state_index(value, codes, expected) -> None:
    assert state_index(value, codes) == expected


# (readings, window, start, end, expected fields)
CASES = {
    "each state to its element": (
        [
            ("08:00", "state", "running"),
            ("08:10", "state", "setup"),
            ("08:15", "state", "fault"),
            ("08:20", "state", "idle"),
            ("08:30", "state", "planned_stop"),
            ("08:40", "state", "offline"),
            ("08:50", "state", "running"),
        ],
        "1h",
        "08:00",
        "09:00",
        {
            "pot_s": 3600,
            "apt_s": 1200,
            "aust_s": 300,
            "adet_s": 300,
            "adot_s": 600,
            "pdot_s": 600,
            "unknown_s": 600,
            "pbt_s": 3000,
            "failures": 1,
            "availability": 0.4,
        },
    ),
    "no data at all is unknown, counted as loss": (
        [],
        "1h",
        "08:00",
        "09:00",
        {
            "pot_s": 3600,
            "unknown_s": 3600,
            "pbt_s": 3600,
            "availability": 0.0,
            "pq": None,
            "performance": None,
            "oee": None,
            "mtbf_s": None,
            "mttr_s": None,
        },
    ),
    "window starting inside a state inherits it": (
        [("07:42", "state", "fault")],
        "1h",
        "08:00",
        "09:00",
        {"adet_s": 3600, "failures": 0, "mttr_s": None, "mtbf_s": None},
    ),
    "state before the first reading is unknown": (
        [("08:20", "state", "running")],
        "1h",
        "08:00",
        "09:00",
        {"apt_s": 2400, "unknown_s": 1200},
    ),
    "whole window planned: no planned busy time -> null": (
        [("07:00", "state", "planned_stop")],
        "1h",
        "08:00",
        "09:00",
        {"pbt_s": 0, "availability": None, "nee": None, "oee": None},
    ),
    "zero output": (
        [("08:00", "state", "running"), ("08:00", "count_total", 5), ("09:00", "count_total", 5)],
        "1h",
        "08:00",
        "09:00",
        {"pq": 0, "performance": 0.0, "quality": None, "oee": None, "throughput_per_h": 0.0},
    ),
    "repeated fault readings are one failure; two entries two failures": (
        [
            ("08:00", "state", "fault"),
            ("08:05", "state", "fault"),
            ("08:10", "state", "running"),
            ("08:20", "state", "fault"),
            ("08:30", "state", "running"),
            ("08:40", "state", "setup"),
        ],
        "1h",
        "08:00",
        "09:00",
        {"failures": 2, "adet_s": 1200, "mttr_s": 600, "aust_s": 1200, "mtbf_s": (1200 + 1200) / 2},
    ),
    "counter without states: rising is running, flat is idle": (
        [("08:00", "count_total", 0), ("08:30", "count_total", 900), ("08:45", "count_total", 900)],
        "1h",
        "08:00",
        "09:00",
        {"apt_s": 1800, "adot_s": 900, "unknown_s": 900, "pq": 900},
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_time_elements(name: str) -> None:
    readings, window, start, end, expected = CASES[name]
    rs = rows([(f"{DAY} {t}", m, v) for t, m, v in readings])
    rec = pick(run(plant(), rs, window, f"{DAY} {start}", f"{DAY} {end}"))
    for key, value in expected.items():
        assert rec[key] == (pytest.approx(value) if isinstance(value, float) else value), key


def test_output_kpis_formulas() -> None:
    p = plant([{"id": "m1", "ideal_cycle_s": 2.0}])
    rs = rows(
        [
            (f"{DAY} {t}", m, v)
            for t, m, v in [
                ("08:00", "state", "running"),
                ("08:00", "count_total", 100),
                ("08:00", "count_scrap", 10),
                ("08:40", "state", "setup"),
                ("08:50", "state", "fault"),
                ("09:00", "count_total", 1000),
                ("09:00", "count_scrap", 55),
            ]
        ]
    )
    rec = pick(run(p, rs, "1h", f"{DAY} 08:00", f"{DAY} 09:00"))
    pq, sq = 900, 45
    apt, aust, adet, pbt = 2400, 600, 600, 3600
    assert (rec["pq"], rec["sq"], rec["gq"]) == (pq, sq, pq - sq)
    assert rec["availability"] == pytest.approx(apt / pbt)
    assert rec["performance"] == pytest.approx(2.0 * pq / apt)
    assert rec["quality"] == pytest.approx((pq - sq) / pq)
    assert rec["oee"] == pytest.approx(2.0 * (pq - sq) / pbt)
    assert rec["nee"] == pytest.approx((apt + aust) / pbt * (2.0 * pq / apt) * (pq - sq) / pq)
    assert rec["throughput_per_h"] == pytest.approx(pq)
    assert rec["technical_efficiency"] == pytest.approx(apt / (apt + adet))
    assert rec["setup_rate"] == pytest.approx(aust / (apt + aust))
    assert rec["scrap_ratio"] == pytest.approx(sq / pq)
    assert rec["mtbf_s"] == pytest.approx(apt + aust)
    assert rec["mttr_s"] == pytest.approx(adet)
    assert rec["performance_suspect"] is False


def test_performance_over_105_is_reported_and_flagged() -> None:
    rs = rows(
        [
            (f"{DAY} {t}", m, v)
            for t, m, v in [
                ("08:00", "state", "running"),
                ("08:00", "count_total", 0),
                ("09:00", "count_total", 4000),
            ]
        ]
    )
    rec = pick(run(plant(), rs, "1h", f"{DAY} 08:00", f"{DAY} 09:00"))
    assert rec["performance"] == pytest.approx(4000 / 3600)
    assert rec["performance_suspect"] is True


def test_machine_without_ideal_cycle_has_no_performance() -> None:
    rs = rows(
        [
            (f"{DAY} 08:00", "state", "running"),
            (f"{DAY} 08:00", "count_total", 0),
            (f"{DAY} 09:00", "count_total", 10),
        ]
    )
    rec = pick(run(plant([{"id": "m1"}]), rs, "1h", f"{DAY} 08:00", f"{DAY} 09:00"))
    assert rec["availability"] == 1.0
    assert rec["performance"] is None and rec["oee"] is None


def test_unknown_as_planned_excludes_unknown_from_planned_busy_time() -> None:
    rs = rows([(f"{DAY} 08:30", "state", "running")])
    rec = pick(run(plant([{"id": "m1", "unknown_as": "planned"}]), rs, "1h", f"{DAY} 08:00", f"{DAY} 09:00"))
    assert (rec["unknown_s"], rec["pbt_s"], rec["availability"]) == (1800, 1800, 1.0)


def test_meter_kind_has_no_time_elements() -> None:
    rs = rows([(f"{DAY} 08:00", "energy_kwh", 0), (f"{DAY} 09:00", "energy_kwh", 10)])
    rec = pick(run(plant([{"id": "m1", "kind": "meter"}]), rs, "1h", f"{DAY} 08:00", f"{DAY} 09:00"))
    assert rec["pot_s"] is None and rec["availability"] is None
    assert rec["energy_kwh"] == 10


SHIFTS = [
    {"name": "day", "start": "08:00", "end": "20:00", "breaks": [{"start": "12:00", "end": "12:30"}]},
    {"name": "night", "start": "20:00", "end": "04:00", "days": ["mon", "tue", "wed", "thu", "fri"]},
]


def test_shift_across_midnight_and_unscheduled_time() -> None:
    p = plant(shifts=SHIFTS)
    rs = rows(
        [
            ("2025-03-03 19:00", "state", "running"),
            ("2025-03-03 19:00", "count_total", 0),
            ("2025-03-04 06:00", "count_total", 660),
        ]
    )
    recs = run(p, rs, "shift", "2025-03-03 19:00", "2025-03-04 06:00")
    night = [r for r in recs if r["scope"] == "machine" and r["shift"] == "night"]
    assert len(night) == 1
    n = night[0]
    assert (n["start"], n["end"]) == (at("2025-03-03 20:00"), at("2025-03-04 04:00"))
    assert n["pot_s"] == 8 * 3600 and n["apt_s"] == 8 * 3600
    assert n["pq"] == pytest.approx(480)  # 660 spread over 11 h, 8 h of it in the night shift
    # 04:00-06:00 is not scheduled: production there is reported apart, time is not in POT
    day = run(p, rs, "day", "2025-03-04 00:00", "2025-03-04 06:00")
    d = pick(day)
    # Monday night's tail 00-04 + Tuesday's day shift (its break is in POT, as PDOT) + night 20-24
    assert d["pot_s"] == (4 + 12 + 4) * 3600
    assert d["pdot_s"] == 1800
    assert d["pq_unscheduled"] == pytest.approx(120)


def test_calendar_break_is_planned_down_time() -> None:
    p = plant(shifts=SHIFTS)
    rs = rows([("2025-03-03 08:00", "state", "running")])
    rec = pick(run(p, rs, "1h", "2025-03-03 12:00", "2025-03-03 13:00"))
    assert (rec["pot_s"], rec["pdot_s"], rec["apt_s"], rec["pbt_s"]) == (3600, 1800, 1800, 1800)
    assert rec["availability"] == 1.0


def test_holiday_is_not_scheduled() -> None:
    p = plant(shifts=SHIFTS, holidays=["2025-03-03"])
    rs = rows([("2025-03-03 08:00", "state", "running")])
    rec = pick(run(p, rs, "1h", "2025-03-03 09:00", "2025-03-03 10:00"))
    assert rec["pot_s"] == 0 and rec["availability"] is None


def test_fault_entered_outside_the_calendar_counts_once_when_scheduled() -> None:
    p = plant(shifts=SHIFTS)
    rs = rows([("2025-03-03 07:30", "state", "fault"), ("2025-03-03 08:20", "state", "running")])
    rec = pick(run(p, rs, "1h", "2025-03-03 08:00", "2025-03-03 09:00"))
    assert (rec["failures"], rec["adet_s"], rec["mttr_s"]) == (1, 1200, 1200)


def test_state_at_from_is_last_state_before_from() -> None:
    rs = rows([(f"{DAY} 06:00", "state", "setup"), (f"{DAY} 07:00", "state", "idle")])
    recs = compute_records(plant(), rs, "all", at(f"{DAY} 08:00:30"), at(f"{DAY} 08:10"))
    rec = pick(recs)
    assert rec["window"] == "all" and rec["adot_s"] == 570 and rec["pot_s"] == 570


def test_late_reading_is_counted_not_applied() -> None:
    fold = MachineFold(plant().sites[0].lines[0].machines[0], Calendar("Asia/Shanghai"))
    assert fold.feed("count_total", 10, 2_000)
    assert not fold.feed("count_total", 5, 1_000)
    assert fold.late == 1
