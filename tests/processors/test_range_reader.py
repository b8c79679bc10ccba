"""RangeReader on the real Kafka: the records of an offset range, in order; removed ones missing."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from kafka import KafkaAdminClient, KafkaProducer, TopicPartition

from brain.settings import Settings
from brain.stack.servers import ensure_topics
from processors.gaps import Fetched, RangeReader

pytestmark = pytest.mark.stack


def _topic_with(stack: Settings, n: int) -> str:
    topic = f"test.range.{uuid.uuid4().hex[:10]}"
    ensure_topics(stack.kafka_bootstrap, {topic: 2})
    producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap)
    for i in range(n):
        producer.send(topic, value=b"v%d" % i, partition=1)
    producer.flush()
    producer.close()
    return topic


def test_reads_exactly_the_range(stack: Settings) -> None:
    topic = _topic_with(stack, 50)
    read = RangeReader(stack.kafka_bootstrap, stack.aiokafka_kwargs())
    assert asyncio.run(read(topic, 1, 10, 14)) == [Fetched(o, b"v%d" % o) for o in range(10, 14)]
    assert [f.offset for f in asyncio.run(read(topic, 1, 0, 50))] == list(range(50))


def test_records_removed_by_retention_are_missing_not_waited_for(stack: Settings) -> None:
    topic = _topic_with(stack, 30)
    admin = KafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    try:
        admin.delete_records({TopicPartition(topic, 1): 20})
    finally:
        admin.close()
    read = RangeReader(stack.kafka_bootstrap, stack.aiokafka_kwargs())
    assert [f.offset for f in asyncio.run(read(topic, 1, 15, 25))] == list(range(20, 25))
