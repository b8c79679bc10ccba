"""The sink's I/O loop: Kafka (kafka-python) -> InfluxDB, at least once, idempotent.

    consume (auto-commit off) -> map each record to points (mapping.py, pure) -> batch by size
    and time -> write, confirmed (writer.py) -> dead letters, confirmed -> commit the offsets

Offsets are committed only after every point of the batch is confirmed by InfluxDB (or was
rejected by it and its record dead-lettered, confirmed by Kafka): a crash at any moment loses
nothing, it re-delivers, and a re-delivered record overwrites the same series and timestamp.

InfluxDB unavailable: the write is retried with exponential backoff and every assigned partition
is paused meanwhile, so the sink stops consuming (still polling, so it keeps its group
membership) and holds only the batch it had; it resumes when a write succeeds again.
On a rebalance the batch is written if possible; if not it is dropped and the partitions that
stay are rewound to its first offsets (the ones that go are re-read from the committed offsets).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from brain import logs
from brain.kafka_admin import kafka_python_client
from brain.settings import KPI_DATABASE, RAW_DATABASE, TOPIC_DEADLETTER, Settings
from processors.sink.deadletter import dead_letter
from processors.sink.downsample import Downsampler
from processors.sink.lineproto import Point
from processors.sink.mapping import KPI, RAW, Rejected, to_points
from processors.sink.reasons import Reason
from processors.sink.writer import InfluxWriter, Unavailable

log = logging.getLogger("brain.sink")


@dataclass(frozen=True)
class SinkOptions:
    """`topics` maps a Kafka topic to its kind: "kpis", "alerts" or "readings"."""

    topics: dict[str, str]
    group: str = "brain-sink"
    deadletter_topic: str = TOPIC_DEADLETTER
    batch_size: int = 5000  # points (and dead letters) per write
    flush_ms: int = 1000  # at most this long between the first buffered record and its write
    raw_every_ms: int | None = None  # downsample readings: last value per series per interval
    kpi_bucket: str = KPI_DATABASE
    raw_bucket: str = RAW_DATABASE
    retry_initial_s: float = 0.5
    retry_max_s: float = 10.0
    status_interval_s: float = 10.0
    influx_timeout_ms: int = 10_000
    session_timeout_ms: int = 10_000  # Kafka group session: how soon a dead sink's partitions move
    client_id: str = "brain-sink"


@dataclass
class _Source:
    topic: str
    partition: int
    offset: int
    payload: bytes | None


@dataclass
class _Batch:
    points: list[Point] = field(default_factory=list)
    sources: list[_Source] = field(default_factory=list)
    dead: list[bytes] = field(default_factory=list)
    first: dict[Any, int] = field(default_factory=dict)  # TopicPartition -> first offset
    next: dict[Any, int] = field(default_factory=dict)  # TopicPartition -> last offset + 1
    messages: int = 0
    started: float = 0.0

    def size(self, downsampler: Downsampler | None) -> int:
        return len(self.points) + len(self.dead) + (len(downsampler) if downsampler else 0)


@dataclass
class SinkStats:
    consumed: int = 0
    points: int = 0
    dead_letters: int = 0
    batches: int = 0
    failures: int = 0
    commit_failures: int = 0
    kafka_errors: int = 0


class Sink:
    """Build with settings and options (clients may be injected for tests), then `run(stop)`."""

    def __init__(
        self,
        settings: Settings,
        options: SinkOptions,
        *,
        consumer: Any = None,
        producer: Any = None,
        writer: Any = None,
    ) -> None:
        for topic, kind in options.topics.items():
            if kind not in ("kpis", "alerts", "readings"):
                raise ValueError(f"topic {topic!r}: unknown kind {kind!r}")
        self.settings = settings
        self.options = options
        self.stats = SinkStats()
        self._consumer = consumer
        self._producer = producer
        self._writer = writer
        self._batch = _Batch()
        self._down = Downsampler(options.raw_every_ms) if options.raw_every_ms else None
        self._uncommitted: dict[Any, int] = {}
        self._paused = False
        self._backoff = 0.0
        self._next_try = 0.0
        self._rewind: dict[Any, int] = {}

    # ------------------------------------------------------------------------------ clients
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
            # notice topics created (or partitions added) after start within seconds, not 5 min
            metadata_max_age_ms=10_000,
            # a sink that died is replaced after this (kafka-python's default is 45 s)
            session_timeout_ms=self.options.session_timeout_ms,
            heartbeat_interval_ms=max(1000, self.options.session_timeout_ms // 4),
            **self.settings.kafka_kwargs(),
        )

    def _make_producer(self) -> Any:
        from kafka import KafkaProducer

        return KafkaProducer(
            kafka_client=kafka_python_client(),
            bootstrap_servers=self.settings.kafka_bootstrap,
            client_id=f"{self.options.client_id}-deadletter",
            acks="all",
            **self.settings.kafka_kwargs(),
        )

    def _make_writer(self) -> Any:
        return InfluxWriter(
            url=self.settings.influx_url,
            token=self.settings.influx_token,
            org=self.settings.influx_org,
            buckets={KPI: self.options.kpi_bucket, RAW: self.options.raw_bucket},
            timeout_ms=self.options.influx_timeout_ms,
        )

    # ---------------------------------------------------------------------------------- run
    def run(self, stop: threading.Event) -> None:
        """Consume until `stop` is set; then write what is buffered (once) and close."""
        self.open()
        next_status = time.monotonic() + self.options.status_interval_s
        last_status = (time.monotonic(), 0)
        try:
            while not stop.is_set():
                self.step()
                now = time.monotonic()
                if now >= next_status:
                    last_status = self._status(now, last_status)
                    next_status = now + self.options.status_interval_s
            if self._has_data() and not self._paused:
                self._flush()
        finally:
            self._status(time.monotonic(), last_status)
            self._close()

    def open(self) -> None:
        """Make the clients (unless injected) and subscribe; `run` calls it."""
        self._consumer = self._consumer or self._make_consumer()
        self._producer = self._producer or self._make_producer()
        self._writer = self._writer or self._make_writer()
        self._consumer.subscribe(topics=list(self.options.topics), listener=_listener(self))
        logs.event(
            log,
            "sink.started",
            topics=",".join(f"{t}:{k}" for t, k in self.options.topics.items()),
            group=self.options.group,
            influx=self.settings.influx_url,
            batch_size=self.options.batch_size,
            flush_ms=self.options.flush_ms,
            raw_every_ms=self.options.raw_every_ms or "-",
        )

    def step(self) -> None:
        """One iteration of `run`: write the batch if due (or retry it), then poll once."""
        if self._paused and not self._has_data():  # the batch went with a rebalance: nothing to retry
            self._set_paused(False)
        now = time.monotonic()
        flush_s = self.options.flush_ms / 1000
        size = self._batch.size(self._down)
        if (
            self._has_data()
            and now >= self._next_try
            and (size >= self.options.batch_size or now - self._batch.started >= flush_s or self._paused)
        ):
            if self._flush():
                self._backoff = 0.0
                if self._paused:
                    self._set_paused(False)
            else:
                self._backoff = min(
                    self.options.retry_max_s, max(self.options.retry_initial_s, self._backoff * 2)
                )
                self._next_try = time.monotonic() + self._backoff
                if not self._paused:
                    self._set_paused(True)
            now = time.monotonic()
        if self._paused:
            timeout = max(0.0, min(self._next_try - now, 1.0))
        elif self._has_data():
            timeout = max(0.0, min(self._batch.started + flush_s - now, 1.0))
        else:
            timeout = min(flush_s, 1.0)
        room = max(1, self.options.batch_size - self._batch.size(self._down))
        try:
            records = self._consumer.poll(timeout_ms=int(timeout * 1000), max_records=room)
        except Exception as exc:  # Kafka down or restarting: keep the batch, wait, poll again
            from kafka.errors import KafkaError

            if not isinstance(exc, KafkaError):
                raise
            self.stats.kafka_errors += 1
            logs.event(log, "sink.kafka_unavailable", logging.WARNING, error=repr(exc)[:200])
            time.sleep(1.0)
            return
        for messages in records.values():
            for message in messages:
                self._accept(message)

    def _has_data(self) -> bool:
        return self._batch.messages > 0

    def _set_paused(self, paused: bool) -> None:
        assigned = list(self._consumer.assignment())
        if paused:
            self._consumer.pause(*assigned)
        else:
            self._consumer.resume(*assigned)
        self._paused = paused
        logs.event(
            log,
            "sink.paused" if paused else "sink.resumed",
            logging.WARNING if paused else logging.INFO,
            partitions=len(assigned),
            buffered=self._batch.messages,
        )

    # ------------------------------------------------------------------------------ accept
    def _accept(self, message: Any) -> None:
        from kafka import TopicPartition

        batch = self._batch
        if batch.messages == 0:
            batch.started = time.monotonic()
        batch.messages += 1
        self.stats.consumed += 1
        tp = TopicPartition(message.topic, message.partition)
        batch.first.setdefault(tp, message.offset)
        batch.next[tp] = message.offset + 1
        source = _Source(message.topic, message.partition, message.offset, message.value)
        kind = self.options.topics[message.topic]
        try:
            points = to_points(kind, message.value)
        except Rejected as exc:
            batch.dead.append(self._dead(source, exc.reason, exc.detail))
            return
        for point in points:
            if self._down is not None and kind == "readings":
                self._down.add(point, source)
            else:
                batch.points.append(point)
                batch.sources.append(source)

    def _dead(self, source: _Source, reason: str, detail: str) -> bytes:
        return dead_letter(
            topic=source.topic,
            partition=source.partition,
            offset=source.offset,
            payload=source.payload,
            reason=reason,
            detail=detail,
            received_ts=int(time.time() * 1000),
        )

    # ------------------------------------------------------------------------------- flush
    def _flush(self) -> bool:
        """Write the batch, send its dead letters, commit. False: nothing committed, retry later."""
        batch = self._batch
        points, sources = list(batch.points), list(batch.sources)
        if self._down is not None:
            for point, source in self._down.items():
                points.append(point)
                sources.append(source)
        dead = list(batch.dead)
        try:
            rejected = self._writer.write(points) if points else []
        except Unavailable as exc:
            self.stats.failures += 1
            logs.event(
                log,
                "sink.write_failed",
                logging.WARNING,
                error=str(exc),
                points=len(points),
                retry_in_s=round(
                    min(self.options.retry_max_s, max(self.options.retry_initial_s, self._backoff * 2)), 2
                ),
            )
            return False
        seen: set[tuple[str, int, int]] = set()
        for index, detail in rejected:
            source = sources[index]
            key = (source.topic, source.partition, source.offset)
            if key in seen:
                continue
            seen.add(key)
            dead.append(self._dead(source, Reason.INFLUX_REJECTED, detail))
            logs.event(
                log,
                "sink.point_rejected",
                logging.WARNING,
                topic=source.topic,
                partition=source.partition,
                offset=source.offset,
                detail=detail[:200],
            )
        if dead and not self._send_dead(dead):
            self.stats.failures += 1
            return False
        self._commit(batch.next)
        self.stats.points += len(points) - len(rejected)
        self.stats.dead_letters += len(dead)
        self.stats.batches += 1
        self._batch = _Batch()
        if self._down is not None:
            self._down.clear()
        return True

    def _send_dead(self, dead: list[bytes]) -> bool:
        try:
            futures = [self._producer.send(self.options.deadletter_topic, value=d) for d in dead]
            self._producer.flush(timeout=30)
            for future in futures:
                future.get(timeout=0)
        except Exception as exc:  # any Kafka error: the batch is retried whole, nothing committed
            logs.event(log, "sink.deadletter_failed", logging.WARNING, error=repr(exc), count=len(dead))
            return False
        return True

    def _commit(self, offsets: dict[Any, int]) -> None:
        from kafka.structs import OffsetAndMetadata

        self._uncommitted.update(offsets)
        if not self._uncommitted:
            return
        try:
            self._consumer.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in self._uncommitted.items()})
        except Exception as exc:  # written already: a re-delivery overwrites; a later commit covers it
            self.stats.commit_failures += 1
            logs.event(log, "sink.commit_failed", logging.WARNING, error=repr(exc))
            return
        self._uncommitted.clear()

    # --------------------------------------------------------------------------- rebalance
    def _on_revoked(self, revoked: list[Any]) -> None:
        if self._has_data():
            if not self._paused and self._flush():
                return
            self._rewind = dict(self._batch.first)
            logs.event(
                log, "sink.batch_dropped", logging.WARNING, messages=self._batch.messages, reason="rebalance"
            )
            self._batch = _Batch()
            if self._down is not None:
                self._down.clear()
        self._uncommitted = {tp: o for tp, o in self._uncommitted.items() if tp not in set(revoked)}

    def _on_assigned(self, assigned: list[Any]) -> None:
        for tp in assigned:
            if tp in self._rewind:
                self._consumer.seek(tp, self._rewind[tp])
        self._rewind = {}
        if self._paused and assigned:
            self._consumer.pause(*assigned)

    # ------------------------------------------------------------------------------ status
    def _status(self, now: float, last: tuple[float, int]) -> tuple[float, int]:
        elapsed = max(now - last[0], 1e-9)
        lag = 0
        try:
            for tp in self._consumer.assignment():
                high = self._consumer.highwater(tp)
                pos = self._consumer.position(tp, timeout_ms=0) if high is not None else None
                if high is not None and pos is not None:
                    lag += max(0, high - pos)
        except Exception:
            lag = -1
        s = self.stats
        logs.event(
            log,
            "sink.status",
            consumed=s.consumed,
            points=s.points,
            points_per_s=round((s.points - last[1]) / elapsed, 1),
            dead_letters=s.dead_letters,
            batches=s.batches,
            write_failures=s.failures,
            commit_failures=s.commit_failures,
            kafka_errors=s.kafka_errors,
            buffered=self._batch.messages,
            paused=self._paused,
            lag=lag,
        )
        return now, s.points

    def _close(self) -> None:
        for client in (self._consumer, self._producer, self._writer):
            try:
                if client is self._consumer:
                    client.close(autocommit=False)
                else:
                    client.close()
            except Exception as exc:
                logs.event(log, "sink.close_failed", logging.WARNING, error=repr(exc))


def _listener(sink: Sink) -> Any:
    """A kafka-python ConsumerRebalanceListener calling back into the sink."""
    from kafka import ConsumerRebalanceListener

    class _Rebalance(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked: Any) -> None:
            sink._on_revoked(list(revoked))

        def on_partitions_assigned(self, assigned: Any) -> None:
            sink._on_assigned(list(assigned))

    return _Rebalance()
