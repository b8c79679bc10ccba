"""Helpers for the sink's integration tests on the real servers: fresh topics, produce, query back."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from brain.settings import Settings
from brain.stack.servers import ensure_topics

DAY_MS = 86_400_000


def fresh_topics(
    settings: Settings, site: str, kinds: tuple[str, ...] = ("kpis", "alerts", "dl")
) -> dict[str, str]:
    names = {kind: f"sinktest.{site}.{kind}" for kind in kinds}
    ensure_topics(settings.kafka_bootstrap, dict.fromkeys(names.values(), 3))
    _wait_for_metadata(settings, list(names.values()))
    return names


def _wait_for_metadata(settings: Settings, topics: list[str], timeout_s: float = 20) -> None:
    """Creation returns before every broker serves the new topics' metadata: wait for it."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(len(consumer.partitions_for_topic(t)) == 3 for t in topics):
                return
            time.sleep(0.2)
        raise AssertionError(f"topics {topics} not visible in the metadata after {timeout_s}s")
    finally:
        consumer.close()


def kpi_key(record: dict) -> bytes:
    """The KPI processors' key: one series stays in one partition, so a correction follows its original."""
    return f"{record['site']}/{record.get('line')}/{record.get('machine')}/{record['window']}".encode()


def produce(settings: Settings, topic: str, values: list[bytes], keys: list[bytes] | None = None) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=5)
    try:
        for i, value in enumerate(values):
            producer.send(topic, value=value, key=keys[i] if keys else None)
        producer.flush(30)
    finally:
        producer.close()


