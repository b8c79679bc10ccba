"""Throughput of the pure core's fold (target: >= 500,000 readings/s per core, in-process).

Run: .venv/bin/pytest tests/kpi/test_bench_core.py -m slow -s
"""

from __future__ import annotations

import random
import statistics
import time

import pytest

from processors.kpi import Context, MachineFold, compute_records
from tests.kpi.helpers import at, plant

N = 1_000_000
PLANT = plant([{"id": "m1", "ideal_cycle_s": 1.0}], shifts=[{"name": "d", "start": "08:00", "end": "20:00"}])
MACHINE = PLANT.sites[0].lines[0].machines[0]


def _readings(n: int) -> list[tuple[str, object, int]]:
    """One machine, five metrics, each every second (a reading every 200 ms)."""
    rnd = random.Random(1)
    h0 = at("2025-03-03 08:00")
    metrics = ("count_total", "count_scrap", "energy_kwh", "power_kw", "state")
    counts = {"count_total": 0, "count_scrap": 0, "energy_kwh": 0.0}
    out: list[tuple[str, object, int]] = []
    for i in range(n):
        metric = metrics[i % 5]
        if metric == "state":
            value: object = "running" if rnd.random() < 0.9 else "fault"
        elif metric == "power_kw":
            value = 40.0
        else:
            counts[metric] += 1
            value = counts[metric]
        out.append((metric, value, h0 + i * 200))
    return out


@pytest.mark.bench
def test_fold_throughput() -> None:
    readings = _readings(N)
    ctx = Context.from_plant(PLANT)
    rates = []
    for _ in range(5):
        fold = MachineFold(MACHINE, ctx.cal)
        feed = fold.feed
        t0 = time.perf_counter()
        for metric, value, ts in readings:
            feed(metric, value, ts)
        rates.append(N / (time.perf_counter() - t0))
    # A benchmark, not a test: the figure goes to docs/BENCHMARKS.md (target 500,000/s per core).
    print(f"\nMachineFold.feed: median {statistics.median(rates):,.0f} readings/s over 5 runs")
    assert fold.buckets  # it really folded something


@pytest.mark.bench
def test_batch_throughput() -> None:
    rows = [("s1", "l1", "m1", m, v, ts) for m, v, ts in _readings(200_000)]
    t0 = time.perf_counter()
    recs = compute_records(PLANT, rows, "1m")
    rate = len(rows) / (time.perf_counter() - t0)
    print(f"\ncompute_records (1m windows, {len(recs)} records): {rate:,.0f} readings/s")
    assert recs
