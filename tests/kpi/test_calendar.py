"""The shift calendar on a Chinese working calendar: statutory holidays and adjusted workdays (调休)
from chinese-calendar, explicit lists that override them, and the years the package does not know."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from brain.logs import _LogfmtFormatter
from brain.plant import PlantConfigError
from brain.plant.workdays import cn_statutory
from processors.kpi import Calendar, Context
from processors.kpi import calendar as calendar_module
from tests.kpi.helpers import at, pick, plant, rows, run

WEEKDAY_SHIFTS = [
    {"name": "day", "start": "08:00", "end": "20:00", "days": ["mon", "tue", "wed", "thu", "fri"]},
    {"name": "night", "start": "20:00", "end": "08:00", "days": ["mon", "tue", "wed", "thu", "fri"]},
]
WEEKEND_ONLY = [{"name": "weekend", "start": "08:00", "end": "16:00", "days": ["sat", "sun"]}]
ADJUSTED_SATURDAY = dt.date(2026, 2, 14)  # 调休: Saturday worked for Spring Festival 2026
NATIONAL_DAY = dt.date(2026, 10, 1)  # Thursday, statutory holiday


def names_on(cal: Calendar, day: dt.date) -> list[str]:
    start = cal.to_ms(day, 0)
    return [i.name for i in cal.shift_instances(start, cal.to_ms(day, 1440)) if i.start >= start]


def test_package_years_and_the_dates_used_here() -> None:
    holidays, workdays, covered = cn_statutory()
    assert covered == (2004, 2026)  # chinese-calendar 1.11.0; docs/REPORTS.md and CONFIG.md say so
    assert ADJUSTED_SATURDAY in workdays and ADJUSTED_SATURDAY.weekday() == 5
    assert NATIONAL_DAY in holidays and NATIONAL_DAY.weekday() == 3


def test_cn_workday_runs_the_weekday_shifts_and_holiday_none() -> None:
    cn = Calendar.from_plant(plant(shifts=WEEKDAY_SHIFTS, calendar="cn"))
    plain = Calendar.from_plant(plant(shifts=WEEKDAY_SHIFTS))
    assert names_on(plain, ADJUSTED_SATURDAY) == []
    assert names_on(cn, ADJUSTED_SATURDAY) == ["day", "night"]
    assert names_on(plain, NATIONAL_DAY) == ["day", "night"]
    assert names_on(cn, NATIONAL_DAY) == []
    assert names_on(cn, dt.date(2026, 10, 9)) == ["day", "night"]  # an ordinary Friday


def test_a_weekend_only_shift_does_not_run_on_an_adjusted_workday() -> None:
    cn = Calendar.from_plant(plant(shifts=WEEKEND_ONLY, calendar="cn"))
    assert names_on(cn, ADJUSTED_SATURDAY) == []
    assert names_on(cn, dt.date(2026, 2, 7)) == ["weekend"]  # an ordinary Saturday


def test_explicit_lists_override_the_package() -> None:
    p = plant(
        shifts=WEEKDAY_SHIFTS, calendar="cn", holidays=["2026-02-14"], workdays=["2026-10-02", "2026-10-03"]
    )
    cal = Calendar.from_plant(p)
    assert names_on(cal, ADJUSTED_SATURDAY) == []
    assert names_on(cal, dt.date(2026, 10, 2)) == ["day", "night"]  # a holiday Friday, worked here
    assert names_on(cal, dt.date(2026, 10, 3)) == ["day", "night"]  # a holiday Saturday, worked here
    assert names_on(cal, NATIONAL_DAY) == []


def test_workdays_without_a_package() -> None:
    cal = Calendar.from_plant(plant(shifts=WEEKDAY_SHIFTS, workdays=["2030-06-01"]))  # a Saturday
    assert names_on(cal, dt.date(2030, 6, 1)) == ["day", "night"]


@pytest.mark.parametrize(
    ("top", "path", "expected"),
    [
        ({"calendar": "us"}, "calendar", "one of cn"),
        ({"holidays": ["2026-05-01"], "workdays": ["2026-05-01"]}, "workdays", "not also in holidays"),
        ({"workdays": ["2026-02-30"]}, "workdays[0]", "a date YYYY-MM-DD"),
        ({"workdays": "2026-02-14"}, "workdays", "a list"),
    ],
)
def test_config_errors(top: dict, path: str, expected: str) -> None:
    with pytest.raises(PlantConfigError) as err:
        plant(shifts=WEEKDAY_SHIFTS, **top)
    assert err.value.path == path and expected in str(err.value), str(err.value)
    assert str(err.value).startswith("test.yaml: ")


def test_beyond_the_package_years_a_warning_once(caplog: pytest.LogCaptureFixture) -> None:
    calendar_module._warned_years.discard(("cn", 2027))
    cal = Calendar.from_plant(plant(shifts=WEEKDAY_SHIFTS, calendar="cn"))
    with caplog.at_level(logging.WARNING, logger="brain.calendar"):
        assert names_on(cal, dt.date(2027, 1, 4)) == ["day", "night"]  # weekdays still apply
        names_on(cal, dt.date(2027, 1, 5))
        Calendar.from_plant(plant(shifts=WEEKDAY_SHIFTS, calendar="cn")).shift_instances(
            at("2027-03-01 00:00"), at("2027-03-02 00:00")
        )
    lines = [_LogfmtFormatter().format(r) for r in caplog.records if r.getMessage() == "calendar.not_covered"]
    assert len(lines) == 1, lines
    assert "year=2027" in lines[0] and "covered=2004-2026" in lines[0] and "workdays:" in lines[0]
    assert cal.uncovered_years(at("2026-12-31 00:00"), at("2027-01-02 00:00")) == [2027]
    assert cal.uncovered_years(at("2026-12-01 00:00"), at("2027-01-01 00:00")) == []
    assert Calendar.from_plant(plant(shifts=WEEKDAY_SHIFTS)).uncovered_years(0, at("2040-01-01 00:00")) == []


def test_kpis_on_an_adjusted_workday_and_its_night() -> None:
    """brain kpi's core schedules the 调休 Saturday: the day record has both shifts' time."""
    p = plant(shifts=WEEKDAY_SHIFTS, calendar="cn")
    rs = rows([("2026-02-14 07:00", "state", "running"), ("2026-02-15 09:00", "state", "idle")])
    day = pick(run(p, rs, "day", "2026-02-14 00:00", "2026-02-15 00:00"))
    # all of Saturday is scheduled: Friday night's tail 00-08, the day shift, its own night shift
    # until midnight; running from 07:00 (before it the state is unknown)
    assert (day["pot_s"], day["apt_s"], day["unknown_s"]) == (24 * 3600, 17 * 3600, 7 * 3600)
    shifts = run(p, rs, "shift", "2026-02-14 00:00", "2026-02-15 12:00")
    night = pick(shifts, start=at("2026-02-14 20:00"))
    assert night["shift"] == "night" and night["end"] == at("2026-02-15 08:00")
    assert (night["pot_s"], night["apt_s"]) == (12 * 3600, 12 * 3600)
    sunday = pick(run(p, rs, "day", "2026-02-15 00:00", "2026-02-16 00:00"))
    assert sunday["pot_s"] == 8 * 3600  # only the tail of Saturday's night shift
    plain = pick(run(plant(shifts=WEEKDAY_SHIFTS), rs, "day", "2026-02-14 00:00", "2026-02-15 00:00"))
    assert plain["pot_s"] == 8 * 3600  # without 调休: only Friday night's tail


def test_the_stream_context_carries_the_work_calendar() -> None:
    """The processors build their calendar through Context.from_plant (the shared core)."""
    p = plant(shifts=WEEKDAY_SHIFTS, calendar="cn")
    cal = Context.from_plant(p).cal
    assert ADJUSTED_SATURDAY in cal.workdays and NATIONAL_DAY in cal.holidays
    assert names_on(cal, ADJUSTED_SATURDAY) == ["day", "night"]
