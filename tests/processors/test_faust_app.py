"""The Faust adapter (processors/runtime/faust_app.py): what Faust is used for, and why table
writes do not go through `table[key] = value`.

The old alert worker wrote `table[key] = value`, which the machine worker's docstring called
unsafe. Settled here: Faust's table write only queues the changelog message in its producer
buffer, and the buffer's `flush()` — what Faust awaits before it commits — returns after 0.1 s
without progress while messages are still queued. So the race was real (the alert worker's gap
refill hid it: after a crash its older marker made it read the skipped input again). Every
worker now writes through `FaustStore`, whose `flush` returns only once Kafka acknowledged each
changelog message: proven on the real Kafka below.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition

from brain.kafka_admin import TopicSpec, ensure_topics
from brain.settings import Settings
from processors.app import build
from processors.options import ProcessorOptions
from processors.runtime.faust_app import FaustRuntime, FaustStore, assign_topic
from processors.runtime.kafka import KafkaOutbox, Producer
from tests.processors import data

LOG = logging.getLogger("test")


def test_the_workers_join_through_the_assignment_topic_only(tmp_path: Path) -> None:
    """No input reaches a worker through Faust: its one agent consumes the assignment topic
    (which carries no messages), and the tables share its partition count (co-partitioned)."""
    opts = ProcessorOptions(app_id="t-adapter", data_dir=tmp_path)
    runtime, workers = build(data.plant(), Settings(), opts, partitions=4)
    runtime._wire(workers)
    topics = {t for agent in runtime.app.agents.values() for t in agent.channel.topics}
    assert topics == {assign_topic("t-adapter")}
    assert {name: t.partitions for name, t in runtime.app.tables.items()} == {"machines": 4, "rollup": 4}
    assert [w.agent for w in workers] == ["machines", "rollup"]


def test_a_faust_table_write_is_not_durable_when_faust_flush_returns(tmp_path: Path) -> None:
    """The race of `table[key] = value`: the changelog message waits in Faust's producer buffer,
    and `flush()` gives up after 0.1 s without progress, with messages still queued."""
    sent: list[object] = []

    async def slow_send(message: object) -> None:  # a broker slow to take a request
        await asyncio.sleep(0.3)
        sent.append(message)

    async def main() -> tuple[float, int, int]:
        runtime = FaustRuntime(
            "t-buffer",
            Settings(),
            partitions=1,
            data_dir=tmp_path,
            step_s=0.2,
            session_timeout_s=10,
            send_timeout_s=5,
            logger=LOG,
        )  # in this loop
        buffer = runtime.app.producer.buffer
        buffer._send_pending = slow_send
        await buffer.start()
        for i in range(3):
            buffer.put(i)  # what Table.__setitem__ does with the changelog message
        began = time.monotonic()
        await buffer.flush()
        took, done, queued = time.monotonic() - began, len(sent), buffer.size
        while len(sent) < 3:  # let it drain before stopping the service
            await asyncio.sleep(0.05)
        await buffer.stop()
        return took, done, queued

    took, done, queued = asyncio.run(main())
    assert took < 0.3 and done == 0 and queued >= 1, (took, done, queued)


@pytest.mark.stack
def test_faust_store_flush_returns_once_kafka_has_every_changelog_message(stack: Settings) -> None:
    changelog = f"test.store.{uuid.uuid4().hex[:8]}-changelog"
    ensure_topics(stack, {changelog: TopicSpec(2, compact=True)})

    async def main() -> None:
        producer = Producer(stack, request_timeout_s=10, log=LOG)
        store = FaustStore(SimpleNamespace(data={}), changelog,
                           KafkaOutbox(producer, timeout_s=15, stats=Counter(), log=LOG))  # fmt: skip
        try:
            for i in range(200):
                store.put(i % 2, f"k{i}", {"n": i})
            store.put(1, "k1", None)  # a delete: a tombstone in the changelog
            assert store.get("k1") is None and store.get("k2") == {"n": 2, "p": 0}
            await store.flush()
        finally:
            await producer.stop()

    asyncio.run(main())
    consumer = KafkaConsumer(bootstrap_servers=stack.kafka_bootstrap, enable_auto_commit=False)
    try:
        ends = consumer.end_offsets([TopicPartition(changelog, p) for p in (0, 1)])
        assert sorted(ends.values()) == [100, 101]  # every message acknowledged when flush returned
        tp = TopicPartition(changelog, 1)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        got: list = []
        deadline = time.monotonic() + 10
        while len(got) < 101 and time.monotonic() < deadline:
            got += [m for batch in consumer.poll(500).values() for m in batch]
        assert got[-1].key == b"k1" and got[-1].value is None
        assert orjson.loads(got[0].value) == {"n": 1, "p": 1}
    finally:
        consumer.close()
