"""City rows -> InfluxDB points (pure): what the city sink writes to the `brain_city` database.

One point per row of a `CityResult`, stamped with the period's start in the register's time zone
(1 January for `2026`, the 1st for `2026-03`), so a re-evaluation of a period overwrites its points.
Measurements `city_enterprise`, `city_sector`, `city_park`. Tags: `period`, `granularity`
(year|month) and per measurement `enterprise`, `sector`, `park`. The class is a string *field*, not
a tag: a re-evaluation that changes a class must overwrite the point, not start a second series.
Numbers are floats, `dq_flagged` a boolean, texts (class, class_reason, carbon_factor, name,
energy_basis) strings; a null is left out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, Final
from zoneinfo import ZoneInfo

from processors.sink.lineproto import Point, make_tags

CITY_DATABASE: Final = "brain_city"
CITY_RETENTION: Final = ("city", "INF")  # (retention policy, duration): years are compared
MEASUREMENTS: Final = {"enterprise": "city_enterprise", "sector": "city_sector", "park": "city_park"}
TAGS: Final = {
    "enterprise": ("enterprise", "sector", "park"),
    "sector": ("sector", "enterprise", "park"),
    "park": ("park",),
}
STRING_FIELDS: Final = ("name", "class", "class_reason", "carbon_factor", "energy_basis")
NOT_FIELDS: Final = ("kind", "period")


def period_start_ms(period: str, timezone: str) -> int:
    """Epoch ms of the period's first local midnight: "2026" -> 2026-01-01, "2026-03" -> 2026-03-01."""
    year, month = int(period[:4]), int(period[5:7]) if len(period) > 4 else 1
    start = dt.datetime(year, month, 1, tzinfo=ZoneInfo(timezone))
    return int(start.timestamp() * 1000)


def city_point(row: Mapping[str, Any], timezone: str) -> Point:
    """One row (`kind` enterprise | sector | park) -> its point."""
    kind = row["kind"]
    tag_keys = TAGS[kind]
    tags = {k: row.get(k) for k in tag_keys}
    period = row["period"]
    fields: dict[str, float | bool | str] = {}
    for key, value in row.items():
        if value is None or key in NOT_FIELDS or key in tag_keys:
            continue
        if isinstance(value, bool):
            fields[key] = value
        elif isinstance(value, (int, float)):
            fields[key] = float(value)
        elif key in STRING_FIELDS:
            fields[key] = str(value)
    granularity = "year" if len(period) == 4 else "month"
    return Point(
        "city",
        MEASUREMENTS[kind],
        make_tags(**tags, period=period, granularity=granularity),
        fields,
        period_start_ms(period, timezone),
    )


def city_points(rows: Iterable[Mapping[str, Any]], timezone: str) -> list[Point]:
    """Every row's point (`CityResult.rows()` and the register's time zone)."""
    return [city_point(r, timezone) for r in rows]
