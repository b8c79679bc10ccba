"""The first consumer-group operations on a brand-new Kafka wait for the group coordinator.

On a fresh cluster Kafka creates `__consumer_offsets` on the first FindCoordinator and answers
COORDINATOR_NOT_AVAILABLE until its partitions have leaders; `brain bench` died there with a
traceback and printed no JSON (issue 12). Each test gets a Kafka of its own that no group has
ever used (a private stack, never the shared servers): the session-wide `private_stack` is not
fresh once another test used it.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import TopicPartition

from brain.kafka_admin import committed_offsets, delete_groups, describe_group
from brain.kafka_offsets import end_offsets, start_new_group_at_end
from brain.settings import TOPIC_READINGS
from tests.private_stack import REPO, PrivateStack, start_private_stack

pytestmark = [pytest.mark.stack, pytest.mark.slow]


@pytest.fixture
def fresh_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateStack]:
    yield from start_private_stack(tmp_path_factory, "kafka")


@pytest.fixture
def fresh_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateStack]:
    yield from start_private_stack(tmp_path_factory)


def test_first_group_operations_on_a_fresh_kafka(
    fresh_kafka: PrivateStack, caplog: pytest.LogCaptureFixture
) -> None:
    settings = fresh_kafka.settings
    group = f"t-fresh-{uuid.uuid4().hex[:8]}"
    with caplog.at_level(logging.INFO, logger="brain.kafka"):
        assert start_new_group_at_end(settings, group, [TOPIC_READINGS]) is True
    parts = [TopicPartition(TOPIC_READINGS, p) for p in end_offsets(settings, TOPIC_READINGS)]
    assert committed_offsets(settings, group, parts) == {
        tp: end_offsets(settings, TOPIC_READINGS)[tp.partition] for tp in parts
    }
    assert start_new_group_at_end(settings, group, [TOPIC_READINGS]) is False  # resumes, no recommit
    assert describe_group(settings, group)["group_state"] == "Empty"
    assert delete_groups(settings, [group]) == {group: "OK"}
    waits = [r.getMessage() for r in caplog.records if r.getMessage().startswith("kafka.coordinator")]
    print(f"\nfresh Kafka, first group operation: {waits or 'no wait needed'}")


@pytest.mark.timeout(240)
def test_bench_on_a_fresh_cluster_prints_its_json(fresh_stack: PrivateStack, tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "brain.cli", "bench", "--seconds", "5", "--rate", "1000",
            "--machines", "10", "--grace-s", "2", "--baseline-seconds", "0", "--quiet",
            "--run-dir", str(tmp_path)]  # fmt: skip
    proc = subprocess.Popen(argv, cwd=REPO, env=fresh_stack.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        out, err = proc.communicate(timeout=150)
    except subprocess.TimeoutExpired:
        proc.terminate()  # SIGTERM: the bench stops its services and deletes its topics
        out, err = proc.communicate(timeout=40)
        pytest.fail(f"brain bench did not finish in 150 s; {tmp_path}:\n{err[-3000:]}")
    assert "Traceback" not in err, err[-3000:]
    assert proc.returncode == 0, err[-3000:]
    result = json.loads(out)
    assert (result["lost"], result["double_counted"], result["deadletters"]) == (0, 0, 0)
    assert result["published"] >= 5000 and result["readings_in_kafka"] == result["published"]
    assert result["kpi_check"]["units_in_kpis"] == result["kpi_check"]["units_published"]
    print(
        f"\nfresh cluster: brain bench exit 0, {result['published']} published, lost 0; stderr: {err[-500:]}"
    )
