"""KafkaInputLog (the workers' input, processors/runtime/kafka.py) on the real Kafka: where it
starts, that it continues from the caller's offset (not its own), bounded pulls, the progress
group, and that a failed pull neither skips anything nor holds a step for every partition."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from brain.kafka_admin import ensure_topics
from brain.settings import Settings
from processors.runtime import kafka as direct
from processors.runtime.kafka import KafkaInputLog

pytestmark = pytest.mark.stack


def _topic(stack: Settings) -> str:
    topic = f"test.direct.{uuid.uuid4().hex[:10]}"
    ensure_topics(stack, {topic: 2})
    return topic


def _produce(stack: Settings, topic: str, values: range, partition: int = 1) -> None:
    producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap)
    for i in values:
        producer.send(topic, value=b"v%d" % i, partition=partition)
    producer.flush()
    producer.close()


class InputReader:
    """One topic of a `KafkaInputLog`, as the workers pull it."""

    def __init__(self, log: KafkaInputLog, topic: str) -> None:
        self.log, self.topic = log, topic

    async def pull(self, partition: int, last: int | None, limit: int) -> tuple[list[Any], bool]:
        return (await self.log.pull([(self.topic, partition, last)], limit))[(self.topic, partition)]

    async def commit(self, offsets: dict[int, int]) -> None:
        await self.log.commit({(self.topic, p): o for p, o in offsets.items()})

    def forget(self) -> None:
        self.log.forget()

    async def stop(self) -> None:
        await self.log.stop()


def _reader(stack: Settings, topic: str) -> InputReader:
    log = KafkaInputLog(stack, {topic: 2}, group=f"{topic}-input", log=logging.getLogger("test"))
    return InputReader(log, topic)


async def _pull_all(
    reader: InputReader, partition: int, last: int | None, limit: int, want: int, wait_s: float = 15.0
) -> list[Any]:
    """Pull as the ticks do (continuing from the last offset handed over) until `want` records came
    or `wait_s` passed. A pull returns what the consumer has fetched so far, and its 'at the end'
    rests on the last fetch's high-water mark, so a record produced a moment ago may come a tick
    later: that is the next tick's, never lost."""
    got: list[Any] = []
    deadline = time.monotonic() + wait_s
    while len(got) < want and time.monotonic() < deadline:
        records, _ = await reader.pull(partition, last, limit)
        got += records
        last = records[-1].offset if records else last
        if not records:
            await asyncio.sleep(0.1)
    return got


def test_a_new_app_id_starts_at_the_beginning_and_pulls_are_bounded(stack: Settings) -> None:
    topic = _topic(stack)
    _produce(stack, topic, range(25))

    async def go() -> None:
        reader = _reader(stack, topic)
        try:
            first: list[Any] = []
            for _ in range(150):  # the first fetch may take a few ticks
                first, at_end = await reader.pull(1, None, 10)
                if first:
                    break
                await asyncio.sleep(0.1)
            assert 1 <= len(first) <= 10 and not at_end  # bounded: never more than asked for
            assert [r.offset for r in first] == list(range(len(first)))
            rest = await _pull_all(reader, 1, first[-1].offset, 10, want=25 - len(first))
            assert [(r.offset, r.value) for r in rest] == [(i, b"v%d" % i) for i in range(len(first), 25)]
            assert await _pull_all(reader, 0, None, 10, want=1, wait_s=1.0) == []  # empty partition
        finally:
            await reader.stop()

    asyncio.run(go())


def test_it_continues_from_the_callers_offset_not_from_its_own(stack: Settings) -> None:
    """The `@p` marker is the position: after a crash before the states were written, the same
    records are pulled again from the older marker."""
    topic = _topic(stack)
    _produce(stack, topic, range(20))

    async def go() -> None:
        reader = _reader(stack, topic)
        try:
            assert len(await _pull_all(reader, 1, None, 100, want=20)) == 20  # read everything ...
            again = await _pull_all(reader, 1, 4, 100, want=15)  # ... but the state says 4 was the last
            assert [r.offset for r in again] == list(range(5, 20))
        finally:
            await reader.stop()

    asyncio.run(go())


