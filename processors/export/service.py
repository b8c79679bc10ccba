"""`brain export`'s I/O loop: brain.kpis -> allowlist (allowlist.py, pure) -> brain.export.

    poll (auto-commit off) -> filter each record -> send the exports (key = identity key) and the
    dead letters, acks=all -> flush, every send confirmed -> commit the polled offsets

At least once: offsets are committed only after every send of the batch is confirmed, so a crash
re-exports at most the last batch; the city keeps the latest record per identity key, so a
re-export changes nothing there. A failed send (Kafka down) rewinds the batch's partitions to its
first offsets and retries after a backoff; nothing is committed meanwhile. One batch is in flight
at a time and it is committed before the next poll, so a rebalance never strands a batch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

from brain import logs
from brain.kafka_admin import ensure_topics, kafka_python_client
from brain.plant.export import Export
from brain.settings import TOPIC_DEADLETTER, TOPIC_EXPORT, TOPIC_KPIS, Settings
from processors.export.allowlist import filter_record, key_bytes
from processors.sink.deadletter import dead_letter

log = logging.getLogger("brain.export")


@dataclass(frozen=True)
class ExportOptions:
    input_topic: str = TOPIC_KPIS
    output_topic: str = TOPIC_EXPORT
    deadletter_topic: str = TOPIC_DEADLETTER
    group: str = "brain-export"
    client_id: str = "brain-export"
    batch_size: int = 1000  # records per poll, sent and committed together
    poll_ms: int = 500
    retry_initial_s: float = 0.5
    retry_max_s: float = 10.0
    status_interval_s: float = 10.0
    session_timeout_ms: int = 10_000
    output_partitions: int = 3


@dataclass
class ExportStats:
    consumed: int = 0
    exported: int = 0  # sends confirmed (a retried batch counts again: at least once)
    dead_letters: int = 0
    dropped_fields: int = 0  # fields kept back by the allowlist, over all exported records
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> KPI records not exported
    failures: int = 0
    commit_failures: int = 0


class Exporter:
    """Build with settings, the plant's `export` and options, then `run(stop)`."""

    def __init__(
        self, settings: Settings, export: Export, options: ExportOptions | None = None, **clients: Any
    ) -> None:
        self.settings, self.export = settings, export
        self.options = options or ExportOptions()
        self.stats = ExportStats()
        self._consumer = clients.get("consumer")
        self._producer = clients.get("producer")
        self._backoff = 0.0

    def _make_consumer(self) -> Any:
        from kafka import KafkaConsumer

        return KafkaConsumer(
            kafka_client=kafka_python_client(),
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=self.options.group,
            client_id=self.options.client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.options.batch_size,
            session_timeout_ms=self.options.session_timeout_ms,
            heartbeat_interval_ms=max(1000, self.options.session_timeout_ms // 4),
            # a join answered before brain.kpis had partition metadata (a fresh cluster) assigns
            # nothing until the next metadata refresh: 10 s, not kafka-python's 5 min
            metadata_max_age_ms=10_000,
            **self.settings.kafka_kwargs(),
        )

    def _make_producer(self) -> Any:
        from kafka import KafkaProducer

        return KafkaProducer(
            kafka_client=kafka_python_client(),
            bootstrap_servers=self.settings.kafka_bootstrap,
            client_id=self.options.client_id,
            acks="all",
            # one request in flight: a retried send cannot overtake a later one (last one wins)
            max_in_flight_requests_per_connection=1,
            **self.settings.kafka_kwargs(),
        )

    def open(self) -> None:
        """Create the output topic if missing, make the clients (unless injected), subscribe."""
        if self._producer is None:
            ensure_topics(self.settings, {self.options.output_topic: self.options.output_partitions})
        self._consumer = self._consumer or self._make_consumer()
        self._producer = self._producer or self._make_producer()
        self._consumer.subscribe(topics=[self.options.input_topic])
        e = self.export
        logs.event(
            log,
            "export.started",
            enterprise=e.enterprise,
            scopes=",".join(e.scopes),
            windows=",".join(e.windows),
            fields=len(e.fields),
            input=self.options.input_topic,
            output=self.options.output_topic,
            group=self.options.group,
        )

    def run(self, stop: threading.Event) -> None:
        """Export until `stop` is set, then close (the last batch is committed or re-read later)."""
        self.open()
        next_status = time.monotonic() + self.options.status_interval_s
        try:
            while not stop.is_set():
                if not self.step() and self._backoff:
                    stop.wait(self._backoff)
                if time.monotonic() >= next_status:
                    self._status()
                    next_status = time.monotonic() + self.options.status_interval_s
        finally:
            self._status()
            self._close()

    def step(self) -> bool:
        """Poll once, export the batch, commit it. False when the batch must be retried."""
        try:
            polled = self._consumer.poll(timeout_ms=self.options.poll_ms, max_records=self.options.batch_size)
        except Exception as exc:  # Kafka down or restarting: wait and poll again
            return self._failed("export.poll_failed", exc, {})
        messages = [m for batch in polled.values() for m in batch]
        if not messages:
            return True
        first: dict[Any, int] = {}
        nxt: dict[Any, int] = {}
        futures = []
        stats = ExportStats()
        for tp, batch in polled.items():
            first[tp], nxt[tp] = batch[0].offset, batch[-1].offset + 1
        try:
            for m in messages:
                futures.append(self._send_one(m, stats))
            self._producer.flush()
            for f in futures:
                f.get(timeout=0)
        except Exception as exc:  # any send unconfirmed: rewind, send the whole batch again later
            return self._failed("export.send_failed", exc, first)
        self._add(stats)
        self._backoff = 0.0
        self._commit(nxt)
        return True

    def _send_one(self, message: Any, stats: ExportStats) -> Any:
        stats.consumed += 1
        try:
            record = orjson.loads(message.value) if message.value is not None else None
        except orjson.JSONDecodeError as exc:
            return self._dead(message, "export.bad_json", str(exc), stats)
        out = filter_record(record, self.export)
        if out.rejected is not None:
            reason, _, detail = out.rejected.partition(": ")
            return self._dead(message, reason, detail, stats)
        if out.record is None:
            stats.skipped[out.skipped or "?"] += 1
            return _Done()
        stats.exported += 1
        stats.dropped_fields += len(out.dropped)
        return self._producer.send(
            self.options.output_topic, key=key_bytes(out.record), value=orjson.dumps(out.record)
        )

    def _dead(self, message: Any, reason: str, detail: str, stats: ExportStats) -> Any:
        stats.dead_letters += 1
        letter = dead_letter(
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            payload=message.value,
            reason=reason,
            detail=detail,
            received_ts=int(time.time() * 1000),
            source="export",
        )
        return self._producer.send(self.options.deadletter_topic, key=message.key, value=letter)

    def _add(self, s: ExportStats) -> None:
        t = self.stats
        t.consumed += s.consumed
        t.exported += s.exported
        t.dead_letters += s.dead_letters
        t.dropped_fields += s.dropped_fields
        t.skipped.update(s.skipped)

    def _failed(self, event: str, exc: BaseException, first: dict[Any, int]) -> bool:
        self.stats.failures += 1
        for tp, offset in first.items():
            self._consumer.seek(tp, offset)
        self._backoff = min(self.options.retry_max_s, max(self.options.retry_initial_s, self._backoff * 2))
        logs.event(log, event, logging.WARNING, error=repr(exc), retry_s=self._backoff)
        return False

    def _commit(self, offsets: dict[Any, int]) -> None:
        from kafka.structs import OffsetAndMetadata

        try:
            self._consumer.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in offsets.items()})
        except Exception as exc:  # sent already: a restart re-exports, the city keeps the latest
            self.stats.commit_failures += 1
            logs.event(log, "export.commit_failed", logging.WARNING, error=repr(exc))

    def _status(self) -> None:
        s = self.stats
        logs.event(
            log,
            "export.status",
            consumed=s.consumed,
            exported=s.exported,
            dead_letters=s.dead_letters,
            dropped_fields=s.dropped_fields,
            skipped=",".join(f"{k}:{v}" for k, v in sorted(s.skipped.items())) or "-",
            failures=s.failures,
            commit_failures=s.commit_failures,
        )

    def _close(self) -> None:
        for client in (self._consumer, self._producer):
            try:
                if client is self._consumer:
                    client.close(autocommit=False)
                else:
                    client.close()
            except Exception as exc:  # closing after Kafka went away: nothing left to save
                logs.event(log, "export.close_failed", logging.WARNING, error=repr(exc))


class _Done:
    """A send that did not happen (a skipped record): nothing to confirm."""

    def get(self, timeout: float | None = None) -> None:
        return None
