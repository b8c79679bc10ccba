"""`brain demo --park` on the REAL servers (issue 16): two live factories on Kafka clusters of their
own, ONE MirrorMaker 2 into the city cluster, twelve recorded enterprises, the city service. After
a short run the city InfluxDB holds ranked rows for every park enterprise, the live ones with
this run's day in its month, and the figures are `brain city`'s on the city topics' records.

The park's points are deleted from brain_city first, so no earlier run's rows can pass."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from brain.city.evaluate import evaluate
from brain.city.influx import CITY_DATABASE
from brain.city.register import load_register
from brain.demo.park import FACTORIES, REGISTER
from brain.demo.park_io import city_rows, read_topics
from brain.demo.park_record import LIVE, TZ
from brain.kafka_offsets import end_offsets
from brain.plant import load_plant
from brain.settings import KPI_DATABASE, TOPIC_EXPORT, Settings

pytestmark = [pytest.mark.stack, pytest.mark.slow, pytest.mark.timeout(480)]
ROOT = Path(__file__).resolve().parents[2]
COMPARED = ("kwh", "tce", "co2_t", "tax_per_mu", "tax_per_tce", "oee", "dq_completeness", "score", "rank")


def _delete(stack: Settings, bucket: str, tag: str, values: set[str]) -> None:
    from influxdb_client import InfluxDBClient

    with InfluxDBClient(url=stack.influx_url, token=stack.influx_token or "x:x", org=stack.influx_org) as c:
        for value in sorted(values):
            c.delete_api().delete("1970-01-01T00:00:00Z", "2200-01-01T00:00:00Z", f'{tag}="{value}"',
                                  bucket=bucket, org="-")  # fmt: skip


def test_the_park_ranks_live_and_recorded_enterprises_in_the_city_influxdb(
    stack: Settings, tmp_path: Path
) -> None:
    register = load_register(str(REGISTER))
    ids = [e.id for e in register.enterprises]
    _delete(stack, CITY_DATABASE, "park", {e.park for e in register.enterprises})
    assert city_rows(stack, "2026", ids) == []
    live_topics = [f"{e}.{TOPIC_EXPORT}" for e in LIVE]
    since = {t: end_offsets(stack, t) for t in live_topics}
    began = time.monotonic()
    try:
        argv = [
            sys.executable,
            "-m",
            "brain.cli",
            "demo",
            "--park",
            "--seconds",
            "20",
            "--run-dir",
            str(tmp_path),
        ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=450)
    finally:  # the live factories' own KPIs (brain_kpi, their factory dashboards) are not kept
        sites = {load_plant(str(f.config)).sites[0].id for f in FACTORIES}
        _delete(stack, KPI_DATABASE, "site", sites)
    took = time.monotonic() - began
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    night = re.search(r"replay \w+ (\d{4})-(\d{2})-(\d{2}) 23:00", out)
    assert night, out[:2000]
    month = f"{night.group(1)}-{night.group(2)}"

    year = {r["enterprise"]: r for r in city_rows(stack, "2026", ids)}
    ranked = {e for e, r in year.items() if r.get("rank") is not None}
    assert len(ranked) >= 12 and set(LIVE) <= ranked, sorted(ranked)
    assert "ranking for 2026" in out and all(e in out for e in ids)

    # this run's live day reached the city by MM2 and is in the live enterprises' month
    day = dt.date(int(night.group(1)), int(night.group(2)), int(night.group(3)))
    day_ms = int(dt.datetime.combine(day, dt.time(0), tzinfo=TZ).timestamp() * 1000)
    new = [r for r in read_topics(stack, live_topics, since) if r["scope"] == "site" and r["window"] == "day"]
    assert {r["enterprise"] for r in new if r["start"] == day_ms} == set(LIVE)
    months = {r["enterprise"]: r for r in city_rows(stack, month, LIVE)}
    for e in LIVE:
        assert months[e]["days"] >= 1 and months[e]["kwh"] > 0, months.get(e)

    # stream = batch: brain city's evaluation of every record on the park's city topics
    records = read_topics(stack, [f"{e}.{TOPIC_EXPORT}" for e in ids])
    want = {r["enterprise"]: r for r in evaluate(register, records, 2026).enterprises}
    for e in ids:
        for name in COMPARED:
            got, exp = year[e].get(name), want[e][name]
            assert (got is None and exp is None) or got == pytest.approx(exp, rel=1e-9), (e, name, got, exp)
        assert year[e]["class"] == want[e]["class"]
    _check_city_dashboards(stack, ids)
    print(f"\npark demo: {len(ranked)} ranked in brain_city, {len(records)} city records, {took:.0f} s")


def _check_city_dashboards(stack: Settings, ids: list[str]) -> None:
    """Where the demo says to look: every city dashboard query runs on the park's points and returns
    rows; the ranking panel lists the park's enterprises."""
    from influxdb_client import InfluxDBClient

    from dashboards import city, queries

    now = dt.datetime.now(dt.UTC)
    variables = {"period": "2026", "park": "wujiang-demo", "sector": "cnc"}
    empty, errors, seen = [], [], set()
    with InfluxDBClient(url=stack.influx_url, token=stack.influx_token or "x:x", org=stack.influx_org) as c:
        for d in city.DASHBOARDS:
            for name, query in queries.all_queries(d):
                flux = queries.substitute(query, variables=variables, start=now - dt.timedelta(days=730),
                                          stop=now + dt.timedelta(minutes=5))  # fmt: skip
                try:
                    rows = [
                        dict(r.values)
                        for t in c.query_api().query(flux, org=stack.influx_org)
                        for r in t.records
                    ]
                except Exception as exc:  # reported with the query's name
                    errors.append(f"{name}: {str(exc)[:300]}")
                    continue
                if not rows:
                    empty.append(name)
                seen |= {r.get("enterprise") for r in rows}
    assert not errors and not empty, (errors, empty)
    assert set(ids) <= seen, sorted(set(ids) - seen)
