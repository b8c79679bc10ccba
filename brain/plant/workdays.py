"""The work calendar of a plant: statutory holidays and adjusted workdays (调休), resolved once at load.

`calendar: cn` takes China's statutory holidays and 调休 workdays from the maintained package
`chinese-calendar` (PyPI, data from the State Council's yearly notices); explicit `holidays:` and
`workdays:` lists override it date by date. The package knows a fixed range of years
(`CN_SOURCE_YEARS` of the pinned version): beyond it only the explicit lists apply and the shift
calendar logs `calendar.not_covered` once per year (processors/kpi/calendar.py), so a plant that
runs into a year the package does not know yet hears about it instead of silently working through
Spring Festival.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

from brain.plant.model import PlantConfigError, WorkCalendar

CALENDARS = ("cn",)


@cache
def cn_statutory() -> tuple[frozenset[dt.date], frozenset[dt.date], tuple[int, int]]:
    """(holidays, 调休 workdays, (first year, last year)) from the chinese-calendar package."""
    import chinese_calendar

    holidays = frozenset(chinese_calendar.holidays)
    workdays = frozenset(chinese_calendar.workdays)
    years = sorted({d.year for d in holidays | workdays})
    return holidays, workdays, (years[0], years[-1])


def work_calendar(
    source: str,
    calendar: str | None,
    holidays: tuple[dt.date, ...],
    workdays: tuple[dt.date, ...],
) -> WorkCalendar:
    """Merge the statutory dates of `calendar` with the plant's own lists (which win)."""
    both = sorted(set(holidays) & set(workdays))
    if both:
        raise PlantConfigError(source, "workdays", "dates that are not also in holidays", both[0].isoformat())
    if calendar is None:
        return WorkCalendar(frozenset(holidays), frozenset(workdays))
    if calendar not in CALENDARS:
        raise PlantConfigError(
            source, "calendar", "one of " + ", ".join(CALENDARS) + " (or no key)", calendar
        )
    cn_holidays, cn_workdays, covered = cn_statutory()
    own_holidays, own_workdays = frozenset(holidays), frozenset(workdays)
    return WorkCalendar(
        holidays=(cn_holidays - own_workdays) | own_holidays,
        workdays=(cn_workdays - own_holidays) | own_workdays,
        source=calendar,
        covered=covered,
    )
