"""Shift calendar and clock-aligned windows in the plant's time zone.

All times are epoch milliseconds. Shifts, breaks and tariff periods are whole minutes of local
time, so every one-minute bucket is either wholly scheduled, wholly a break, or wholly
unscheduled: the engine asks `minute_class` once per minute (cached).

Which days a shift runs: its `days` (weekdays), except on the work calendar's holidays (none
runs) and on its adjusted workdays (调休: a shift that runs on any weekday Monday-Friday runs,
whatever the weekday). A day outside the years the statutory source covers (`calendar: cn`)
logs `calendar.not_covered` once per year and process: only the explicit lists apply there.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from brain.logs import event
from brain.plant import Plant, Shift, WorkCalendar

MINUTE = 60_000
WINDOW_SIZES = {"1m": MINUTE, "15m": 15 * MINUTE, "1h": 60 * MINUTE}
UNSCHEDULED, SCHEDULED, BREAK = 0, 1, 2
_UTC = dt.UTC
_WEEKDAYS = frozenset(range(5))  # Monday-Friday: the shifts an adjusted workday (调休) runs
_warned_years: set[tuple[str, int]] = set()  # (source, year) already warned about in this process
log = logging.getLogger("brain.calendar")


@dataclass(frozen=True, slots=True)
class Window:
    kind: str
    start: int
    end: int
    shift: str | None = None


@dataclass(frozen=True, slots=True)
class ShiftInstance:
    name: str
    start: int
    end: int
    breaks: tuple[tuple[int, int], ...]


class Calendar:
    """When a plant is scheduled (shift calendar; none = 24/7) and how windows are aligned."""

    def __init__(
        self,
        tz: str | ZoneInfo,
        shifts: tuple[Shift, ...] = (),
        holidays: WorkCalendar | Iterable[dt.date] = (),
    ):
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        self.shifts = tuple(shifts)
        self.work = holidays if isinstance(holidays, WorkCalendar) else WorkCalendar(frozenset(holidays))
        self.holidays = self.work.holidays
        self.workdays = self.work.workdays
        self.always = not self.shifts
        self._classes: dict[int, int] = {}
        self._instances_on = lru_cache(maxsize=4096)(self._instances_on_uncached)

    # --- local time helpers ---
    def local(self, ms: int) -> dt.datetime:
        return dt.datetime.fromtimestamp(ms / 1000, _UTC).astimezone(self.tz)

    def to_ms(self, day: dt.date, minutes: int) -> int:
        """Epoch ms of local wall time `minutes` after midnight of `day` (may exceed 24 h)."""
        wall = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minutes)
        return int(wall.replace(tzinfo=self.tz).timestamp() * 1000)

    def offset_ms(self, ms: int) -> int:
        off = self.local(ms).utcoffset()
        return int(off.total_seconds() * 1000) if off else 0

    def floor(self, ms: int, size: int) -> int:
        return ms - (ms + self.offset_ms(ms)) % size

    # --- shifts ---
    @classmethod
    def from_plant(cls, plant: Plant) -> Calendar:
        return cls(plant.timezone, plant.shifts, plant.calendar)

    def uncovered_years(self, a: int, b: int) -> list[int]:
        """Years touched by [a, b) that the statutory source (`calendar: cn`) does not know."""
        if self.work.source is None:
            return []
        first, last = self.local(a).year, self.local(max(a, b - 1)).year
        return [y for y in range(first, last + 1) if not self.work.covers(y)]

    def runs_on(self, shift: Shift, day: dt.date) -> bool:
        """Does `shift` start on local date `day` (weekday rule, holidays, 调休 workdays)?"""
        if day in self.holidays:
            return False
        if day in self.workdays:
            return not _WEEKDAYS.isdisjoint(shift.days)
        return day.weekday() in shift.days

    def _instances_on_uncached(self, day: dt.date) -> tuple[ShiftInstance, ...]:
        if not self.work.covers(day.year):
            self._warn_not_covered(day.year)
        out = []
        for s in self.shifts:
            if not self.runs_on(s, day):
                continue
            length = (s.end - s.start) % 1440 or 1440
            start = self.to_ms(day, s.start)
            end = self.to_ms(day, s.start + length)
            breaks = []
            for b in s.breaks:
                off = (b.start - s.start) % 1440
                blen = (b.end - b.start) % 1440 or 1440
                breaks.append((self.to_ms(day, s.start + off), self.to_ms(day, s.start + off + blen)))
            out.append(ShiftInstance(s.name, start, end, tuple(breaks)))
        return tuple(out)

    def _warn_not_covered(self, year: int) -> None:
        key = (str(self.work.source), year)
        if key in _warned_years:
            return
        _warned_years.add(key)
        first, last = self.work.covered or (year, year)
        event(
            log,
            "calendar.not_covered",
            logging.WARNING,
            source=self.work.source,
            year=year,
            covered=f"{first}-{last}",
            detail=(
                f"calendar {self.work.source} knows statutory holidays and adjusted workdays for "
                f"{first}-{last} only: in {year} shifts follow their weekdays and the plant's own "
                "holidays:/workdays: lists (add that year's dates there, or update chinese-calendar)"
            ),
        )

    def shift_instances(self, a: int, b: int) -> list[ShiftInstance]:
        """Shift instances overlapping [a, b), in start order."""
        if self.always:
            return []
        first = self.local(a).date() - dt.timedelta(days=1)
        last = self.local(b).date()
        out: list[ShiftInstance] = []
        day = first
        while day <= last:
            out.extend(i for i in self._instances_on(day) if i.start < b and i.end > a)
            day += dt.timedelta(days=1)
        out.sort(key=lambda i: (i.start, i.name))
        return out

    def shift_at(self, ms: int) -> ShiftInstance | None:
        for inst in self.shift_instances(ms, ms + 1):
            return inst
        return None

    def minute_class(self, minute: int) -> int:
        """UNSCHEDULED, SCHEDULED or BREAK for the minute starting at `minute` (epoch ms)."""
        if self.always:
            return SCHEDULED
        cls = self._classes.get(minute)
        if cls is None:
            cls = UNSCHEDULED
            for inst in self.shift_instances(minute, minute + 1):
                if any(bs <= minute < be for bs, be in inst.breaks):
                    cls = max(cls, BREAK)
                else:
                    cls = SCHEDULED
                    break
            if len(self._classes) > 500_000:
                self._classes.clear()
            self._classes[minute] = cls
        return cls

    def scheduled_ms(self, a: int, b: int) -> tuple[int, int]:
        """(scheduled ms, of which break ms) inside [a, b): POT and the calendar's planned stops."""
        if self.always:
            return b - a, 0
        sched: list[tuple[int, int]] = []
        brk: list[tuple[int, int]] = []
        for inst in self.shift_instances(a, b):
            sched.append((max(a, inst.start), min(b, inst.end)))
            brk.extend((max(a, bs), min(b, be)) for bs, be in inst.breaks if bs < b and be > a)
        # A break covered by another (working) shift is working time: count the union exactly.
        total = _union_length(sched)
        if not brk:
            return total, 0
        working = [
            (s, e)
            for inst in self.shift_instances(a, b)
            for s, e in _minus((max(a, inst.start), min(b, inst.end)), inst.breaks)
        ]
        return total, total - _union_length(working)

    # --- windows ---
    def windows(self, kind: str, a: int, b: int) -> list[Window]:
        """The windows of `kind` overlapping [a, b) (for `all`: exactly [a, b))."""
        if kind == "all":
            return [Window("all", a, b, None)]
        if kind == "shift":
            return [Window("shift", i.start, i.end, i.name) for i in self.shift_instances(a, b)]
        if kind == "day":
            out = []
            day = self.local(a).date()
            while True:
                start = self.to_ms(day, 0)
                end = self.to_ms(day + dt.timedelta(days=1), 0)
                if start >= b:
                    break
                if end > a:
                    out.append(Window("day", start, end, None))
                day += dt.timedelta(days=1)
            return out
        size = WINDOW_SIZES[kind]
        out = []
        start = self.floor(a, size)
        while start < b:
            end = self.floor(start + size, size)
            if end <= start:
                end = start + size
            inst = self.shift_at(start)
            out.append(Window(kind, start, end, inst.name if inst else None))
            start = end
        return out


def _union_length(intervals: list[tuple[int, int]]) -> int:
    total, cur_s, cur_e = 0, None, None
    for s, e in sorted(i for i in intervals if i[1] > i[0]):
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += cur_e - cur_s
    return total


def _minus(span: tuple[int, int], holes: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    out, pos = [], span[0]
    for hs, he in sorted(holes):
        if he <= pos or hs >= span[1]:
            continue
        if hs > pos:
            out.append((pos, hs))
        pos = max(pos, he)
    if pos < span[1]:
        out.append((pos, span[1]))
    return out
