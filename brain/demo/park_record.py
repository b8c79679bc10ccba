"""The park demo's recorded exports (pure): what the park's enterprises exported in the first half
of 2026, generated from one row per enterprise so the checked-in examples/park/exports.jsonl can
be regenerated and checked (tests/demo/test_park_record.py):

    python -m brain.demo.park_record > examples/park/exports.jsonl

A record is a factory's final site `day` export (docs/CITY.md "What arrives"): output, energy,
cost, CO2, OEE and the data-quality seconds. Made-up figures of a plausible size per sector; a
Sunday or a holiday runs at 40 %. The two live enterprises (their factories run in `brain demo
--park`) have a history here too, at the size their demo plants produce, so their year is
comparable with the others'; the demo replays it into their factories' `brain.export`.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
FIRST_DAY, LAST_DAY = dt.date(2026, 1, 1), dt.date(2026, 6, 30)
HOLIDAYS = frozenset(dt.date(2026, 2, d) for d in range(16, 21)) | {dt.date(2026, 1, 1), dt.date(2026, 5, 1)}
QUIET_DAY = 0.4  # share of a normal day's output and energy on a Sunday or a holiday
GRID_KG_PER_KWH = 0.5978  # the factories' own CO2 figure (Jiangsu 2022); the city uses its register's
CNY_PER_KWH = 0.70


@dataclass(frozen=True, slots=True)
class Recorded:
    """One enterprise's typical day: its site, kWh, good units, OEE, unknown share and machines."""

    enterprise: str
    site: str
    kwh: float
    units: float
    oee: float
    unknown: float  # share of the machines' time without data (dq_completeness = 1 - this)
    machines: int
    live: bool = False  # its factory runs in the demo (this is its history)


ROWS: tuple[Recorded, ...] = (
    Recorded("pk-vmc", "pk-vmc-wj", 1_750, 1_900, 0.62, 0.01, 3, live=True),
    Recorded("pk-loom", "pk-loom-sz", 1_650, 2_100_000, 0.72, 0.01, 3, live=True),
    Recorded("pk-smt-a", "pk-smt-a-s1", 38_000, 60_000, 0.78, 0.005, 40),
    Recorded("pk-smt-b", "pk-smt-b-s1", 21_000, 30_000, 0.70, 0.01, 24),
    Recorded("pk-smt-c", "pk-smt-c-s1", 9_000, 9_000, 0.61, 0.02, 12),
    Recorded("pk-cnc-a", "pk-cnc-a-s1", 14_000, 9_000, 0.66, 0.01, 30),
    Recorded("pk-cnc-b", "pk-cnc-b-s1", 7_000, 3_000, 0.58, 0.02, 16),
    Recorded("pk-cnc-c", "pk-cnc-c-s1", 9_000, 2_500, 0.51, 0.03, 20),
    Recorded("pk-wv-a", "pk-wv-a-s1", 16_000, 20_000_000, 0.75, 0.01, 40),
    Recorded("pk-wv-b", "pk-wv-b-s1", 22_000, 26_000_000, 0.69, 0.02, 60),
    Recorded("pk-wv-c", "pk-wv-c-s1", 15_000, 15_000_000, 0.60, 0.15, 50),  # below the DQ threshold
    Recorded("pk-bat-a", "pk-bat-a-s1", 160_000, 400_000, 0.80, 0.005, 80),
    Recorded("pk-bat-b", "pk-bat-b-s1", 60_000, 120_000, 0.72, 0.01, 40),
    Recorded("pk-bat-c", "pk-bat-c-s1", 70_000, 90_000, 0.63, 0.02, 45),
)
LIVE: tuple[str, ...] = tuple(r.enterprise for r in ROWS if r.live)


def _days() -> Iterator[dt.date]:
    day = FIRST_DAY
    while day <= LAST_DAY:
        yield day
        day += dt.timedelta(days=1)


def day_record(row: Recorded, day: dt.date, rnd: random.Random) -> dict[str, Any]:
    """One final site `day` export of `row` on `day` (local midnight to midnight, epoch ms)."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=TZ)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=TZ)
    load = (QUIET_DAY if day.weekday() == 6 or day in HOLIDAYS else 1.0) * rnd.uniform(0.92, 1.08)
    kwh = round(row.kwh * load, 3)
    pq = float(round(row.units * load))
    pot_s = float(row.machines * 86_400)
    return {
        "enterprise": row.enterprise,
        "scope": "site",
        "site": row.site,
        "line": None,
        "machine": None,
        "window": "day",
        "start": int(start.timestamp() * 1000),
        "end": int(end.timestamp() * 1000),
        "shift": None,
        "final": True,
        "pq": pq,
        "gq": float(round(pq * rnd.uniform(0.97, 0.995))),
        "energy_kwh": kwh,
        "cost": round(kwh * CNY_PER_KWH, 2),
        "co2_kg": round(kwh * GRID_KG_PER_KWH, 3),
        "oee": round(min(1.0, row.oee * load * rnd.uniform(0.95, 1.05)), 4),
        "pot_s": pot_s,
        "unknown_s": round(pot_s * row.unknown * rnd.uniform(0.5, 1.5), 1),
    }


def recorded_exports(rows: tuple[Recorded, ...] = ROWS) -> list[dict[str, Any]]:
    """Every row's day records, day by day; the same every time (one generator per enterprise)."""
    out = []
    for row in rows:
        rnd = random.Random(f"park-{row.enterprise}")
        out += [day_record(row, day, rnd) for day in _days()]
    return out


def main() -> int:
    for record in recorded_exports():
        sys.stdout.write(json.dumps(record, separators=(", ", ": ")) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
