"""A day report of a 500-machine plant from the real InfluxDB (issue 15's speed target: < 10 s).

Run: `.venv/bin/pytest -m bench tests/report/test_bench_report.py -s` (or `make bench`);
docs/BENCHMARKS.md, "Reports". Set-up (not timed): the project's simulator makes one day of
readings for 25 lines x 20 machines, the KPI core computes the records the stream would write for
that day (15m, 1h, shift, day) and the sink's own mapping and writer put them into InfluxDB. Then
`brain report --day` is timed end to end in this process (queries, model, charts, HTML, XLSX, JSON,
and the PNG by headless Chromium), three runs; the figure is their median.
"""

from __future__ import annotations

import statistics
import time
import uuid
from pathlib import Path

import pytest
import yaml

from brain.plant import load_plant
from brain.settings import Settings
from processors.kpi import compute_records
from processors.kpi.cli import read_rows
from tests.report.helpers import brain, plant_data, report_json, simulate

pytestmark = [pytest.mark.stack, pytest.mark.slow, pytest.mark.bench, pytest.mark.timeout(1200)]

LINES, PER_LINE = 25, 20
DAY, DAY_START, DAY_END = "2026-02-12", 1_770_825_600_000, 1_770_912_000_000  # a Thursday, +08:00
RUNS = 3


def _plant(root: Path, site: str) -> Path:
    data = plant_data(site)
    machines = [
        [{"id": f"l{i:02d}m{j:02d}", "ideal_cycle_s": 20 + j} for j in range(PER_LINE)] for i in range(LINES)
    ]
    data["sites"][0]["lines"] = [{"id": f"l{i:02d}", "machines": m} for i, m in enumerate(machines)]
    path = root / "plant.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _load(settings: Settings, config: Path, readings: Path) -> int:
    from processors.sink.mapping import kpi_points
    from processors.sink.writer import InfluxWriter

    plant = load_plant(str(config))
    with open(readings, encoding="utf-8") as fh:
        rows = list(read_rows(fh, str(readings), plant.tz))
    records = [
        r for w in ("15m", "1h", "shift", "day") for r in compute_records(plant, rows, w, DAY_START, DAY_END)
    ]
    writer = InfluxWriter(url=settings.influx_url, token=settings.influx_token, org=settings.influx_org,
                          buckets={"kpi": "brain_kpi"})  # fmt: skip
    try:
        points = [p for r in records for p in kpi_points(r)]
        for i in range(0, len(points), 5000):
            assert writer.write(points[i : i + 5000]) == []
    finally:
        writer.close()
    return len(points)


def test_bench_day_report_of_500_machines(stack: Settings, tmp_path: Path) -> None:
    site = f"b{uuid.uuid4().hex[:8]}"
    config = _plant(tmp_path, site)
    t0 = time.monotonic()
    every_5_min = "state=0,counters=300,energy=300,power=300"
    readings = simulate(config, tmp_path / "readings.jsonl", start="2026-02-12T00:00:00+08:00",
                        duration="24h", timeout=900, period=every_5_min)  # fmt: skip
    t1 = time.monotonic()
    points = _load(stack, config, readings)
    t2 = time.monotonic()
    print(f"\nset-up: {LINES * PER_LINE} machines, readings {t1 - t0:.1f} s, {points} KPI points "
          f"written in {t2 - t1:.1f} s")  # fmt: skip
    seconds = []
    for run in range(RUNS):
        out = tmp_path / f"out{run}"
        start = time.perf_counter()
        code, text = brain("report", "--config", str(config), "--out", str(out), "--day", DAY)
        seconds.append(time.perf_counter() - start)
        assert code == 0, text
    report = report_json(out / site / DAY)
    machines = [r for r in report["records"] if r["scope"] == "machine" and r["window"] == "day"]
    assert len(machines) == LINES * PER_LINE and (out / site / DAY / "report.png").stat().st_size > 0
    runs = ", ".join(f"{s:.2f}" for s in seconds)
    print(f"day report, {LINES * PER_LINE} machines, from InfluxDB with the PNG: runs {runs} s, "
          f"median {statistics.median(seconds):.2f} s (target < 10 s)")  # fmt: skip
