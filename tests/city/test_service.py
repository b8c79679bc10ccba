"""The city stream service on the REAL Kafka and InfluxDB: the worked example's exports arrive on
`<enterprise>.brain.export` (as MirrorMaker 2 writes them; tests/city/test_chain.py runs MM2),
every one twice (MM2 is at-least-once), plus a record of an enterprise not in the register, one on
another enterprise's topic and one that is not JSON. The city InfluxDB then holds exactly `brain
city`'s rows; the three bad ones are dead letters with their reasons; nothing is counted twice."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from brain.city import evaluate
from brain.city.exports import export_key
from brain.city.influx import CITY_DATABASE
from brain.city.service import serve
from brain.settings import TOPIC_DEADLETTER, Settings
from tests.city.example import prefixed_example

COMPARED = ("kwh", "tce", "co2_t", "tax_per_mu", "sales_per_mu", "tax_per_tce", "oee", "score", "rank")


def _city_rows(stack: Settings, prefix: str, period: str) -> dict[str, dict[str, Any]]:
    from influxdb_client import InfluxDBClient

    flux = f"""
from(bucket: "{CITY_DATABASE}") |> range(start: 2025-01-01T00:00:00Z, stop: 2028-01-01T00:00:00Z)
  |> filter(fn: (r) => r._measurement == "city_enterprise" and r.period == "{period}")
  |> filter(fn: (r) => strings.hasPrefix(v: r.enterprise, prefix: "{prefix}"))
  |> pivot(rowKey: ["_time", "enterprise"], columnKey: ["_field"], valueColumn: "_value")"""
    with InfluxDBClient(url=stack.influx_url, token=stack.influx_token or "x:x", org=stack.influx_org) as c:
        tables = c.query_api().query('import "strings"\n' + flux, org=stack.influx_org)
    return {r.values["enterprise"]: dict(r.values) for t in tables for r in t.records}


def _dead_letters(stack: Settings, start: dict[TopicPartition, int], prefix: str) -> list[dict[str, Any]]:
    consumer = KafkaConsumer(bootstrap_servers=stack.kafka_bootstrap, enable_auto_commit=False)
    consumer.assign(list(start))
    for tp, offset in start.items():
        consumer.seek(tp, offset)
    out = []
    for batch in consumer.poll(timeout_ms=3000, max_records=10_000).values():
        for m in batch:
            dl = json.loads(m.value)
            if dl.get("source") == "city" and dl["topic"].startswith(prefix):
                out.append(dl)
    consumer.close()
    return out


def _assert_rows_equal(stack: Settings, prefix: str, rows: list[dict[str, Any]], period: str) -> None:
    want = {row["enterprise"]: row for row in rows}
    deadline = time.monotonic() + 20
    got = _city_rows(stack, prefix, period)
    while set(got) != set(want) and time.monotonic() < deadline:
        time.sleep(1)
        got = _city_rows(stack, prefix, period)
    assert set(got) == set(want), period
    for enterprise, row in want.items():
        assert got[enterprise].get("class") == row["class"], (period, enterprise)
        for name in COMPARED:
            if row.get(name) is None:
                assert got[enterprise].get(name) is None, (period, enterprise, name)
            else:
                assert abs(got[enterprise][name] - row[name]) <= 1e-9 * max(1.0, abs(row[name])), (
                    period, enterprise, name, got[enterprise][name], row[name])  # fmt: skip


def test_city_service_equals_brain_city_and_dead_letters_the_rest(stack: Settings) -> None:
    prefix = f"c{uuid.uuid4().hex[:6]}-"
    register, records = prefixed_example(prefix)
    known = [r for r in records if r["enterprise"] in register.by_id]
    unknown = [r for r in records if r["enterprise"] not in register.by_id]
    assert known and unknown, "the worked example has an unknown enterprise"
    topics = sorted({f"{r['enterprise']}.brain.export" for r in records})
    admin = KafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    admin.create_topics([NewTopic(t, num_partitions=1, replication_factor=1) for t in topics])
    admin.close()
    probe = KafkaConsumer(bootstrap_servers=stack.kafka_bootstrap)
    parts = [TopicPartition(TOPIC_DEADLETTER, p) for p in probe.partitions_for_topic(TOPIC_DEADLETTER)]
    dead_start = probe.end_offsets(parts)
    probe.close()

    producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    for _ in range(2):  # every record twice: a re-delivery must count once
        for r in records:
            producer.send(f"{r['enterprise']}.brain.export", json.dumps(r).encode())
    other = next(e.id for e in register.enterprises if e.id != known[0]["enterprise"])
    producer.send(f"{other}.brain.export", json.dumps(known[0]).encode())  # on another's topic
    producer.send(f"{other}.brain.export", b"{not json")
    producer.flush()
    producer.close()

    counters: dict[str, int] = {}
    failed: list[BaseException] = []

    def _serve() -> None:
        try:
            counters.update(serve(register, stack, interval_s=1.0, group=f"g{prefix}", run_for_s=15))
        except BaseException as exc:  # reported by the test, not lost in the thread
            failed.append(exc)

    thread = threading.Thread(target=_serve, daemon=True)
    thread.start()
    thread.join(timeout=90)
    assert not thread.is_alive(), "the city service did not stop"
    assert not failed, f"the city service failed: {failed[0]!r}"
    for month in (None, "2026-03"):  # the year, and the month the example's days fall in
        _assert_rows_equal(stack, prefix, evaluate(register, known, 2026, month).enterprises, month or "2026")
    reasons = sorted(dl["reason"] for dl in _dead_letters(stack, dead_start, prefix))
    assert reasons == sorted(
        ["city.unknown_enterprise"] * 2 * len(unknown) + ["city.enterprise_mismatch", "payload.bad_json"]
    ), reasons
    # other runs' topics match the pattern too (their enterprises are not in this register): so
    # only this run's accepted records are counted exactly; a re-delivery is a duplicate, never a sum
    keys = {export_key(r) for r in known}
    assert counters["accepted"] == 2 * len(known), counters
    assert counters["duplicates"] == 2 * len(known) - len(keys), counters
