"""The Kafka edges of the stream workers (aiokafka; no Faust): an outbox that waits for Kafka's
acknowledgements, and an input log the workers pull their records from.

- `Producer`: one idempotent aiokafka producer (acks=all) per worker process, started in the
  running loop on first use. Idempotence keeps the order of one partition's messages across
  retries, which the step protocol relies on (states before their offset marker).
- `KafkaOutbox`: `add` messages, `await flush()` — returns once Kafka acknowledged every one. An
  attempt not acknowledged within its timeout, or failed with a retriable error (broker gone,
  frozen, not leader), is retried with the messages still unacknowledged. Re-sending is safe: the
  workers' messages are idempotent by key. A non-retriable error (a message too large) raises.
  The wait is bounded per attempt: an unanswered produce request is dropped after the producer's
  request timeout (Faust's default of 20 min once held a batch, and a rebalance, that long).
- `KafkaInputLog`: pulls ranges of its topics' partitions with one plain consumer — every
  partition assigned once and paused until pulled, no group membership — from the offset the
  worker gives (its durable marker), and commits progress to a group of its own for lag tools.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from brain import logs
from brain.settings import Settings
from processors.runtime.ports import Fetched, Pulled, Want

PULL_TIMEOUT_S = 30.0  # one pull, Kafka unavailable: give up (nothing skipped, the next step retries)
RETRY_S = 5.0  # after a failed pull, pulls return nothing this long (bounds one step's wait)
COMMIT_TIMEOUT_S = 5.0  # progress commit: best effort, never holds a step long


class Producer:
    """The process's aiokafka producer, started on first use inside the running loop."""

    def __init__(self, settings: Settings, *, request_timeout_s: float, log: logging.Logger) -> None:
        self.settings, self.request_timeout_s, self.log = settings, request_timeout_s, log
        self._producer: Any = None

    async def get(self) -> Any:
        if self._producer is None:
            from aiokafka import AIOKafkaProducer

            producer = AIOKafkaProducer(
                bootstrap_servers=self.settings.kafka_bootstrap,
                acks="all",
                enable_idempotence=True,
                linger_ms=2,
                max_batch_size=512 * 1024,  # per partition: state messages are a few kB each
                max_request_size=4 * 1024 * 1024,
                request_timeout_ms=int(self.request_timeout_s * 1000),
                **self.settings.aiokafka_kwargs(),
            )
            await producer.start()
            self._producer = producer
        return self._producer

    async def stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()


class KafkaOutbox:
    """An `Outbox` on a `Producer` (module doc)."""

    def __init__(
        self, producer: Producer, *, timeout_s: float, stats: Counter[str], log: logging.Logger
    ) -> None:
        self.producer, self.timeout_s, self.stats, self.log = producer, timeout_s, stats, log
        self.out: list[tuple[str, bytes, bytes | None, int | None]] = []

    def add(self, topic: str, key: bytes, value: bytes | None, partition: int | None = None) -> None:
        self.out.append((topic, key, value, partition))

    async def flush(self) -> None:
        pending, self.out = self.out, []
        attempt = 0
        while pending:
            pending, error = await self._attempt(pending)
            if not pending:
                return
            attempt += 1
            self.stats["send_retries"] += 1
            logs.event(self.log, "process.send_retry", logging.WARNING, messages=len(pending),
                       attempt=attempt, error=error[:200])  # fmt: skip
            await asyncio.sleep(min(5.0, 0.5 * attempt))

    async def _attempt(self, items: list) -> tuple[list, str]:
        """Send `items` once; the ones not acknowledged in time (or failed retriably), and why."""
        from aiokafka.errors import KafkaError

        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        futures: list[asyncio.Future] = []
        error = ""

        async def enqueue() -> None:
            producer = await self.producer.get()
            for t, k, v, p in items:
                fut = await producer.send(t, value=v, key=k, partition=p)
                fut.add_done_callback(_retrieve)
                futures.append(fut)

        try:
            await asyncio.wait_for(enqueue(), self.timeout_s)
        except (TimeoutError, KafkaError, OSError) as exc:
            if isinstance(exc, KafkaError) and not _retriable(exc):
                raise
            error = f"enqueue: {exc!r}"
        if futures:
            await asyncio.wait(futures, timeout=max(0.0, deadline - loop.time()))
        left = []
        for i, item in enumerate(items):
            fut = futures[i] if i < len(futures) else None
            if fut is not None and fut.done() and not fut.cancelled():
                exc = fut.exception()
                if exc is None:
                    continue
                if not _retriable(exc):
                    raise exc
                error = error or repr(exc)
            left.append(item)
        if left and not error:
            error = f"no ack within {self.timeout_s:g} s"
        return left, error


