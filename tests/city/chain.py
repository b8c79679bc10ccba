"""Helpers of the chain test (tests/city/test_chain.py): its register and KPI records, and the
Kafka and InfluxDB reads it checks the clusters with."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from brain.settings import TOPIC_KPIS, Settings
from brain.vocabulary import KPI_RECORD_FIELDS
from tests.private_stack import REPO

TZ = "Asia/Shanghai"
DAY_MS = 86_400_000


def midnight_ms(month: int, dom: int) -> int:
    """Epoch ms of a local midnight of 2026 in the register's time zone."""
    return int(dt.datetime(2026, month, dom, tzinfo=ZoneInfo(TZ)).timestamp() * 1000)


def register_data(a: str, b: str, run: str) -> dict[str, Any]:
    def ent(eid: str, sector: str, land: int, tax: int, sales: int) -> dict[str, Any]:
        year = {
            "tax_wan_cny": tax,
            "sales_wan_cny": sales,
            "value_added_wan_cny": sales // 4,
            "employees": 100,
        }
        return {
            "id": eid,
            "name": eid,
            "sector": f"{run}-{sector}",
            "park": f"{run}-park",
            "land_mu": land,
            "years": {2026: year},
        }

    return {
        "name": f"chain-{run}",
        "timezone": TZ,
        "scheme": {
            "indicators": [
                {"id": "tax_per_mu", "weight": 0.45, "baseline": 20},
                {"id": "sales_per_mu", "weight": 0.35, "baseline": 500},
                {"id": "tax_per_tce", "weight": 0.20, "baseline": 2},
            ],
            "classes": {"A": 0.2, "B": 0.6, "C": 0.95},
            "dq_threshold": 0.9,
        },
        "carbon_factor": "cn-2023-national-average",
        "enterprises": [ent(a, "cnc", 100, 3000, 60000), ent(b, "textile", 50, 1000, 25000)],
    }


def kpi(
    site: str,
    scope: str,
    window: str,
    start: int,
    *,
    final: bool,
    kwh: float,
    mark: str,
    line: str | None = None,
) -> dict[str, Any]:
    """A KPI record with every documented field (most are not allowlisted) and one extra field."""
    rec: dict[str, Any] = {f: 1.0 for f in KPI_RECORD_FIELDS}
    rec.update(
        scope=scope,
        site=site,
        line=line,
        machine=mark if scope == "machine" else None,
        window=window,
        start=start,
        end=start + (DAY_MS if window == "day" else 60_000),
        shift=None,
        final=final,
        energy_kwh=kwh,
        pot_s=86_400.0,
        unknown_s=864.0 * (kwh % 7),
        gq=kwh / 10,
        pq=kwh / 9,
        oee=0.7,
        performance_suspect=False,
    )
    rec[f"x_{mark}"] = mark  # a field outside the allowlist: dropped at the factory
    return rec


def kpis(site: str, days: list[tuple[int, int]], mark: str, base: float) -> list[dict[str, Any]]:
    """Per day: a provisional site record, the final one, two final lines; a machine day and a 1m
    line record that never leave."""
    out = []
    for i, (month, dom) in enumerate(days):
        start, kwh = midnight_ms(month, dom), base + 100.0 * i
        out += [
            kpi(site, "site", "day", start, final=False, kwh=kwh * 1000, mark=mark),
            kpi(site, "site", "day", start, final=True, kwh=kwh, mark=mark),
            kpi(site, "line", "day", start, final=True, kwh=kwh / 2, mark=mark, line="l1"),
            kpi(site, "line", "day", start, final=True, kwh=kwh / 3, mark=mark, line="l2"),
            kpi(site, "machine", "day", start, final=True, kwh=kwh / 4, mark=mark, line="l1"),
            kpi(site, "line", "1m", start, final=True, kwh=kwh / 1440, mark=mark, line=f"l-{mark}"),
        ]
    return out


def produce(settings: Settings, topic: str, records: list[dict[str, Any]]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    for r in records:
        producer.send(
            topic, key=f"{r['site']}/{r.get('scope')}/{r.get('start')}".encode(), value=orjson.dumps(r)
        )
    producer.flush()
    producer.close()


def from_the_end(settings: Settings, group: str) -> None:
    """The exporter's group starts at brain.kpis' current end: the cluster holds other tests' KPIs."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=group, enable_auto_commit=False
    )
    parts = [TopicPartition(TOPIC_KPIS, p) for p in consumer.partitions_for_topic(TOPIC_KPIS)]
    consumer.assign(parts)
    consumer.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in consumer.end_offsets(parts).items()})
    consumer.close()


def read_all(bootstrap: str, topics: list[str] | None = None) -> dict[str, list[Any]]:
    """Every message of every topic (or of `topics`), from the beginning to the current end."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, exclude_internal_topics=False
    )
    names = sorted(consumer.topics()) if topics is None else topics
    parts = [TopicPartition(t, p) for t in names for p in consumer.partitions_for_topic(t) or ()]
    ends = {tp: o for tp, o in consumer.end_offsets(parts).items() if o}
    out: dict[str, list[Any]] = {t: [] for t in names}
    consumer.assign(list(ends))
    consumer.seek_to_beginning(*ends)
    deadline = time.monotonic() + 60
    while any(consumer.position(tp) < end for tp, end in ends.items()) and time.monotonic() < deadline:
        for tp, messages in consumer.poll(timeout_ms=500, max_records=50_000).items():
            out[tp.topic] += [m for m in messages if m.offset < ends[tp]]
    assert all(consumer.position(tp) >= end for tp, end in ends.items()), (
        "could not read the cluster to its end"
    )
    consumer.close()
    return out


def carries(message: Any, needle: bytes) -> bool:
    """Whether the key, value or a header of a Kafka message contains `needle`."""
    blobs = [message.key or b"", message.value or b"", *(v or b"" for _, v in message.headers or ())]
    return any(needle in blob for blob in blobs)


def topic_names(bootstrap: str) -> set[str]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, exclude_internal_topics=False)
    try:
        return set(consumer.topics())
    finally:
        consumer.close()


def mirror(sources: dict[str, Settings], city: Settings, work: Path) -> subprocess.Popen:
    argv = [
        sys.executable,
        "-m",
        "brain.cli",
        "mirror",
        "--target",
        f"city={city.kafka_bootstrap}",
        "--work-dir",
        str(work),
    ]
    for alias, settings in sources.items():
        argv += ["--source", f"{alias}={settings.kafka_bootstrap}"]
    log = (work / "mm2.log").open("ab")
    return subprocess.Popen(argv, cwd=REPO, env=dict(os.environ), stdout=log, stderr=log)


def city_rows(settings: Settings, database: str, period: str) -> dict[str, dict[str, Any]]:
    from influxdb_client import InfluxDBClient

    flux = f"""
from(bucket: "{database}") |> range(start: 2025-01-01T00:00:00Z, stop: 2028-01-01T00:00:00Z)
  |> filter(fn: (r) => r._measurement == "city_enterprise" and r.period == "{period}")
  |> pivot(rowKey: ["_time", "enterprise"], columnKey: ["_field"], valueColumn: "_value")"""
    with InfluxDBClient(
        url=settings.influx_url, token=settings.influx_token or "x:x", org=settings.influx_org
    ) as c:
        tables = c.query_api().query(flux, org=settings.influx_org)
    return {r.values["enterprise"]: dict(r.values) for t in tables for r in t.records}
