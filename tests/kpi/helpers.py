"""Small builders for KPI tests: plants from dicts, local times, rows, record lookup."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from brain.plant import Plant, parse_plant
from processors.kpi import compute_records

SHANGHAI = ZoneInfo("Asia/Shanghai")


def plant(machines: list[dict[str, Any]] | None = None, **top: Any) -> Plant:
    """A one-site, one-line plant (machines default: m1 with ideal cycle 1 s)."""
    machines = machines if machines is not None else [{"id": "m1", "ideal_cycle_s": 1.0}]
    data = {"sites": [{"id": "s1", "lines": [{"id": "l1", "machines": machines}]}], **top}
    return parse_plant(data, source="test.yaml")


def at(text: str, tz: str = "Asia/Shanghai") -> int:
    """Epoch ms of a local time 'YYYY-MM-DD HH:MM[:SS]' in `tz`."""
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp() * 1000)


def rows(
    items: list[tuple[Any, ...]], machine: str = "m1", tz: str = "Asia/Shanghai"
) -> list[tuple[Any, ...]]:
    """(time, metric, value) with time a local string or epoch ms -> core rows for s1/l1/machine."""
    out = []
    for when, metric, value in items:
        ts = at(when, tz) if isinstance(when, str) else when
        out.append(("s1", "l1", machine, metric, value, ts))
    return out


def run(
    p: Plant,
    rs: list[tuple[Any, ...]],
    window: str,
    start: Any = None,
    end: Any = None,
    tz: str = "Asia/Shanghai",
) -> list[dict[str, Any]]:
    s = at(start, tz) if isinstance(start, str) else start
    e = at(end, tz) if isinstance(end, str) else end
    return compute_records(p, rs, window, s, e)


def pick(
    records: list[dict[str, Any]],
    scope: str = "machine",
    machine: str | None = "m1",
    start: int | None = None,
) -> dict[str, Any]:
    found = [
        r
        for r in records
        if r["scope"] == scope
        and (scope != "machine" or r["machine"] == machine)
        and (start is None or r["start"] == start)
    ]
    assert found, f"no {scope} record for {machine} at {start}"
    return found[0]
