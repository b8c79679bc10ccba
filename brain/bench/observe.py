"""What `brain bench` watches while it runs: its own Kafka clients, the progress monitor (bridge
counters, processors' committed offsets), the InfluxDB poller of final KPI windows, and small helpers."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, Any

from brain import logs
from brain.bench.load import MINUTE
from brain.settings import KPI_DATABASE, TOPIC_READINGS, Settings
from brain.vocabulary import SCOPES

if TYPE_CHECKING:
    from brain.bench.cli import Bench

log = logging.getLogger("brain.bench")


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def influx_query(settings: Settings, q: str) -> list[dict[str, Any]]:
    url = f"{settings.influx_url}/query?" + urllib.parse.urlencode(
        {"db": KPI_DATABASE, "q": q, "epoch": "ms"}
    )
    req = urllib.request.Request(url)
    if settings.influx_token:
        req.add_header("Authorization", f"Token {settings.influx_token}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        body = json.loads(resp.read())
    return [s for r in body.get("results", []) for s in r.get("series", []) or []]


class Kafka:
    """The bench's own kafka-python clients (admin + a group-less consumer)."""

    def __init__(self, settings: Settings) -> None:
        from kafka import KafkaAdminClient, KafkaConsumer

        kw = settings.kafka_kwargs()
        self.settings = settings
        self.admin = KafkaAdminClient(
            bootstrap_servers=settings.kafka_bootstrap.split(","),
            client_id="brain-bench",
            request_timeout_ms=30000,
            **kw,
        )
        self.consumer = KafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap.split(","),
            group_id=None,
            enable_auto_commit=False,
            check_crcs=False,
            max_partition_fetch_bytes=8 << 20,
            fetch_max_bytes=64 << 20,
            **kw,
        )

    def partitions(self, topic: str) -> list[Any]:
        from kafka import TopicPartition

        for _ in range(50):
            parts = self.consumer.partitions_for_topic(topic)
            if parts:
                return [TopicPartition(topic, p) for p in sorted(parts)]
            time.sleep(0.2)
        raise RuntimeError(f"topic {topic} has no partitions")

    def end(self, topic: str) -> dict[Any, int]:
        return dict(self.consumer.end_offsets(self.partitions(topic)))

    def committed(self, group: str, topic: str) -> dict[Any, int]:
        from brain.kafka_admin import committed_offsets

        return committed_offsets(self.settings, group, self.partitions(topic), admin=self.admin)

    def read(self, start: dict[Any, int], end: dict[Any, int]):
        """Every record between the offsets (end exclusive)."""
        todo = {tp: e for tp, e in end.items() if e > start.get(tp, 0)}
        if not todo:
            return
        self.consumer.assign(list(todo))
        for tp in todo:
            self.consumer.seek(tp, start.get(tp, 0))
        while todo:
            for tp, records in self.consumer.poll(timeout_ms=1000, max_records=20000).items():
                for r in records:
                    if r.offset < end[tp]:
                        yield r
                if self.consumer.position(tp) >= end[tp]:
                    todo.pop(tp, None)
                    self.consumer.pause(tp)
        self.consumer.unsubscribe()

    def close(self) -> None:
        self.consumer.close()
        self.admin.close()