def test_progress_commits_and_where_a_new_worker_starts(stack: Settings) -> None:
    topic = _topic(stack)
    _produce(stack, topic, range(10))

    async def go() -> None:
        reader = _reader(stack, topic)
        try:
            assert len(await _pull_all(reader, 1, None, 100, want=10)) == 10
            await reader.commit({1: 7})  # the handler commits marker + 1
        finally:
            await reader.stop()
        # no marker (a new app id, or a table lost): start at the progress group's offset
        reader = _reader(stack, topic)
        try:
            assert [r.offset for r in await _pull_all(reader, 1, None, 100, want=3)] == [7, 8, 9]
        finally:
            await reader.stop()

    asyncio.run(go())
    consumer = KafkaConsumer(bootstrap_servers=stack.kafka_bootstrap, group_id=f"{topic}-input")
    try:  # what lag tools and `brain bench` read
        assert consumer.committed(TopicPartition(topic, 1)) == 7
    finally:
        consumer.close()


def test_start_at_latest_is_a_commit_of_the_end_before_the_start(stack: Settings) -> None:
    """`--start-at latest`: the end offsets are committed for the group first (exact); the reader
    itself never seeks to the end."""
    from brain.kafka_offsets import start_new_group_at_end

    topic = _topic(stack)
    _produce(stack, topic, range(5))
    assert start_new_group_at_end(stack, f"{topic}-input", [topic])

    async def go() -> None:
        reader = _reader(stack, topic)
        try:
            assert await _pull_all(reader, 1, None, 100, want=1, wait_s=1.0) == []
            await asyncio.to_thread(_produce, stack, topic, range(5, 8))
            assert [r.offset for r in await _pull_all(reader, 1, None, 100, want=3)] == [5, 6, 7]
        finally:
            await reader.stop()

    asyncio.run(go())


def test_records_removed_by_retention_are_skipped_to_what_is_left(stack: Settings) -> None:
    topic = _topic(stack)
    _produce(stack, topic, range(30))
    admin = KafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    try:
        admin.delete_records({TopicPartition(topic, 1): 20})
    finally:
        admin.close()

    async def go() -> None:
        reader = _reader(stack, topic)
        try:  # the cursor counts the jump 15 -> 20 as unrecoverable (processors/runtime/cursor.py)
            assert [r.offset for r in await _pull_all(reader, 1, 14, 100, want=10)] == list(range(20, 30))
        finally:
            await reader.stop()

    asyncio.run(go())


def test_a_failed_pull_returns_nothing_and_spares_the_other_partitions(
    stack: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kafka unavailable: the first pull waits (here: fails at once), the batch's other partitions
    return nothing at once for RETRY_S, and afterwards pulls resume from the caller's offset."""
    topic = _topic(stack)
    _produce(stack, topic, range(6))
    calls: list[int] = []

    async def go() -> None:
        reader = _reader(stack, topic)
        real_pull = reader.log._pull

        async def failing(wants: Any, limit: int) -> Any:
            calls.extend(p for _, p, _ in wants)
            raise ConnectionError("broker frozen")

        try:
            monkeypatch.setattr(reader.log, "_pull", failing)
            assert await reader.pull(1, None, 100) == ([], False)
            assert await reader.pull(0, None, 100) == ([], False)
            assert calls == [1]  # the second partition did not wait for Kafka again
            monkeypatch.setattr(reader.log, "_pull", real_pull)
            monkeypatch.setattr(direct, "RETRY_S", 0.0)
            assert [r.offset for r in await _pull_all(reader, 1, 2, 100, want=3)] == [3, 4, 5]
        finally:
            await reader.stop()

    asyncio.run(go())


def test_partitions_taken_one_after_another_and_handed_back_keep_working(stack: Settings) -> None:
    """A restarted worker gets partitions one tick after another and loses them in a rebalance.
    Changing the consumer's manual assignment meanwhile crashed aiokafka's coordinator routine
    for good (every later pull failed: a `--workers 2` test stalled); the reader assigns every
    partition once and pauses what it does not pull."""
    topic = _topic(stack)
    _produce(stack, topic, range(10), partition=0)
    _produce(stack, topic, range(10), partition=1)

    async def go() -> None:
        reader = _reader(stack, topic)
        try:
            last: dict[int, int | None] = {0: None, 1: None}
            for round_ in range(3):
                for p in (0, 1):
                    got = await _pull_all(reader, p, last[p], 100, want=10 if round_ == 0 else 2)
                    assert [r.offset for r in got] == list(range(0 if round_ == 0 else 8 + 2 * round_,
                                                               10 + 2 * round_)), (round_, p)  # fmt: skip
                    last[p] = got[-1].offset
                reader.forget()  # a rebalance
                for p in (0, 1):
                    await asyncio.to_thread(_produce, stack, topic, range(2), p)
            assert reader.log._failed_at < 0, "a pull failed"
        finally:
            await reader.stop()

    asyncio.run(go())