def _retriable(exc: BaseException) -> bool:
    from aiokafka.errors import KafkaTimeoutError

    return isinstance(exc, KafkaTimeoutError) or bool(getattr(exc, "retriable", False))


def _retrieve(fut: asyncio.Future) -> None:
    """A future given up on (retried) may still fail later: mark its exception as seen."""
    if not fut.cancelled():
        fut.exception()


class KafkaInputLog:
    """An `InputLog` over the partitions of `topics` ({name: partition count}) (module doc).

    A NEW worker (no marker: `after=None`) starts at the group's committed offset if there is
    one, else at the earliest offset. Never at the end: to start a new worker at the end of its
    input, commit the end offsets for its group BEFORE it starts (`brain.kafka_offsets`, which
    `--start-at latest` and `build_pipeline` do) — exact, where seeking to the end would race the
    producers, and where an answer "no offset" during a broker failover (aiokafka reports a
    partition the coordinator does not know yet as uncommitted) would skip records: found by the
    3-broker test. Kafka unavailable during a pull: nothing this
    time (logged `process.pull_failed`), the consumer is replaced, and for RETRY_S the other pulls
    return nothing at once, so one step waits at most PULL_TIMEOUT_S however many partitions it
    pulls (a long step would hold a rebalance)."""

    def __init__(
        self,
        settings: Settings,
        topics: Mapping[str, int],
        *,
        group: str,
        fetch_timeout_ms: int = 100,
        log: logging.Logger,
    ) -> None:
        self.settings, self.topics, self.group = settings, dict(topics), group
        self.fetch_timeout_ms, self.log = fetch_timeout_ms, log
        self._consumer: Any = None
        self._failed_at = -1e9  # loop time of the last failed pull
        self._next: dict[tuple[str, int], int] = {}  # where the consumer's position is

    async def _ensure(self) -> Any:
        if self._consumer is None:
            from aiokafka import AIOKafkaConsumer, TopicPartition

            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.settings.kafka_bootstrap,
                group_id=self.group,
                enable_auto_commit=False,
                auto_offset_reset="earliest",  # below the log start (retention): from what is left
                max_partition_fetch_bytes=4 * 1024 * 1024,
                **self.settings.aiokafka_kwargs(),
            )
            await consumer.start()
            # Every partition assigned once, paused until pulled: changing a manual assignment
            # while aiokafka's group coordinator runs can crash its routine for good
            # ("Unexpected error during coordination AssertionError()" on every later call).
            tps = [TopicPartition(t, p) for t, n in self.topics.items() for p in range(n)]
            consumer.assign(tps)
            consumer.pause(*tps)
            self._consumer = consumer
            self._next.clear()
        return self._consumer

    async def _reset(self) -> None:
        consumer, self._consumer = self._consumer, None
        self._next.clear()
        if consumer is not None:
            try:
                await asyncio.wait_for(consumer.stop(), COMMIT_TIMEOUT_S)
            except Exception as exc:  # Kafka unavailable: the old consumer is dropped anyway
                logs.event(self.log, "process.reader_stop_failed", logging.WARNING, error=repr(exc)[:200])

    async def _place(self, topic: str, partition: int, after: int | None) -> Any:
        from aiokafka import TopicPartition

        consumer = await self._ensure()
        tp = TopicPartition(topic, partition)
        if tp in consumer.paused():
            consumer.resume(tp)
        want = None if after is None else after + 1
        key = (topic, partition)
        if key in self._next and (want is None or self._next[key] == want):
            return tp
        if want is not None:
            consumer.seek(tp, want)
        else:
            committed = await consumer.committed(tp)
            if committed is not None:
                consumer.seek(tp, committed)
            else:
                await consumer.seek_to_beginning(tp)
            logs.event(self.log, "process.input_start", topic=topic, partition=partition, group=self.group,
                       committed=committed)  # fmt: skip
        self._next[key] = await consumer.position(tp)
        return tp

    async def pull(self, wants: Sequence[Want], limit: int) -> dict[tuple[str, int], Pulled]:
        loop = asyncio.get_running_loop()
        nothing = {(t, p): Pulled([], False) for t, p, _ in wants}
        if loop.time() - self._failed_at < RETRY_S:
            for key in nothing:
                self._next.pop(key, None)
            return nothing
        try:
            return await asyncio.wait_for(self._pull(wants, limit), PULL_TIMEOUT_S)
        except Exception as exc:
            self._failed_at = loop.time()
            await self._reset()
            where = ",".join(f"{t}/{p}" for t, p in nothing)
            logs.event(self.log, "process.pull_failed", logging.WARNING, partitions=where[:200],
                       error=repr(exc)[:200])  # fmt: skip
            return nothing

    async def _pull(self, wants: Sequence[Want], limit: int) -> dict[tuple[str, int], Pulled]:
        """One round for every wanted partition: take what the fetcher has; when none of the
        partitions still open got anything, wait once (`fetch_timeout_ms`) for all of them."""
        consumer = await self._ensure()
        tps = {(t, p): await self._place(t, p, after) for t, p, after in wants}
        out: dict[tuple[str, int], list[Fetched]] = {k: [] for k in tps}
        ended: dict[tuple[str, int], bool] = {}
        waited = False
        while len(ended) < len(tps):
            active = [k for k in tps if k not in ended]
            timeout = self.fetch_timeout_ms if waited else 0
            got = await consumer.getmany(*(tps[k] for k in active), timeout_ms=timeout, max_records=limit)
            came = False
            for key in active:
                tp = tps[key]
                records = got.get(tp, ())
                out[key].extend(Fetched(r.offset, r.value) for r in records)
                position = self._next[key] = await consumer.position(tp)
                high = consumer.highwater(tp)
                if len(out[key]) >= limit:
                    ended[key] = False  # more to come: the caller steps again at once
                elif records:
                    came = True
                elif high is not None and position >= high:
                    ended[key] = True  # read to the end (of the last fetch's high-water mark)
                elif waited:
                    ended[key] = False
            waited = not came
        return {k: Pulled(out[k], ended[k]) for k in tps}

    async def commit(self, progress: Mapping[tuple[str, int], int]) -> None:
        if not progress or self._consumer is None:
            return
        from aiokafka import TopicPartition

        try:
            offsets = {TopicPartition(t, p): o for (t, p), o in progress.items()}
            await asyncio.wait_for(self._consumer.commit(offsets), COMMIT_TIMEOUT_S)
        except Exception as exc:  # progress only: the markers are the truth
            logs.event(self.log, "process.input_commit_failed", logging.WARNING, error=repr(exc)[:200])

    def forget(self) -> None:
        """Partitions moved: pause them all (no fetching for partitions another worker may own
        now) and re-place each before its next pull."""
        self._next.clear()
        if self._consumer is not None:
            self._consumer.pause(*self._consumer.assignment())

    async def stop(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()
