"""Where a new consumer group starts: commit the current end offsets before its first poll.

Kafka's `auto.offset.reset=latest` races with the producer (a message written between start-up
and the first fetch is skipped silently); committing the end offsets first makes "start at the
newest data" exact. Used by `brain process --start-at latest`, the demo and the tests.
"""

from __future__ import annotations

from collections.abc import Iterable

from brain.settings import Settings


def end_offsets(settings: Settings, topic: str) -> dict[int, int]:
    """partition -> end offset (the offset the next record will get)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        **settings.kafka_kwargs(),
    )
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        return {tp.partition: off for tp, off in consumer.end_offsets(parts).items()}
    finally:
        consumer.close()


def start_new_group_at_end(
    settings: Settings, group: str, topics: Iterable[str], *, force: bool = False
) -> bool:
    """Commit the end offsets of `topics` for `group` unless it has committed offsets already.

    Returns True when it committed (a new group, or `force`). A group that already has offsets
    resumes where it left off: that is what at-least-once delivery relies on.
    """
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group,
        enable_auto_commit=False,
        **settings.kafka_kwargs(),
    )
    try:
        wanted = {}
        for topic in topics:
            for partition, offset in end_offsets(settings, topic).items():
                wanted[TopicPartition(topic, partition)] = OffsetAndMetadata(offset, "")
        if not force and any(consumer.committed(tp) is not None for tp in wanted):
            return False
        consumer.commit(wanted)  # a manual commit without a subscription: no rebalance needed
        return True
    finally:
        consumer.close()
