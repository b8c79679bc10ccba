"""MirrorMaker 2 (`brain mirror`) on real clusters: the shared stack's Kafka plays a factory, the
private stack's Kafka the city. Only `brain.export` crosses, as `<enterprise>.brain.export`;
a SIGKILL of MM2 with records produced meanwhile loses nothing (it resumes from its offsets in the
city cluster, the factory's retention holds the rest)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from brain.settings import Settings
from tests.private_stack import REPO, PrivateStack

EXPORT = "brain.export"


def _ensure_topic(bootstrap: str, name: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)])
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()


def _produce(bootstrap: str, topic: str, records: list[dict]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for r in records:
        producer.send(topic, key=r["key"].encode(), value=json.dumps(r).encode())
    producer.flush()
    producer.close()


def _mirror(source: str, alias: str, target: str, work: Path) -> subprocess.Popen:
    argv = [sys.executable, "-m", "brain.cli", "mirror", "--source", f"{alias}={source}",
            "--target", f"city={target}", "--work-dir", str(work)]  # fmt: skip
    log = (work / "mm2.log").open("ab")
    return subprocess.Popen(argv, cwd=REPO, env=dict(os.environ), stdout=log, stderr=log)


def _read_until(target: str, topic: str, run: str, want: int, timeout_s: float) -> list[dict]:
    """Every record of this run on the city topic, once `want` distinct keys arrived (or timeout)."""
    consumer = KafkaConsumer(bootstrap_servers=target, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=1000)  # fmt: skip
    got: list[dict] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if topic not in consumer.topics():
                time.sleep(1)
                continue
            if not consumer.subscription():
                consumer.subscribe([topic])
            for message in consumer:
                value = json.loads(message.value)
                if value.get("run") == run:
                    got.append(value)
            if len({r["key"] for r in got}) >= want:
                break
    finally:
        consumer.close()
    return got


def test_mm2_mirrors_only_the_export_and_resumes_after_a_kill(
    stack: Settings, private_stack: PrivateStack, tmp_path: Path
) -> None:
    source, target = stack.kafka_bootstrap, private_stack.settings.kafka_bootstrap
    run, alias = uuid.uuid4().hex[:8], f"m{uuid.uuid4().hex[:8]}"
    city_topic = f"{alias}.{EXPORT}"
    _ensure_topic(source, EXPORT)
    _ensure_topic(source, "brain.readings")
    first = [{"key": f"{run}/{i}", "run": run, "kwh": i * 1.5} for i in range(200)]
    _produce(source, EXPORT, first)
    _produce(source, "brain.readings", [{"key": f"{run}/r{i}", "run": run} for i in range(20)])

    mm2 = _mirror(source, alias, target, tmp_path)
    try:
        got = _read_until(target, city_topic, run, len(first), timeout_s=120)
        assert len({r["key"] for r in got}) == len(first), f"mirrored {len(got)}; log {tmp_path}/mm2.log"
        mm2.send_signal(signal.SIGKILL)
        mm2.wait(timeout=30)
        second = [{"key": f"{run}/{i}", "run": run, "kwh": i * 1.5} for i in range(200, 400)]
        _produce(source, EXPORT, second)  # the link is down: the factory's retention holds them
        time.sleep(5)
        mm2 = _mirror(source, alias, target, tmp_path)
        got = _read_until(target, city_topic, run, 400, timeout_s=120)
    finally:
        mm2.kill()
        mm2.wait(timeout=30)
    by_key = {r["key"]: r for r in got}
    assert sorted(by_key) == sorted(r["key"] for r in first + second), "records lost across the kill"
    assert all(by_key[r["key"]] == r for r in first + second), "a mirrored record differs"
    admin = KafkaAdminClient(bootstrap_servers=target)
    topics = admin.list_topics()
    admin.close()
    assert city_topic in topics
    assert f"{alias}.brain.readings" not in topics, "readings must never reach the city cluster"
    print(f"\nmm2: {len(by_key)} records, {len(got) - len(by_key)} re-delivered (at-least-once)")
