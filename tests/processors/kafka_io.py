"""Real-Kafka helpers for the processor tests: fresh topics, a worker subprocess, reading output."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import yaml
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from brain.kafka_admin import ensure_topics
from brain.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


class Run:
    """Fresh topics and ids for one test: nothing shared with other tests or services."""

    def __init__(self, settings: Settings, tmp: Path, partitions: int = 3) -> None:
        self.settings = settings
        self.tmp = tmp
        tag = uuid.uuid4().hex[:10]
        self.app_id = f"test-proc-{tag}"
        self.readings = f"test.{tag}.readings"
        self.kpis = f"test.{tag}.kpis"
        self.late = f"test.{tag}.late"
        self.partials = f"test.{tag}.partials"
        self.partitions = partitions
        ensure_topics(settings, {self.readings: partitions, self.kpis: partitions})
        self.logs: list[Path] = []

    def write_plant(self, plant_dict: dict[str, Any]) -> Path:
        path = self.tmp / "plant.yaml"
        path.write_text(yaml.safe_dump(plant_dict))
        return path

    def produce(self, readings: list[dict[str, Any]]) -> None:
        producer = KafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap, linger_ms=5)
        for r in readings:
            key = f"{r['site']}/{r['line']}/{r['machine']}".encode()
            producer.send(self.readings, key=key, value=orjson.dumps(r))
        producer.flush()
        producer.close()

    def worker(self, config: Path, *extra: str, name: str = "w", prelude: str = "") -> subprocess.Popen:
        """`brain process` on this run's topics; `prelude`: Python run first in the worker (tests
        that make it fail on purpose)."""
        env = dict(os.environ, BRAIN_KAFKA_BOOTSTRAP=self.settings.kafka_bootstrap, PYTHONUNBUFFERED="1")
        log = self.tmp / f"{name}-{len(self.logs)}.log"
        self.logs.append(log)
        start = ["-m", "brain.cli"]
        if prelude:
            start = ["-c", f"{prelude}\nimport sys\nfrom brain.cli import main\nsys.exit(main(sys.argv[1:]))"]
        argv = [
            sys.executable,
            *start,
            "process",
            "--config",
            str(config),
            "--app-id",
            self.app_id,
            "--input-topic",
            self.readings,
            "--output-topic",
            self.kpis,
            "--late-topic",
            self.late,
            "--partials-topic",
            self.partials,
            "--data-dir",
            str(self.tmp / "data"),
            "--stats-interval-s",
            "0.5",
            *extra,
        ]
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"))

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())


class Tail:
    """Reads a topic from the beginning; `poll_until(done)` keeps reading until done(records)."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self.consumer = KafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, group_id=None
        )
        deadline = time.monotonic() + 20
        parts = None
        while not parts and time.monotonic() < deadline:
            parts = self.consumer.partitions_for_topic(topic)
            if not parts:
                time.sleep(0.2)
        assert parts, f"topic {topic} does not exist"
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        self.consumer.assign(tps)
        self.consumer.seek_to_beginning(*tps)
        self.records: list[tuple[bytes | None, Any]] = []

    def poll(self) -> None:
        for batch in self.consumer.poll(timeout_ms=200, max_records=5000).values():
            for m in batch:
                self.records.append((m.key, orjson.loads(m.value)))

    def poll_until(
        self, done: Callable[[list[Any]], bool], timeout_s: float, alive: Callable[[], None] | None = None
    ) -> list[Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.poll()
            if done([v for _, v in self.records]):
                break
            if alive:
                alive()
        return [v for _, v in self.records]

    def close(self) -> None:
        self.consumer.close()


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
