"""The bridge's Kafka producer: confluent-kafka (librdkafka) behind the small surface the bridge
uses — `send(topic, value, key)` returning a delivery with `add_callback`/`add_errback`, `poll()`,
`flush(timeout)`, `close(timeout)`.

Why not kafka-python here: profiled in the bridge with 50-metric batch messages, kafka-python's
`send()` (accumulator, pure-Python murmur2 partitioner, waking its sender thread per record) and
its sender thread took ~2/3 of the process; the bridge makes one Kafka record per reading.
librdkafka batches, partitions and checksums in C (docs/BENCHMARKS.md, "Bridge").

Delivery reports are served by `poll()`/`flush()`, which the bridge calls from its own worker
thread — so a delivery can never fire before the bridge registered its callbacks, and they run
where kafka-python's ran (they only enqueue the result). Keys are partitioned with
`murmur2_random`, the Java client's (and kafka-python's) hash: a machine's readings land in the
same partition whichever of them produced.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from kafka.errors import KafkaTimeoutError  # what the bridge already handles as "Kafka is away"

from brain import logs
from brain.settings import Settings

log = logging.getLogger("brain.bridge")


class KafkaDeliveryError(Exception):
    """A record Kafka did not take (librdkafka's error, e.g. message timed out, purged)."""

    def __init__(self, error: Any) -> None:
        super().__init__(str(error))
        self.error = error
        self.retriable = bool(getattr(error, "retriable", lambda: False)())


class _Delivery:
    """What `send` returns: kafka-python's future surface, fired by `poll`/`flush` in the caller's
    thread."""

    __slots__ = ("fail", "ok")

    def __init__(self) -> None:
        self.ok: tuple[Any, tuple] | None = None
        self.fail: tuple[Any, tuple] | None = None

    def add_callback(self, fn: Any, *args: Any) -> None:
        self.ok = (fn, args)

    def add_errback(self, fn: Any, *args: Any) -> None:
        self.fail = (fn, args)

    def __call__(self, error: Any, message: Any) -> None:
        if error is None:
            if self.ok is not None:
                self.ok[0](*self.ok[1], message)
        elif self.fail is not None:
            self.fail[0](*self.fail[1], KafkaDeliveryError(error))


class RdKafkaProducer:
    """Idempotent, acks=all producer. Construction fails (raises) when no broker answers within
    `connect_timeout_s`, like kafka-python's NoBrokersAvailable: the bridge retries with backoff."""

    def __init__(
        self,
        settings: Settings,
        client_id: str,
        *,
        linger_ms: int = 5,
        delivery_timeout_s: float = 120.0,
        connect_timeout_s: float = 5.0,
    ) -> None:
        from confluent_kafka import Producer

        self._errors_logged_at = 0.0
        config = {
            "bootstrap.servers": settings.kafka_bootstrap,
            "client.id": client_id,
            "acks": "all",
            "enable.idempotence": True,
            "max.in.flight.requests.per.connection": 5,
            "linger.ms": linger_ms,
            "message.timeout.ms": int(delivery_timeout_s * 1000),
            "queue.buffering.max.messages": 500_000,
            "partitioner": "murmur2_random",
            "error_cb": self._on_error,
            "logger": logging.getLogger("librdkafka"),
            **settings.librdkafka_config(),
        }
        self._producer = Producer(config)
        self._producer.list_topics(timeout=connect_timeout_s)  # KafkaException: no broker answered

    def _on_error(self, error: Any) -> None:
        """Client-level errors (a broker down, a connection refused); records are retried by
        librdkafka until their delivery timeout, then reported to their errback."""
        now = time.monotonic()
        if now - self._errors_logged_at >= 5 or getattr(error, "fatal", lambda: False)():
            self._errors_logged_at = now
            logs.event(log, "bridge.kafka_client_error", logging.WARNING, error=str(error)[:300])

    def send(self, topic: str, value: bytes | None = None, key: bytes | None = None) -> _Delivery:
        delivery = _Delivery()
        try:
            self._producer.produce(topic, value=value, key=key, on_delivery=delivery)
        except BufferError as exc:  # the local queue is full: Kafka is slow or away; try later
            raise KafkaTimeoutError(f"producer queue full: {exc}") from None
        return delivery

    def poll(self) -> None:
        """Serve delivery reports and client errors (calls the callbacks, in this thread)."""
        self._producer.poll(0)

    def flush(self, timeout: float | None = None) -> int:
        """Wait for outstanding records (serving their reports); returns how many are left."""
        return self._producer.flush(-1 if timeout is None else timeout)

    def close(self, timeout: float | None = None) -> None:
        """Deliver what can be delivered within `timeout`; the rest is purged and reported to its
        errback (the bridge sends it again, or the broker redelivers the unacked MQTT message)."""
        if self._producer.flush(timeout or 0):
            self._producer.purge()
            self._producer.flush(1.0)  # serves the purged records' reports
