"""A deterministic readings file for the processor tests: one site, two lines, four machines
(one an energy meter), states, counters, energy meters and power, some readings out of order
within the grace period, and a trailing heartbeat per machine that moves every watermark on so
the 1 h windows become final."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any
from zoneinfo import ZoneInfo

from brain.plant import Plant, parse_plant

TZ = ZoneInfo("Asia/Shanghai")
START = int(dt.datetime(2025, 3, 3, 7, 56, tzinfo=TZ).timestamp() * 1000)
MACHINES = (("l1", "m1"), ("l1", "m2"), ("l2", "m3"), ("l2", "e1"))
GRACE_MS = 30_000


def plant(site: str = "s1") -> Plant:
    return parse_plant(
        {
            "timezone": "Asia/Shanghai",
            "sites": [
                {
                    "id": site,
                    "lines": [
                        {
                            "id": "l1",
                            "machines": [
                                {"id": "m1", "ideal_cycle_s": 2.0},
                                {"id": "m2", "ideal_cycle_s": 3.0},
                            ],
                        },
                        {
                            "id": "l2",
                            "machines": [{"id": "m3", "ideal_cycle_s": 1.5}, {"id": "e1", "kind": "meter"}],
                        },
                    ],
                }
            ],
            "shifts": [
                {
                    "name": "day",
                    "start": "08:00",
                    "end": "20:00",
                    "breaks": [{"start": "08:04", "end": "08:05"}],
                }
            ],
            "tariff": {"prices": {"peak": 1.0, "flat": 0.6, "valley": 0.3}},
        },
        source="test-processors.yaml",
    )


def readings(
    site: str = "s1", minutes: int = 10, seed: int = 42, step_ms: int = 2_000
) -> list[dict[str, Any]]:
    """Readings in arrival order (a few delayed by up to 20 s), then one trailing heartbeat per
    machine at START + 65 min, past the end of the 08:00-09:00 window plus grace."""
    rnd = random.Random(seed)
    rows: list[tuple[int, int, dict[str, Any]]] = []
    end = START + minutes * 60_000
    for line, machine in MACHINES:
        total = scrap = 0
        kwh = kvarh = 100.0 * rnd.random()
        state = "running"
        ts = START + rnd.randrange(0, 1_000)
        while ts < end:
            metrics: list[tuple[str, Any]] = []
            if machine != "e1":
                if rnd.random() < 0.08:
                    state = rnd.choice(["running", "running", "idle", "fault", "setup", "planned_stop"])
                    metrics.append(("state", state))
                if state == "running":
                    total += rnd.randrange(0, 3)
                    if rnd.random() < 0.1:
                        scrap += 1
                metrics += [("count_total", total), ("count_scrap", scrap)]
                metrics.append(("power_kw", round(5 + 20 * rnd.random(), 3)))
            else:
                kwh += 0.02 * rnd.random()
                kvarh += 0.005 * rnd.random()
                metrics += [("energy_kwh", round(kwh, 6)), ("energy_kvarh", round(kvarh, 6))]
            for metric, value in metrics:
                arrival = ts + (rnd.randrange(5_000, 20_000) if rnd.random() < 0.03 else 0)
                rec = {
                    "site": site,
                    "line": line,
                    "machine": machine,
                    "metric": metric,
                    "value": value,
                    "ts": ts,
                }
                rows.append((arrival, len(rows), rec))
            ts += step_ms + rnd.randrange(-300, 300)
    rows.sort(key=lambda r: (r[0], r[1]))
    out = [r[2] for r in rows]
    trailer = START + 65 * 60_000
    for line, machine in MACHINES:
        out.append(
            {"site": site, "line": line, "machine": machine, "metric": "heartbeat", "value": 0, "ts": trailer}
        )
    return out


def final_horizon() -> int:
    """Windows ending at or before this are final in the stream."""
    return START + 65 * 60_000 - GRACE_MS


def key(rec: dict[str, Any]) -> tuple[Any, ...]:
    return (rec["scope"], rec["site"], rec["line"], rec["machine"], rec["window"], rec["start"])
