"""The park demo's I/O edges (brain/demo/park.py runs them): the factories' own Kafka clusters,
replaying recorded exports, reading the city topics and the city InfluxDB, and MM2's progress."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brain.city.influx import CITY_DATABASE
from brain.settings import TOPIC_EXPORT, Settings

ROOT = Path(__file__).resolve().parents[2]
EXPORT_PARTITIONS = 3  # as brain.export (docs/DEPLOY.md)


def city_rows(settings: Settings, period: str, enterprises: Iterable[str]) -> list[dict[str, Any]]:
    """The `city_enterprise` rows of `period` in the city InfluxDB for these enterprises."""
    from influxdb_client import InfluxDBClient

    wanted = set(enterprises)
    flux = f"""
from(bucket: "{CITY_DATABASE}") |> range(start: 1970-01-01T00:00:00Z, stop: 2200-01-01T00:00:00Z)
  |> filter(fn: (r) => r._measurement == "city_enterprise" and r.period == "{period}")
  |> pivot(rowKey: ["_time", "enterprise"], columnKey: ["_field"], valueColumn: "_value")"""
    token = settings.influx_token or "x:x"
    with InfluxDBClient(url=settings.influx_url, token=token, org=settings.influx_org, timeout=30_000) as c:
        tables = c.query_api().query(flux, org=settings.influx_org)
    rows = [dict(r.values) for t in tables for r in t.records]
    return [r for r in rows if r.get("enterprise") in wanted]


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class Cluster:
    """A factory's own single-broker Kafka (`brain stack up kafka` in its directory)."""

    enterprise: str
    root: Path
    port: int
    controller_port: int

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "BRAIN_STACK_DIR": str(self.root), "BRAIN_KAFKA_BOOTSTRAP": self.bootstrap,
                "BRAIN_STACK_KAFKA_PORT": str(self.port),
                "BRAIN_STACK_KAFKA_CONTROLLER_PORT": str(self.controller_port)}  # fmt: skip

    def ctl(self, action: str) -> subprocess.Popen[bytes]:
        log = open(self.root.parent / f"kafka-{action}.log", "ab")  # noqa: SIM115 - closed by the child's exit
        args = ["stack", action, *(["kafka"] if action == "up" else [])]
        return subprocess.Popen([sys.executable, "-m", "brain.cli", *args], env=self.env, cwd=ROOT,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # fmt: skip


def produce(bootstrap: str, topic: str, records: list[Mapping[str, Any]], settings: Settings) -> None:
    from kafka import KafkaProducer

    from processors.export.allowlist import key_bytes

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, **settings.kafka_kwargs())
    try:
        for r in records:
            producer.send(topic, key=key_bytes(r), value=json.dumps(r).encode())
        producer.flush(60)
    finally:
        producer.close()


def replay_city(settings: Settings, others: Mapping[str, list]) -> dict[str, int]:
    """The recorded enterprises' exports into `<enterprise>.brain.export` on the city cluster, once:
    a topic that already holds as many records is left as it is. Returns records sent per topic."""
    from brain.kafka_admin import ensure_topics
    from brain.kafka_offsets import end_offsets

    ensure_topics(settings, {f"{e}.{TOPIC_EXPORT}": EXPORT_PARTITIONS for e in others})
    sent = {}
    for enterprise, records in others.items():
        topic = f"{enterprise}.{TOPIC_EXPORT}"
        if sum(end_offsets(settings, topic).values()) >= len(records):
            continue
        produce(settings.kafka_bootstrap, topic, records, settings)
        sent[topic] = len(records)
    return sent


def read_topics(settings: Settings, topics: Iterable[str], since: Mapping[str, dict[int, int]] | None = None
                ) -> list[dict[str, Any]]:  # fmt: skip
    """The JSON records on `topics` from `since` (topic -> partition -> offset; else the beginning)
    to their current end."""
    from kafka import KafkaConsumer, TopicPartition

    out: list[dict[str, Any]] = []
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                             group_id=None, **settings.kafka_kwargs())  # fmt: skip
    try:
        tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        if not tps:
            return out
        consumer.assign(tps)
        ends = consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, (since or {}).get(tp.topic, {}).get(tp.partition, 0))
        deadline = time.monotonic() + 30
        while any(consumer.position(tp) < ends[tp] for tp in tps) and time.monotonic() < deadline:
            for tp, batch in consumer.poll(timeout_ms=500, max_records=10_000).items():
                out += [json.loads(m.value) for m in batch if m.offset < ends[tp]]
    finally:
        consumer.close()
    return out


def live_days_at_city(settings: Settings, since: Mapping[str, dict[int, int]], day_ms: int) -> set[str]:
    """The live enterprises whose final site `day` record of the live day reached the city topic
    since the run began (`since`: topic -> partition -> offset at the start)."""
    return {
        r["enterprise"]
        for r in read_topics(settings, since, since)
        if r.get("scope") == "site" and r.get("window") == "day" and r.get("start") == day_ms
    }


def forget_mirror_progress(settings: Settings, aliases: Iterable[str], timeout_s: float = 60) -> list[str]:
    """Delete MM2's progress topics of these source aliases on the city cluster
    (`mm2-{offsets,configs,status}.<alias>.internal`): the park's factory clusters are new each
    run, and an offset stored for an earlier cluster would skip the new one's first records."""
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, **settings.kafka_kwargs())
    try:
        names = {f"mm2-{kind}.{a}.internal" for a in aliases for kind in ("offsets", "configs", "status")}
        stale = sorted(names & set(admin.list_topics()))
        if stale:
            admin.delete_topics(stale)
        deadline = time.monotonic() + timeout_s
        while stale and set(stale) & set(admin.list_topics()) and time.monotonic() < deadline:
            time.sleep(0.5)
        return stale
    finally:
        admin.close()
