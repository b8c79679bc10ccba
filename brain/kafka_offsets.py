"""Where a new consumer group starts: commit the current end offsets before its first poll.

Kafka's `auto.offset.reset=latest` races with the producer (a message written between start-up
and the first fetch is skipped silently); committing the end offsets first makes "start at the
newest data" exact. Used by `brain process --start-at latest`, the demo and the tests; the group
operations themselves (with their wait for the coordinator) are in brain/kafka_admin.py.
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
    resumes where it left off: that is what at-least-once delivery relies on. On a fresh cluster
    both group operations wait for the coordinator (brain.kafka_admin.retry_coordinator).
    """
    from kafka import TopicPartition

    from brain.kafka_admin import commit_group_offsets, committed_offsets

    wanted = {
        TopicPartition(topic, partition): offset
        for topic in topics
        for partition, offset in end_offsets(settings, topic).items()
    }
    if not force and committed_offsets(settings, group, wanted):
        return False
    commit_group_offsets(settings, group, wanted)  # no subscription, no member: no rebalance
    return True
