"""Reading again what Faust's stream skipped: a range of input offsets, fetched straight from Kafka.

The processors' inputs (readings, partials) are neither compacted nor transactional, so within a
partition their offsets are contiguous and a jump between two handled events means events never
reached the handler. Faust 0.15 does skip some — an event lost in `take_events` buffering now and
then, and after a restart it may have committed past events it never delivered (its consumer
treats a jump as acknowledged). The workers keep the last handled offset per partition durably
(`@p` in their table) and, on a jump, read the missing range with a plain consumer of their own
(no group, no commits) before they go on — in order, without touching Faust's fetch position
(an earlier fix seeked Faust's consumer back, which raced with its fetcher: messages fetched
before the seek moved Faust's read offset on and it then dropped the re-read ones).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from brain import logs

log = logging.getLogger("brain.process")


class Fetched(NamedTuple):
    offset: int
    value: bytes | None


# (topic, partition, start, end) -> the records of [start, end) that exist, in order
ReadRange = Callable[[str, int, int, int], Awaitable[list[Fetched]]]


class RangeReader:
    """`await reader(topic, partition, start, end)`: the records of offsets [start, end).

    Offsets already removed by retention are missing from the result (the caller counts them).
    Kafka unavailable: retried with a log line per attempt until it answers — the handler must
    not go on without the range (that would be a silent loss)."""

    def __init__(
        self, bootstrap: str, client_kwargs: dict[str, Any], attempt_timeout_s: float = 30.0
    ) -> None:
        self.bootstrap = bootstrap
        self.client_kwargs = client_kwargs
        self.attempt_timeout_s = attempt_timeout_s

    async def __call__(self, topic: str, partition: int, start: int, end: int) -> list[Fetched]:
        attempt = 0
        while True:
            try:
                return await asyncio.wait_for(
                    self._read(topic, partition, start, end), self.attempt_timeout_s
                )
            except Exception as exc:  # Kafka down or frozen: the range is needed, try again
                attempt += 1
                logs.event(log, "process.refetch_retry", logging.WARNING, topic=topic, partition=partition,
                           start=start, end=end, attempt=attempt, error=repr(exc)[:200])  # fmt: skip
                await asyncio.sleep(min(5.0, 0.5 * attempt))

    async def _read(self, topic: str, partition: int, start: int, end: int) -> list[Fetched]:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",  # start below the log start (retention): from what is left
            **self.client_kwargs,
        )
        await consumer.start()
        try:
            tp = TopicPartition(topic, partition)
            consumer.assign([tp])
            consumer.seek(tp, start)
            out: list[Fetched] = []
            while await consumer.position(tp) < end:
                batch = await consumer.getmany(tp, timeout_ms=500, max_records=10_000)
                out.extend(Fetched(m.offset, m.value) for m in batch.get(tp, ()) if start <= m.offset < end)
            return out
        finally:
            await consumer.stop()


async def fill_gap(
    read: ReadRange, topic: str, partition: int, expected: int, got: int, stats: Any, agent: str
) -> list[Fetched]:
    """The records a handler missed between its last handled offset (`expected` - 1) and the
    event it holds (`got`), read again; logged (`process.offset_gap`) and counted."""
    found = await read(topic, partition, expected, got)
    lost = (got - expected) - len(found)
    stats["offset_gaps"] += 1
    stats["refetched"] += len(found)
    if lost:
        stats["unrecoverable"] += lost
    logs.event(log, "process.offset_gap", logging.ERROR if lost else logging.WARNING, agent=agent,
               topic=topic, partition=partition, expected=expected, got=got, refetched=len(found),
               unrecoverable=lost)  # fmt: skip
    return found


def highwater(consumer: Any, topic: str, partition: int) -> int | None:
    """The end of a partition's log as the consumer last saw it (None: no fetch yet, a rebalance)."""
    from faust.types import TP

    try:
        return consumer.highwater(TP(topic, partition))
    except Exception:
        return None


class TailWatch:
    """Events lost at the END of a partition: no later event reveals the jump. On each tick of a
    partition, `await watch.check(topic, partition, last, high)` compares the last handled offset
    with the log's end (`high`, from the consumer's last fetch); when the handled offset has not
    moved for `ticks` ticks while the log is longer, the rest is read directly (at most
    `max_read` records at a time). Seen once in ten restart runs: the last 4 readings of a
    partition never reached the handler, and that machine's windows never closed. A false alarm
    (Faust merely slow to hand them over) only costs a read: the events come again later and are
    skipped as duplicates."""

    def __init__(self, read: ReadRange, agent: str, ticks: int = 3, max_read: int = 10_000) -> None:
        self.read, self.agent, self.ticks, self.max_read = read, agent, ticks, max_read
        self.still: dict[tuple[str, int], tuple[int, int]] = {}  # -> (last, ticks seen at it)

    def reset(self) -> None:
        self.still.clear()

    async def check(
        self, topic: str, partition: int, last: int | None, high: int | None, stats: Any
    ) -> list[Fetched]:
        key = (topic, partition)
        if last is None or high is None or last + 1 >= high:
            self.still.pop(key, None)
            return []
        seen_at, n = self.still.get(key, (last, 0))
        n = n + 1 if seen_at == last else 1
        if n < self.ticks:
            self.still[key] = (last, n)
            return []
        self.still.pop(key, None)
        end = min(high, last + 1 + self.max_read)
        return await fill_gap(self.read, topic, partition, last + 1, end, stats, f"{self.agent}-tail")
