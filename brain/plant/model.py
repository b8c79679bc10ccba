"""Plant configuration model: frozen dataclasses, defaults and the Jiangsu time-of-use periods.

Built by `brain.plant.parse_plant` / `load_plant` (validate.py); docs/CONFIG.md documents every key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_GRID_FACTOR = 0.5703  # kg CO2 per kWh (China MEE national grid factor 2023-2025)
DEFAULT_POWER_MAX_GAP_S = 300.0
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PERIODS = ("peak", "flat", "valley")
UNKNOWN_AS = ("loss", "planned")
DEFAULT_MINOR_STOP_S = 300.0  # shared/KPIS.md "Loss analysis (v2)"


class PlantConfigError(ValueError):
    """A plant config that cannot be used: file, key path, expected, found."""

    def __init__(self, source: str, path: str, expected: str, found: Any) -> None:
        self.source, self.path, self.expected, self.found = source, path, expected, found
        where = f"{source}: {path}" if path else source
        super().__init__(f"{where}: expected {expected}, found {_show(found)}")


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return f"{value!r} ({type(value).__name__})"


@dataclass(frozen=True, slots=True)
class ReasonCode:
    """One node of the reason tree (brain/plant/reasons.py): a code's names and its loss category."""

    code: str
    en: str
    zh: str
    category: str  # one of vocabulary.REASON_CATEGORIES


@dataclass(frozen=True, slots=True)
class Machine:
    id: str
    ideal_cycle_s: float | None = None
    kind: str = "machine"  # "machine" (time elements, OEE) or "meter" (energy only)
    state_codes: dict[str, str] = field(default_factory=dict)  # str(code) -> state name
    counter_modulus: float | None = None
    meter_modulus: float | None = None
    power_max_gap_s: float = DEFAULT_POWER_MAX_GAP_S
    unknown_as: str = "loss"
    pack: str | None = None  # the industry pack this machine belongs to (brain/pack.py)
    pack_config: dict[str, Any] = field(default_factory=dict)  # its keys, the line's defaults merged
    # its reason tree (plant's, overridden per code by the line's, then by its own) and numeric codes
    reasons: dict[str, ReasonCode] = field(default_factory=dict)
    reason_codes: dict[str, str] = field(default_factory=dict)  # str(numeric code) -> reason code


@dataclass(frozen=True, slots=True)
class Line:
    id: str
    machines: tuple[Machine, ...]


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    lines: tuple[Line, ...]
    contracted_demand_kw: float | None = None


@dataclass(frozen=True, slots=True)
class Break:
    start: int  # minutes after midnight
    end: int


@dataclass(frozen=True, slots=True)
class Shift:
    name: str
    start: int  # minutes after midnight, local time
    end: int  # minutes after midnight; end <= start means the shift ends the next day
    days: tuple[int, ...]  # weekday numbers, Monday = 0
    breaks: tuple[Break, ...] = ()


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """Which dates the shift calendar skips and which weekend dates it works.

    `holidays`: a shift starting on one does not take place. `workdays`: adjusted workdays (调休):
    a shift starting on one runs if it runs on any weekday Monday-Friday, whatever the weekday.
    `source` is where the statutory dates came from (`cn`: the chinese-calendar package) and
    `covered` the years that source knows (first, last): beyond them only the explicit lists
    apply, and the shift calendar warns (processors/kpi/calendar.py).
    Iterating gives the holidays, sorted (what a plain holiday list gave before).
    """

    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()
    source: str | None = None
    covered: tuple[int, int] | None = None

    def __iter__(self) -> Iterator[dt.date]:
        return iter(sorted(self.holidays))

    def __len__(self) -> int:
        return len(self.holidays)

    def covers(self, year: int) -> bool:
        """True when the statutory source knows `year` (always true without a source)."""
        return self.covered is None or self.covered[0] <= year <= self.covered[1]


@dataclass(frozen=True, slots=True)
class TouSeason:
    months: tuple[int, ...]
    ranges: dict[str, tuple[tuple[int, int], ...]]  # period -> ((start_min, end_min), ...)


@dataclass(frozen=True, slots=True)
class Tariff:
    seasons: tuple[TouSeason, ...]
    prices: dict[str, float] | None = None
    prices_are_example: bool = False
    currency: str = "CNY"


@dataclass(frozen=True, slots=True)
class Plant:
    timezone: str = DEFAULT_TIMEZONE
    sites: tuple[Site, ...] = ()
    shifts: tuple[Shift, ...] = ()
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    tariff: Tariff | None = None
    grid_emission_factor_kg_per_kwh: float = DEFAULT_GRID_FACTOR
    alerts: tuple[Any, ...] = ()
    sparkplug: dict[str, Any] = field(default_factory=dict)
    source: str = "<config>"
    packs: tuple[str, ...] = ()  # the packs the config uses (`packs:`), in its order
    reasons: dict[str, ReasonCode] = field(default_factory=dict)  # the plant-level reason tree
    minor_stop_s: float = DEFAULT_MINOR_STOP_S  # an unplanned stop shorter than this is a minor stop
    export: Any = None  # brain/plant/export.py Export: what leaves for the city; None = nothing

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def machines(self) -> list[tuple[Site, Line, Machine]]:
        return [(s, ln, m) for s in self.sites for ln in s.lines for m in ln.machines]

    def machine(self, site: str, line: str, machine: str) -> Machine | None:
        for s, ln, m in self.machines():
            if (s.id, ln.id, m.id) == (site, line, machine):
                return m
        return None


def _minutes(text: str) -> int:
    hh, mm = text.split(":")
    return int(hh) * 60 + int(mm)


def _jiangsu_2025() -> tuple[TouSeason, ...]:
    def r(*pairs: str) -> tuple[tuple[int, int], ...]:
        return tuple((_minutes(a), _minutes(b)) for a, b in (p.split("-") for p in pairs))

    summer_winter = TouSeason(
        (6, 7, 8, 12, 1, 2),
        {
            "peak": r("14:00-22:00"),
            "flat": r("06:00-11:00", "13:00-14:00", "22:00-24:00"),
            "valley": r("00:00-06:00", "11:00-13:00"),
        },
    )
    spring_autumn = TouSeason(
        (3, 4, 5, 9, 10, 11),
        {
            "peak": r("15:00-22:00"),
            "flat": r("06:00-10:00", "14:00-15:00", "22:00-24:00", "00:00-02:00"),
            "valley": r("02:00-06:00", "10:00-14:00"),
        },
    )
    return (summer_winter, spring_autumn)


JIANGSU_2025 = _jiangsu_2025()


def _code_key(code: Any) -> str:
    """State codes arrive as numbers (1, 1.0) or strings ("1"): one canonical key."""
    if isinstance(code, float) and code.is_integer():
        code = int(code)
    return str(code)


def state_code_key(value: Any) -> str:
    return _code_key(value)
