"""Sink throughput into the real InfluxDB (docs/BENCHMARKS.md, "Sink").

Run: `.venv/bin/pytest -m bench tests/sink/test_bench_sink.py -s` (or `make bench`).
The records are produced to fresh topics first; the figure is points written per second from the
first confirmed write to the last (consume + map + write + commit), with the default batch size.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson
import pytest

from brain.settings import Settings
from processors.sink import kpi_points, to_points
from tests.sink.helpers import encode, kpi_key, kpi_records, produce, running_sink

pytestmark = [pytest.mark.stack, pytest.mark.slow, pytest.mark.bench, pytest.mark.timeout(600)]


def _measure(settings: Settings, options: dict, expected_points: int) -> tuple[float, float]:
    """(points/s from the first write to the last, seconds from start to the last write)."""
    with running_sink(settings, **options) as sink:
        t0 = time.monotonic()
        first = None
        while sink.stats.points < expected_points:
            if first is None and sink.stats.points > 0:
                first = (time.monotonic(), sink.stats.points)
            assert time.monotonic() - t0 < 300, f"only {sink.stats.points}/{expected_points} points"
            time.sleep(0.02)
        end = time.monotonic()
    assert first is not None
    return (expected_points - first[1]) / (end - first[0]), end - t0


def test_bench_sink_kpi_and_raw_points_per_second(
    stack: Settings, site_id: str, sink_topics: Callable[..., dict[str, str]]
) -> None:
    topics = sink_topics(("kpis", "alerts", "dl", "readings"))
    records = kpi_records(site_id, machines=100, windows=200)  # 20,001 records
    n_kpi_points = sum(len(kpi_points(r)) for r in records)
    produce(stack, topics["kpis"], encode(records), keys=[kpi_key(r) for r in records])
    base = records[0]["start"]
    readings = [
        orjson.dumps(
            {"site": site_id, "line": "l1", "machine": f"m{i % 100}", "metric": "power_kw",
             "value": i * 0.5, "ts": base + i}
        )
        for i in range(200_000)
    ]  # fmt: skip
    produce(
        stack,
        topics["readings"],
        readings,
        keys=[f"{site_id}/l1/m{i % 100}".encode() for i in range(len(readings))],
    )

    common = {"deadletter_topic": topics["dl"], "status_interval_s": 5}
    kpi_rate, kpi_total = _measure(
        stack, {"topics": {topics["kpis"]: "kpis"}, "group": f"bench-{site_id}-k", **common}, n_kpi_points
    )
    raw_rate, raw_total = _measure(
        stack,
        {"topics": {topics["readings"]: "readings"}, "group": f"bench-{site_id}-r", **common},
        len(readings),
    )

    t = time.perf_counter()
    for value in encode(records):
        to_points("kpis", value)
    map_rate = len(records) / (time.perf_counter() - t)
    t = time.perf_counter()
    lines = [p.line() for r in records for p in kpi_points(r)]
    line_rate = len(lines) / (time.perf_counter() - t)

    print(
        f"\nsink KPI: {n_kpi_points} points ({len(records)} records, ~28 fields each) "
        f"{kpi_rate:,.0f} points/s ({kpi_total:.1f} s incl. group join)"
        f"\nsink raw: {len(readings)} telemetry points {raw_rate:,.0f} points/s "
        f"({raw_total:.1f} s incl. join)"
        f"\nmapping only (JSON -> points): {map_rate:,.0f} KPI records/s; "
        f"points -> line protocol {line_rate:,.0f} points/s"
    )
    assert kpi_rate > 1_000 and raw_rate > 5_000