def kpi_records(site: str, *, machines: int = 3, windows: int = 20, base_ms: int | None = None) -> list[dict]:
    """Machine-scope 1m records plus one line-scope shift record per machine set; realistic values."""
    base = base_ms if base_ms is not None else (int(time.time() * 1000) // 60_000 - windows - 60) * 60_000
    out = []
    for w in range(windows):
        start = base + w * 60_000
        for m in range(machines):
            pq = 30 + w + m
            out.append(
                {
                    "scope": "machine",
                    "site": site,
                    "line": "l1",
                    "machine": f"m{m}",
                    "window": "1m",
                    "start": start,
                    "end": start + 60_000,
                    "shift": None,
                    "final": w % 2 == 0,
                    "pot_s": 60.0,
                    "pdot_s": 0.0,
                    "pbt_s": 60.0,
                    "apt_s": 50.0 - m,
                    "aust_s": 2.0,
                    "adet_s": 8.0 + m,
                    "adot_s": 0.0,
                    "unknown_s": 0.0,
                    "pq": pq,
                    "sq": m,
                    "gq": pq - m,
                    "failures": 1,
                    "availability": (50.0 - m) / 60,
                    "performance": 0.9 + w / 1000,
                    "quality": (pq - m) / pq,
                    "oee": 0.7 - m / 100,
                    "nee": 0.72,
                    "throughput_per_h": pq * 60.0,
                    "mtbf_s": 52.0,
                    "mttr_s": 8.0 + m,
                    "energy_kwh": None if m == 2 else 1.25 + w / 100,
                    "energy_kvarh": None,
                    "avg_kw": None if m == 2 else 75.0 + w,
                    "peak_demand_kw": None if m == 2 else 80.5,
                    "power_factor": None,
                    "load_factor": None if m == 2 else 0.93,
                    "sec_kwh_per_unit": None if m == 2 else 0.04,
                    "co2_kg": None if m == 2 else 0.7,
                    "cost": None if m == 2 else 1.1,
                    "kwh_peak": None if m == 2 else 1.25,
                    "kwh_flat": None if m == 2 else 0.0,
                    "kwh_valley": None if m == 2 else 0.0,
                    "technical_efficiency": 0.86,
                    "setup_rate": 0.04,
                    "scrap_ratio": m / pq,
                    "sec_kwh_per_pq": None if m == 2 else 0.041,
                    "pq_unscheduled": 0,
                    "performance_suspect": False,
                }
            )
    out.append(
        {
            "scope": "line",
            "site": site,
            "line": "l1",
            "machine": None,
            "window": "shift",
            "start": base,
            "end": base + windows * 60_000,
            "shift": "A",
            "final": False,
            "pq": 1000,
            "oee": 0.66,
        }
    )
    return out


def encode(records: list[dict]) -> list[bytes]:
    return [orjson.dumps(r) for r in records]


# --------------------------------------------------------------------------------------- InfluxDB

Key = tuple[str, tuple[tuple[str, str], ...], int]  # measurement, sorted tags, time ms
_META = {"result", "table", "_start", "_stop", "_time", "_value", "_field", "_measurement"}


def query_site(settings: Settings, bucket: str, site: str, measurement: str | None = None) -> dict[Key, dict]:
    """Every point of a site in a bucket: {(measurement, tags, time_ms): {field: value}}."""
    from influxdb_client import InfluxDBClient

    flt = f' and r._measurement == "{measurement}"' if measurement else ""
    flux = (
        f'from(bucket: "{bucket}") |> range(start: 0, stop: 2200-01-01T00:00:00Z) '
        f'|> filter(fn: (r) => r.site == "{site}"{flt})'
    )
    out: dict[Key, dict] = {}
    with InfluxDBClient(
        url=settings.influx_url, token=settings.influx_token or "x:x", org="-", timeout=30_000
    ) as c:
        for table in c.query_api().query(flux):
            for rec in table.records:
                values = rec.values
                tags = tuple(sorted((k, v) for k, v in values.items() if k not in _META and v is not None))
                ms = int(rec.get_time().timestamp() * 1000 + 0.5)
                out.setdefault((rec.get_measurement(), tags, ms), {})[rec.get_field()] = rec.get_value()
    return out


def delete_site(settings: Settings, site: str, buckets: tuple[str, ...] = ("brain_kpi", "brain_raw")) -> None:
    """Remove a test's site from the shared InfluxDB (/api/v2/delete, which 1.x serves too)."""
    from influxdb_client import InfluxDBClient

    with InfluxDBClient(
        url=settings.influx_url, token=settings.influx_token or "x:x", org="-", timeout=60_000
    ) as c:
        for bucket in buckets:
            c.delete_api().delete(
                "1970-01-01T00:00:00Z", "2200-01-01T00:00:00Z", f'site="{site}"', bucket=bucket, org="-"
            )


def count_points(settings: Settings, bucket: str, site: str) -> int:
    """How many KPI points (oee + energy) a site has: every one of them has the field `end`."""
    from influxdb_client import InfluxDBClient

    flux = (
        f'from(bucket: "{bucket}") |> range(start: 0, stop: 2200-01-01T00:00:00Z) '
        f'|> filter(fn: (r) => r.site == "{site}" and r._field == "end") |> count()'
    )
    with InfluxDBClient(
        url=settings.influx_url, token=settings.influx_token or "x:x", org="-", timeout=30_000
    ) as c:
        return sum(rec.get_value() for table in c.query_api().query(flux) for rec in table.records)


def expected_kpi_points(records: list[dict]) -> dict[Key, dict]:
    """What the contract says InfluxDB must hold for these records, computed from the records."""
    from processors.sink import kpi_points

    out: dict[Key, dict] = {}
    for record in records:
        for p in kpi_points(record):
            out[(p.measurement, p.tags, p.time_ms)] = {
                k: (int(v) if type(v).__name__ == "Int" else v) for k, v in p.fields.items()
            }
    return out


def wait_for(check: Callable[[], Any], timeout_s: float, what: str, every_s: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}; last: {str(last)[:500]}")


def read_topic(settings: Settings, topic: str, expect: int, timeout_s: float = 20) -> list[dict]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic, bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest", group_id=None
    )
    out: list[dict] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(out) < expect and time.monotonic() < deadline:
            for messages in consumer.poll(timeout_ms=500).values():
                out += [orjson.loads(m.value) for m in messages]
    finally:
        consumer.close()
    return out


@contextmanager
def running_sink(settings: Settings, **options: Any) -> Iterator[Any]:
    """A Sink in a thread of this process; stopped (and its batch written) on exit."""
    from processors.sink.service import Sink, SinkOptions

    sink = Sink(settings, SinkOptions(**options))
    stop = threading.Event()
    errors: list[BaseException] = []

    def target() -> None:
        try:
            sink.run(stop)
        except BaseException as exc:  # surfaced in the test
            errors.append(exc)

    thread = threading.Thread(target=target, name="sink", daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive(), "the sink did not stop within 30 s"
    if errors:
        raise errors[0]
