"""What a report covers: a period (shift, day, month, or an hour-aligned range) and a scope (a site
or one of its lines), resolved against the plant's shift calendar. Pure.

`--shift 2026-12-01/night` is the night shift that STARTS on 2026-12-01 (it may end the next
morning); `--day` is local midnight to midnight; `--month` the calendar month. A shift name the
plant does not have, or a shift that does not run that day (weekday, holiday), is a `PeriodError`
that names the valid shifts and what runs that day.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from brain.plant import DAYS, Plant
from processors.kpi import Calendar

KINDS = ("shift", "day", "month", "range")
HOUR = 3_600_000


class PeriodError(ValueError):
    """A period or scope that does not exist in the plant config: says what would."""


@dataclass(frozen=True, slots=True)
class Period:
    kind: str  # shift | day | month | range
    start: int  # epoch ms, [start, end)
    end: int
    label: str  # "2026-12-01/night", "2026-12-01", "2026-12", "2026-12-01T08:00/2026-12-01T11:00"
    shift: str | None = None

    @property
    def window(self) -> str:
        """The KPI window whose records summarise the period (`all`: merged from shorter ones)."""
        return {"shift": "shift", "day": "day"}.get(self.kind, "all")

    @property
    def series_window(self) -> str:
        """The window of the time series charts (output per hour or per day)."""
        return "day" if self.kind == "month" else "1h"

    @property
    def parts_window(self) -> str:
        """For periods without records of their own: the window they are merged from."""
        return "day" if self.kind == "month" else "1h"


@dataclass(frozen=True, slots=True)
class Scope:
    site: str
    line: str | None = None

    @property
    def level(self) -> str:
        return "line" if self.line else "site"

    @property
    def label(self) -> str:
        return f"{self.site}/{self.line}" if self.line else self.site

    def slug(self) -> str:
        return f"{self.site}-{self.line}" if self.line else self.site


def resolve_scope(plant: Plant, site: str | None, line: str | None) -> Scope:
    """The site (default: the only one) and optional line, checked against the config."""
    sites = {s.id: s for s in plant.sites}
    if site is None:
        if len(sites) != 1:
            raise PeriodError(f"the plant has several sites: choose one with --site ({', '.join(sites)})")
        site = next(iter(sites))
    if site not in sites:
        raise PeriodError(f"unknown site {site!r}: the plant's sites are {', '.join(sites)}")
    if line is not None and line not in {ln.id for ln in sites[site].lines}:
        lines = ", ".join(ln.id for ln in sites[site].lines)
        raise PeriodError(f"unknown line {line!r} on site {site!r}: its lines are {lines}")
    return Scope(site, line)


def _date(text: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"{what}: expected a date YYYY-MM-DD, found {text!r}") from None


def shift_period(plant: Plant, text: str, cal: Calendar | None = None) -> Period:
    """`DATE/NAME` -> the instance of shift NAME that starts on DATE (plant-local)."""
    cal = cal or Calendar.from_plant(plant)
    names = [s.name for s in plant.shifts]
    if not names:
        raise PeriodError("the plant config has no shifts: use --day or --month")
    if "/" not in text:
        raise PeriodError(f"--shift: expected DATE/SHIFT (e.g. 2026-12-01/{names[0]}), found {text!r}")
    day_text, name = text.split("/", 1)
    day = _date(day_text, "--shift")
    if name not in names:
        raise PeriodError(f"unknown shift {name!r}: the plant's shifts are {', '.join(names)}")
    start, end = cal.to_ms(day, 0), cal.to_ms(day + dt.timedelta(days=1), 0)
    for inst in cal.shift_instances(start, end):
        if inst.name == name and start <= inst.start < end:
            return Period("shift", inst.start, inst.end, f"{day.isoformat()}/{name}", name)
    running = sorted({i.name for i in cal.shift_instances(start, end) if start <= i.start < end})
    shift = next(s for s in plant.shifts if s.name == name)
    why = (
        "a holiday"
        if day in cal.holidays
        else f"the shift runs on {', '.join(DAYS[d] for d in shift.days)}, not {DAYS[day.weekday()]}"
    )
    return_text = ", ".join(running) if running else "none"
    raise PeriodError(
        f"shift {name!r} does not run on {day.isoformat()} ({why}); shifts starting that day: "
        f"{return_text}; the plant's shifts are {', '.join(names)}"
    )


def day_period(plant: Plant, text: str, cal: Calendar | None = None) -> Period:
    cal = cal or Calendar.from_plant(plant)
    day = _date(text, "--day")
    return Period("day", cal.to_ms(day, 0), cal.to_ms(day + dt.timedelta(days=1), 0), day.isoformat())


def month_period(plant: Plant, text: str, cal: Calendar | None = None) -> Period:
    cal = cal or Calendar.from_plant(plant)
    m = re.fullmatch(r"(\d{4})-(\d{2})", text)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise PeriodError(f"--month: expected YYYY-MM, found {text!r}")
    first = dt.date(int(m.group(1)), int(m.group(2)), 1)
    nxt = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return Period("month", cal.to_ms(first, 0), cal.to_ms(nxt, 0), text)


def range_period(plant: Plant, start: int, end: int, cal: Calendar | None = None) -> Period:
    """[start, end), whole hours of the plant's clock (it is merged from 1-hour records)."""
    cal = cal or Calendar.from_plant(plant)
    if end <= start:
        raise PeriodError("--from/--to: expected --to after --from")
    for t, what in ((start, "--from"), (end, "--to")):
        if cal.floor(t, HOUR) != t:
            raise PeriodError(f"{what}: expected a whole hour of the plant's clock, found {cal.local(t)}")
    a, b = cal.local(start), cal.local(end)
    return Period("range", start, end, f"{a:%Y-%m-%dT%H:%M}/{b:%Y-%m-%dT%H:%M}")


def previous_shifts(plant: Plant, before: int, count: int = 1) -> list[Period]:
    """The last `count` shift instances that ended at or before `before` (for the service)."""
    cal = Calendar.from_plant(plant)
    insts = [i for i in cal.shift_instances(before - 8 * 86_400_000, before) if i.end <= before]
    out = []
    for inst in insts[-count:]:
        day = cal.local(inst.start).date()
        out.append(Period("shift", inst.start, inst.end, f"{day.isoformat()}/{inst.name}", inst.name))
    return out


def period_of_record(plant: Plant, record: dict, cal: Calendar | None = None) -> Period | None:
    """The shift or day period a final KPI record closes (for the service), else None."""
    cal = cal or Calendar.from_plant(plant)
    day = cal.local(record["start"]).date()
    if record.get("window") == "shift" and record.get("shift"):
        return Period("shift", record["start"], record["end"], f"{day}/{record['shift']}", record["shift"])
    if record.get("window") == "day":
        return Period("day", record["start"], record["end"], day.isoformat())
    return None
