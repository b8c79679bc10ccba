"""brain/kafka_admin.py: topics with the settings' replication, group operations that wait for the
coordinator. The retry loop is tested with its clock and sleep injected; everything else on the
real (single-broker) Kafka of the shared stack."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from kafka import TopicPartition

from brain.kafka_admin import (
    KafkaAdminError,
    TopicSpec,
    commit_group_offsets,
    committed_offsets,
    delete_groups,
    describe_group,
    describe_replication,
    ensure_topics,
    partition_count,
    retry_coordinator,
    topic_configs,
)
from brain.settings import Settings


def test_topic_configs_carry_min_isr_and_compaction() -> None:
    assert topic_configs(TopicSpec(3), 2) == {"min.insync.replicas": "2"}
    assert topic_configs(TopicSpec(6, compact=True, config={"retention.ms": 60000}), 1) == {
        "min.insync.replicas": "1",
        "cleanup.policy": "compact",
        "retention.ms": "60000",
    }


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_retry_waits_for_the_coordinator_then_returns() -> None:
    from kafka.errors import CoordinatorNotAvailableError, NotCoordinatorError

    clock = _Clock()
    failures = [CoordinatorNotAvailableError("fresh"), NotCoordinatorError("moved")]

    def operation() -> str:
        if failures:
            raise failures.pop(0)
        return "done"

    assert retry_coordinator(operation, what="test", sleep=clock.sleep, clock=clock) == "done"
    assert clock.sleeps == [0.5, 1.0]


def test_retry_is_bounded_and_names_the_operation() -> None:
    from kafka.errors import CoordinatorNotAvailableError

    clock = _Clock()

    def never() -> None:
        raise CoordinatorNotAvailableError("FindCoordinator for GROUP/g")

    with pytest.raises(KafkaAdminError, match=r"commit offsets for group g: no group coordinator after 10 s"):
        retry_coordinator(
            never, what="commit offsets for group g", timeout_s=10, sleep=clock.sleep, clock=clock
        )
    assert clock.now == pytest.approx(10.0)


def test_retry_passes_other_errors_through_at_once() -> None:
    from kafka.errors import GroupAuthorizationFailedError

    clock = _Clock()

    def denied() -> None:
        raise GroupAuthorizationFailedError("no")

    with pytest.raises(GroupAuthorizationFailedError):
        retry_coordinator(denied, what="x", sleep=clock.sleep, clock=clock)
    assert clock.sleeps == []


# ------------------------------------------------------------------------ on the real Kafka


@pytest.mark.stack
def test_ensure_topics_creates_grows_never_shrinks(stack: Settings) -> None:
    tag = uuid.uuid4().hex[:8]
    plain, log = f"test.admin.{tag}.plain", f"test.admin.{tag}-changelog"
    done = ensure_topics(stack, {plain: 2, log: TopicSpec(3, compact=True)})
    assert sorted(done.created) == sorted([plain, log]) and done.grown == ()
    got = describe_replication(stack, [plain, log])
    assert (got[plain].partitions, got[plain].replication_factor, got[plain].min_insync_replicas) == (2, 1, 1)
    assert (got[plain].cleanup_policy, got[log].cleanup_policy) == ("delete", "compact")
    assert ensure_topics(stack, {plain: 2, log: 3}).created == ()  # idempotent
    assert ensure_topics(stack, {plain: 4}).grown == (plain,)
    assert ensure_topics(stack, {plain: 1}).grown == ()  # never shrinks
    assert partition_count(stack, plain) == 4 and partition_count(stack, f"{plain}.missing") == 0


@pytest.mark.stack
def test_replication_above_the_brokers_is_a_clear_error(stack: Settings) -> None:
    name = f"test.admin.{uuid.uuid4().hex[:8]}"
    three = replace(stack, kafka_replication_factor=3, kafka_min_insync_replicas=2)
    with pytest.raises(
        KafkaAdminError, match=r"replication factor 3 \(BRAIN_KAFKA_REPLICATION_FACTOR\) needs 3"
    ):
        ensure_topics(three, {name: 1})
    assert partition_count(stack, name) == 0


@pytest.mark.stack
def test_group_offsets_round_trip(stack: Settings) -> None:
    tag = uuid.uuid4().hex[:8]
    topic, group = f"test.admin.{tag}", f"test-admin-{tag}"
    ensure_topics(stack, {topic: 2})
    assert committed_offsets(stack, group, [TopicPartition(topic, 0), TopicPartition(topic, 1)]) == {}
    commit_group_offsets(stack, group, {TopicPartition(topic, 0): 0, TopicPartition(topic, 1): 0})
    assert committed_offsets(stack, group, [TopicPartition(topic, 0), TopicPartition(topic, 1)]) == {
        TopicPartition(topic, 0): 0,
        TopicPartition(topic, 1): 0,
    }
    assert describe_group(stack, group).get("group_state") == "Empty"
    assert delete_groups(stack, [group]) == {group: "OK"}
    assert committed_offsets(stack, group, [TopicPartition(topic, 0)]) == {}
