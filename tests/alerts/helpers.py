"""Shared helpers for the alert tests: a small plant, an engine from rule dicts, a runner."""

from __future__ import annotations

import json
from typing import Any

from brain.plant import Plant, parse_plant
from processors.alerts import AlertEngine, AlertEvent

T0 = 1_767_225_600_000  # 2026-01-01 08:00 Asia/Shanghai, a 15-minute block start
S, MIN = 1000, 60_000

PLANT: dict[str, Any] = {
    "sites": [
        {
            "id": "s1",
            "contracted_demand_kw": 100,
            "lines": [
                {
                    "id": "l1",
                    "machines": [
                        {
                            "id": "m1",
                            "ideal_cycle_s": 2,
                            "state_codes": {4: "fault", 2: "running", 0: "offline"},
                        },
                        {"id": "m2", "ideal_cycle_s": 2},
                    ],
                },
                {"id": "l2", "machines": [{"id": "meter", "kind": "meter"}]},
            ],
        },
        {"id": "s2", "lines": [{"id": "l1", "machines": [{"id": "m1"}]}]},
    ],
    "sparkplug": {"groups": {"G1": {"site": "s1"}}},
}


def plant(*rules: dict[str, Any], **extra: Any) -> Plant:
    return parse_plant({**PLANT, **extra, "alerts": list(rules)}, source="test.yaml")


def engine(*rules: dict[str, Any]) -> tuple[AlertEngine, Plant]:
    p = plant(*rules)
    return AlertEngine.from_plant(p), p


def reading(
    metric: str, value: Any, ts: int, machine: str = "m1", line: str = "l1", site: str = "s1", **kw: Any
):
    return (
        "reading",
        {"site": site, "line": line, "machine": machine, "metric": metric, "value": value, "ts": ts, **kw},
    )


def tick(now: int):
    return ("tick", None, now)


def run(eng: AlertEngine, steps: list[tuple], store: dict | None = None) -> list[AlertEvent]:
    """Feed steps: ("reading"|"kpi"|"deadletter", data[, now]) or ("tick", None, now). The store is
    JSON round-tripped after every step: state must survive serialisation (the Faust changelog)."""
    store = {} if store is None else store
    out: list[AlertEvent] = []
    for step in steps:
        kind, data = step[0], step[1]
        now = step[2] if len(step) > 2 else (data or {}).get("ts", data.get("received_ts") if data else 0)
        if kind == "tick":
            out += eng.tick(store, now)
        else:
            out += eng.process(kind, data, store, now)
        restored = json.loads(json.dumps(store))
        store.clear()
        store.update(restored)
    return out


def brief(events: list[AlertEvent]) -> list[tuple[str, int]]:
    """(state, ts) per event, with ts relative to T0 in seconds (as float for readable tables)."""
    return [(e.state, (e.ts - T0) / 1000) for e in events]
