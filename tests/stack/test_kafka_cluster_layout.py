"""The local Kafka cluster's layout, without a JVM: node ports, ids, quorum, replication, the
sticky cluster size, the names `brain stack` accepts. (tests/faults/test_kafka_cluster.py runs it.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from brain.stack import manager
from brain.stack.base import StackConfig
from brain.stack.kafka import node_properties
from brain.stack.process import StackError


def _config(tmp_path: Path, **kw: object) -> StackConfig:
    return StackConfig(root=tmp_path, cache=tmp_path / "cache", **kw)  # type: ignore[arg-type]


def test_one_broker_is_unchanged(tmp_path: Path) -> None:
    c = _config(tmp_path)
    props = node_properties(c, 1, tmp_path / "kafka" / "data")
    assert props["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert props["offsets.topic.replication.factor"] == "1" and "min.insync.replicas" not in props
    assert [s.name for s in manager.all_servers(c)] == ["influxdb", "kafka", "mosquitto"]
    assert manager.client_env(c)["BRAIN_KAFKA_BOOTSTRAP"] == "127.0.0.1:9092"
    assert (c.kafka_replication_factor, c.kafka_min_insync_replicas) == (1, 1)


def test_three_nodes_share_a_quorum_and_replicate_3_2(tmp_path: Path) -> None:
    c = _config(tmp_path, kafka_brokers=3, kafka_port=9200, kafka_controller_port=9201)
    props = [node_properties(c, i, tmp_path / f"kafka-{i}" / "data") for i in (1, 2, 3)]
    assert {p["controller.quorum.voters"] for p in props} == {
        "1@127.0.0.1:9201,2@127.0.0.1:9203,3@127.0.0.1:9205"
    }
    assert [p["node.id"] for p in props] == ["1", "2", "3"]
    assert [p["advertised.listeners"] for p in props] == [
        f"PLAINTEXT://127.0.0.1:{p}" for p in (9200, 9202, 9204)
    ]
    assert len({p["log.dirs"] for p in props}) == 3
    for p in props:
        assert p["offsets.topic.replication.factor"] == p["default.replication.factor"] == "3"
        assert p["transaction.state.log.min.isr"] == p["min.insync.replicas"] == "2"
    assert [s.name for s in manager.all_servers(c)] == [
        "influxdb",
        "kafka-1",
        "kafka-2",
        "kafka-3",
        "mosquitto",
    ]
    assert manager.client_env(c) == {
        "BRAIN_MQTT_URL": "mqtt://127.0.0.1:1883",
        "BRAIN_KAFKA_BOOTSTRAP": "127.0.0.1:9200,127.0.0.1:9202,127.0.0.1:9204",
        "BRAIN_KAFKA_REPLICATION_FACTOR": "3",
        "BRAIN_KAFKA_MIN_INSYNC_REPLICAS": "2",
        "BRAIN_INFLUX_URL": "http://127.0.0.1:8086",
    }


def test_ports_lists_from_the_environment_and_the_size_sticks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRAIN_STACK_DIR", str(tmp_path))
    monkeypatch.setenv("BRAIN_STACK_KAFKA_BROKERS", "3")
    monkeypatch.setenv("BRAIN_STACK_KAFKA_PORTS", "9210,9220,9230")
    monkeypatch.setenv("BRAIN_STACK_KAFKA_CONTROLLER_PORTS", "9211,9221,9231")
    c = manager.default_config()
    assert [c.kafka_node_ports(i) for i in (1, 2, 3)] == [(9210, 9211), (9220, 9221), (9230, 9231)]
    manager.remember_brokers(c)
    monkeypatch.delenv("BRAIN_STACK_KAFKA_BROKERS")
    assert manager.default_config().kafka_brokers == 3  # status, down, kill kafka-2 without the flag
    assert manager.default_config(kafka_brokers=1).kafka_brokers == 1
    monkeypatch.setenv("BRAIN_STACK_KAFKA_PORTS", "9210,x")
    with pytest.raises(StackError, match="BRAIN_STACK_KAFKA_PORTS='9210,x': expected port numbers"):
        manager.default_config()


def test_kafka_names_every_node_of_a_cluster(tmp_path: Path) -> None:
    c = _config(tmp_path, kafka_brokers=3)
    assert [s.name for s in manager.select(c, ["kafka"])] == ["kafka-1", "kafka-2", "kafka-3"]
    assert [s.name for s in manager.select(c, ["kafka-2"])] == ["kafka-2"]
    with pytest.raises(StackError, match="unknown server 'kafka-4'; choose from influxdb, kafka, kafka-1"):
        manager.select(c, ["kafka-4"])
