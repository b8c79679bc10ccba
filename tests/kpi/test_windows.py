"""Clock-aligned windows in the plant's time zone, DST days, shift windows."""

from __future__ import annotations

import pytest

from processors.kpi.calendar import Calendar
from tests.kpi.helpers import at, pick, plant, rows, run


@pytest.mark.parametrize(
    ("day", "hours"),
    [("2025-03-30", 23), ("2025-10-26", 25), ("2025-06-15", 24)],
)
def test_berlin_day_windows_under_dst(day: str, hours: int) -> None:
    tz = "Europe/Berlin"
    p = plant(timezone=tz)
    start = at(f"{day} 00:00", tz)
    rs = rows(
        [
            (start - 3_600_000, "state", "running"),
            (start, "count_total", 0),
            (start + hours * 3_600_000, "count_total", hours * 100),
        ],
        tz=tz,
    )
    recs = [r for r in run(p, rs, "day", start, start + 1) if r["scope"] == "machine"]
    assert len(recs) == 1
    rec = recs[0]
    assert rec["start"] == start and rec["end"] - rec["start"] == hours * 3_600_000
    assert rec["pot_s"] == hours * 3600 and rec["apt_s"] == hours * 3600
    assert rec["pq"] == pytest.approx(hours * 100)
    assert rec["throughput_per_h"] == pytest.approx(100)
    hourly = [r for r in run(p, rs, "1h", rec["start"], rec["end"]) if r["scope"] == "machine"]
    assert len(hourly) == hours
    assert sum(r["apt_s"] for r in hourly) == rec["apt_s"]


def test_hour_windows_align_to_local_clock_for_half_hour_offsets() -> None:
    cal = Calendar("Asia/Kolkata")
    w = cal.windows("1h", at("2025-03-03 10:20", "Asia/Kolkata"), at("2025-03-03 11:10", "Asia/Kolkata"))
    assert [(x.start, x.end) for x in w] == [
        (at("2025-03-03 10:00", "Asia/Kolkata"), at("2025-03-03 11:00", "Asia/Kolkata")),
        (at("2025-03-03 11:00", "Asia/Kolkata"), at("2025-03-03 12:00", "Asia/Kolkata")),
    ]


def test_windows_carry_the_shift_name() -> None:
    p = plant(shifts=[{"name": "night", "start": "22:00", "end": "06:00"}])
    recs = run(p, rows([("2025-03-03 21:00", "state", "idle")]), "1h", "2025-03-03 21:00", "2025-03-03 23:00")
    assert [r["shift"] for r in recs if r["scope"] == "machine"] == [None, "night"]
    shift = pick(
        run(p, rows([("2025-03-03 21:00", "state", "idle")]), "shift", "2025-03-03 23:00", "2025-03-03 23:01")
    )
    assert (shift["start"], shift["end"], shift["adot_s"]) == (
        at("2025-03-03 22:00"),
        at("2025-03-04 06:00"),
        8 * 3600,
    )


def test_all_window_with_unaligned_bounds() -> None:
    rs = rows(
        [
            (at("2025-03-03 08:00"), "state", "running"),
            (at("2025-03-03 08:00"), "count_total", 0),
            (at("2025-03-03 09:00"), "count_total", 3600),
        ]
    )
    rec = pick(run(plant(), rs, "all", at("2025-03-03 08:00:10.500"), at("2025-03-03 08:00:40.250")))
    assert rec["pot_s"] == pytest.approx(29.75) and rec["apt_s"] == pytest.approx(29.75)
    assert rec["pq"] == pytest.approx(29.75)
