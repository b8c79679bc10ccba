"""The fault suite's workload and its expected results, and readers of what the pipeline produced.

A small plant of its own site (one line: two machines and a feeder meter), two alert rules that
fire on it (a reading threshold per machine and a final-15m line OEE target), the simulator's
readings file as the truth, and from it what `brain kpi` computes (`compute_records`) and what
the pure alert engine fires. Readers take the private stack's topics from the beginning.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import yaml

from brain.plant import load_plant
from processors.alerts.engine import AlertEngine
from processors.kpi import compute_records

TZ = ZoneInfo("Asia/Shanghai")
WINDOWS = ("1m", "15m", "1h")
GRACE_MS = 30_000

Key = tuple[str, str, str | None, str | None, str, int]  # scope, site, line, machine, window, start


def plant_dict(site: str) -> dict[str, Any]:
    return {
        "timezone": "Asia/Shanghai",
        "sites": [
            {
                "id": site,
                "lines": [
                    {
                        "id": "l1",
                        "machines": [
                            {"id": "m1", "ideal_cycle_s": 20},
                            {"id": "m2", "ideal_cycle_s": 30},
                            {"id": "meter", "kind": "meter"},
                        ],
                    }
                ],
            }
        ],
        "tariff": {"prices": {"peak": 1.0, "flat": 0.6, "valley": 0.3}},
        "alerts": [
            # kpi rules only: they see no wall-clock tick, so their episodes depend on event time
            # alone and the pure engine can tell which must fire (a threshold rule's tick stamps
            # replayed past data with the wall clock: docs/ALERTS.md, "Not done yet").
            {
                "id": "machine_availability_low",
                "type": "kpi",
                "scope": {"site": site, "line": "l1", "machine": "m*"},
                "field": "availability",
                "window": "1m",
                "level": "machine",
                "below": 0.6,
                "clear": 0.9,
                "severity": "info",
            },
            {
                "id": "line_oee_low",
                "type": "kpi",
                "scope": f"{site}/*",
                "field": "oee",
                "window": "15m",
                "level": "line",
                "below": 0.8,
                "clear": 0.85,
                "severity": "warning",
            },
        ],
    }


def write_plant(directory: Path, site: str) -> Path:
    path = directory / "plant.yaml"
    path.write_text(yaml.safe_dump(plant_dict(site), sort_keys=False))
    return path


def write_profile(directory: Path) -> Path:
    """More frequent state changes than the defaults: more alert episodes and KPI variety."""
    path = directory / "profile.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "defaults": {"idle_every_s": 900, "idle_s": 180, "mtbf_s": 3600, "mttr_s": 300},
                "periods": {"counters": 10, "energy": 10, "power": 10, "state": 0},
            }
        )
    )
    return path


def sim_start(now: dt.datetime, duration_s: float) -> dt.datetime:
    """A fixed past start: yesterday's (or today's, if it fits) 08:00 plant time, so the run ends
    before now and every event time is within the bridge's 7 days."""
    day = now.astimezone(TZ).date()
    while True:
        start = dt.datetime.combine(day, dt.time(8, 0), tzinfo=TZ)
        if start + dt.timedelta(seconds=duration_s) <= now - dt.timedelta(minutes=10):
            return start
        day -= dt.timedelta(days=1)


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, "rb") as fh:
        return [orjson.loads(line) for line in fh if line.strip()]


def reading_id(r: dict[str, Any]) -> tuple[str, str, str, str, int]:
    return (r["line"], r["machine"], r["metric"], str(r["value"]), int(r["ts"]))


def expected_kpis(
    config: Path, readings: list[dict[str, Any]], windows: Iterable[str] = WINDOWS
) -> dict[str, list[dict[str, Any]]]:
    plant = load_plant(config)
    rows = [(r["site"], r["line"], r["machine"], r["metric"], r["value"], r["ts"]) for r in readings]
    return {w: compute_records(plant, rows, w) for w in windows}


def kpi_key(r: dict[str, Any]) -> Key:
    return (r["scope"], r["site"], r["line"], r["machine"], r["window"], int(r["start"]))


def expected_alerts(
    config: Path, readings: list[dict[str, Any]], finals: list[dict[str, Any]]
) -> list[tuple[str, int]]:
    """Episodes (alert id, started) the pure engine fires on the final KPI records (in window
    order; readings too, for rules that use them): what `brain alerts` must fire, each once."""
    engine = AlertEngine.from_plant(load_plant(config))
    store: dict[str, Any] = {}
    events = []
    for r in readings:
        events += engine.process("reading", r, store, r["ts"])
    for rec in sorted(finals, key=lambda x: (x["start"], kpi_key(x))):
        events += engine.process("kpi", {**rec, "final": True}, store, rec["end"])
    return [(e.id, e.started) for e in events if e.state == "firing" and e.notification == 1]