class Monitor(threading.Thread):
    """Polls the bridge's counters and the processors' committed offsets; prints the progress line."""

    def __init__(self, bench: Bench) -> None:
        super().__init__(daemon=True)
        self.b = bench
        self.stop = threading.Event()
        self.bridge_out = 0
        self.lag: int | None = None
        self.bridge_done_at: float | None = None
        self.target: dict[Any, int] | None = None
        self.processors_done_at: float | None = None
        self.next_print = 0.0

    def bridge_readings(self) -> int:
        total = 0
        for port in self.b.metrics_ports:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                    for line in r.read().decode().splitlines():
                        if line.startswith("brain_bridge_readings_out_total "):
                            total += int(float(line.split()[1]))
            except OSError:
                return self.bridge_out
        return total

    def run(self) -> None:
        kafka: Kafka | None = None
        errors = 0
        while not self.stop.wait(0.2):
            now = time.time()
            self.bridge_out = self.bridge_readings()
            load_total = self.b.load_readings
            if self.bridge_done_at is None and load_total and self.bridge_out >= load_total:
                self.bridge_done_at = now
            try:  # Kafka hiccups (a broker dropping connections under load) must not end the monitor
                kafka = kafka or Kafka(self.b.settings)
                if self.bridge_done_at is not None and self.target is None:
                    self.target = kafka.end(TOPIC_READINGS)
                if self.target is not None and self.processors_done_at is None:
                    done = kafka.committed(self.b.progress_group, TOPIC_READINGS)
                    if all(done.get(tp, 0) >= off for tp, off in self.target.items()):
                        self.processors_done_at = now
                if now >= self.next_print:
                    self.next_print = now + 2.0
                    end = kafka.end(TOPIC_READINGS)
                    done = kafka.committed(self.b.progress_group, TOPIC_READINGS)
                    self.lag = sum(max(0, e - done.get(tp, e)) for tp, e in end.items())
                    self.b.progress(self)
            except Exception as exc:
                errors += 1
                if errors <= 3:
                    logs.event(log, "bench.monitor_kafka_error", logging.WARNING, error=repr(exc)[:300])
                if kafka is not None:
                    with contextlib.suppress(Exception):
                        kafka.close()
                kafka = None
                self.stop.wait(1.0)
        if kafka is not None:
            with contextlib.suppress(Exception):
                kafka.close()


class KpiPoller(threading.Thread):
    """Polls InfluxDB for final 1-minute points of the load's windows; remembers when each appeared."""

    def __init__(self, bench: Bench, first_start: int, end: int) -> None:
        super().__init__(daemon=True)
        self.b, self.first_start, self.end = bench, first_start, end
        self.seen: dict[tuple[str, str, str, int], float] = {}
        self.stop = threading.Event()
        lines = {line for line, _ in bench.load.machines}
        windows = (end - first_start) // MINUTE
        self.expected = windows * (len(bench.load.machines) + len(lines) + 1)

    def run(self) -> None:
        q = (
            f'SELECT "final" FROM "oee" WHERE "site" = \'{self.b.site}\' AND "window" = \'1m\' '
            f'AND time >= {self.first_start}ms AND time < {self.end}ms GROUP BY "scope", "line", "machine"'
        )
        while not self.stop.wait(0.2):
            try:
                series = influx_query(self.b.settings, q)
            except OSError:
                continue
            now = time.time()
            for s in series:
                tags = s.get("tags", {})
                for t, final in s["values"]:
                    key = (tags.get("scope", ""), tags.get("line", ""), tags.get("machine", ""), int(t))
                    if final and key not in self.seen:
                        self.seen[key] = now
            if len(self.seen) >= self.expected:
                return

    @property
    def complete(self) -> bool:
        return len(self.seen) >= self.expected

    def latencies(self, grace_ms: int, shift_ms: int) -> dict[str, Any]:
        by_scope: dict[str, list[float]] = {}
        for (scope, _l, _m, start), seen in self.seen.items():
            ref = (start + MINUTE + grace_ms - shift_ms) / 1000  # window end + grace on the wall clock
            by_scope.setdefault(scope, []).append(seen - ref)
        out: dict[str, Any] = {"windows_expected": self.expected, "windows_final": len(self.seen)}
        for scope in SCOPES:
            v = by_scope.get(scope, [])
            out[scope] = {
                "p50_s": round(pct(v, 0.5) or 0.0, 2) if v else None,
                "max_s": round(max(v), 2) if v else None,
                "n": len(v),
            }
        return out


def _last_stats(pipe: Any, name: str) -> str | None:
    service = pipe.services.get(name)
    if service is None or service.log_file is None or not service.log_file.exists():
        return None
    lines = [
        x
        for x in service.log_file.read_text(errors="replace").splitlines()
        if "process.stats agent=machines" in x
    ]
    return lines[-1].split("process.stats ", 1)[-1][:400] if lines else None


def _stat(line: str | None, name: str) -> int:
    for part in (line or "").split():
        if part.startswith(name + "="):
            return int(part.split("=", 1)[1])
    return 0