# ------------------------------------------------------------------------------------ Kafka readers


def read_topic(bootstrap: str, topic: str, timeout_s: float = 60) -> list[tuple[bytes | None, bytes]]:
    """Every record of a topic, from the beginning to the end offsets taken now."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, request_timeout_ms=30_000
    )
    try:
        deadline = time.monotonic() + timeout_s
        parts = None
        while not parts and time.monotonic() < deadline:
            parts = consumer.partitions_for_topic(topic)
            if not parts:
                time.sleep(0.2)
        if not parts:
            return []
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        out: list[tuple[bytes | None, bytes]] = []
        while time.monotonic() < deadline and any(consumer.position(tp) < end[tp] for tp in tps):
            for batch in consumer.poll(timeout_ms=500, max_records=20_000).values():
                out.extend((m.key, m.value) for m in batch)
        return out
    finally:
        consumer.close()


def site_values(records: list[tuple[bytes | None, bytes]], site: str) -> list[dict[str, Any]]:
    out = []
    for _key, value in records:
        try:
            v = orjson.loads(value)
        except orjson.JSONDecodeError:
            continue
        if isinstance(v, dict) and v.get("site") == site:
            out.append(v)
    return out


# ------------------------------------------------------------------------------------ comparisons


def compare_readings(published: list[dict[str, Any]], in_kafka: list[dict[str, Any]]) -> dict[str, Any]:
    want = Counter(reading_id(r) for r in published)
    got = Counter(reading_id(r) for r in in_kafka)
    missing = sorted(set(want) - set(got), key=lambda k: k[4])
    unexpected = sorted(set(got) - set(want), key=lambda k: k[4])
    dups = sum(n - 1 for n in got.values() if n > 1)
    return {
        "published": len(published),
        "distinct_published": len(want),
        "in_kafka": len(in_kafka),
        "distinct_in_kafka": len(got),
        "missing": missing,
        "unexpected": unexpected,
        "duplicates": dups,
    }


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return False
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def diff_fields(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    return [f for f, wv in want.items() if f != "final" and not _close(got.get(f), wv)]


def compare_kpis(
    expected: dict[str, list[dict[str, Any]]], stream: list[dict[str, Any]], horizon: int
) -> dict[str, Any]:
    """Every final record the stream emitted (not only the last one per key) against `brain kpi`,
    for the windows that end by `horizon` (final by watermark)."""
    want = {kpi_key(r): r for recs in expected.values() for r in recs if r["end"] <= horizon}
    finals: dict[Key, list[dict[str, Any]]] = {}
    for r in stream:
        if r.get("final") and r.get("window") in expected:
            finals.setdefault(kpi_key(r), []).append(r)
    missing = sorted(k for k in want if k not in finals)
    wrong: dict[Key, list[str]] = {}
    repeated = 0
    for k, w in want.items():
        for g in finals.get(k, []):
            bad = diff_fields(g, w)
            if bad:
                wrong.setdefault(k, sorted(set(wrong.get(k, [])) | set(bad)))
        repeated += max(0, len(finals.get(k, [])) - 1)
    extra = sorted(k for k in finals if k not in want and k[5] + 3_600_000 <= horizon)
    return {
        "expected": len(want),
        "final_records": sum(len(v) for v in finals.values()),
        "missing": missing,
        "wrong": wrong,
        "repeated_finals": repeated,
        "extra": extra,
    }


def compare_alerts(expected: list[tuple[str, int]], events: list[dict[str, Any]]) -> dict[str, Any]:
    firing = Counter(
        (e["id"], e["started"]) for e in events if e["state"] == "firing" and e["notification"] == 1
    )
    exact = Counter(
        orjson.dumps({k: e[k] for k in ("id", "state", "started", "ended", "notification", "value")})
        for e in events
    )
    want = Counter(expected)
    return {
        "expected_episodes": len(want),
        "episodes": len(firing),
        "firing_events": sum(firing.values()),
        "fired_twice": sorted(k for k, n in firing.items() if n > 1),
        "missing": sorted(set(want) - set(firing)),
        "unexpected": sorted(set(firing) - set(want)),
        "exact_redeliveries": sum(n - 1 for n in exact.values() if n > 1),
    }
