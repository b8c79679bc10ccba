"""A private stack: its own Mosquitto, Kafka and InfluxDB on free ports in a temporary directory
(`brain stack up` with `BRAIN_STACK_DIR` and `BRAIN_STACK_*_PORT`), so killing, freezing or
starting from an empty cluster never touches the shared servers. The session fixture
`private_stack` (tests/conftest.py) starts one per test run, on first use; the fault suite
and tests/alerts/test_fresh_cluster.py share it. `private_cluster` is the same with a 3-node
KRaft cluster (tests/faults/test_kafka_cluster.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from brain.settings import Settings

REPO = Path(__file__).resolve().parents[1]
CLUSTER_VARIABLES = (
    "BRAIN_STACK_KAFKA_BROKERS",
    "BRAIN_STACK_KAFKA_PORTS",
    "BRAIN_STACK_KAFKA_CONTROLLER_PORTS",
    "BRAIN_KAFKA_REPLICATION_FACTOR",
    "BRAIN_KAFKA_MIN_INSYNC_REPLICAS",
)


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class PrivateStack:
    root: Path
    env: dict[str, str]
    settings: Settings

    def ctl(self, action: str, server: str | None = None, timeout_s: float = 180) -> float:
        """`brain stack ACTION [SERVER]` on this stack; returns how long it took."""
        began = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "brain.cli", "stack", action, *([server] if server else [])],
            env=self.env, cwd=REPO, capture_output=True, text=True, timeout=timeout_s, check=False,
        )  # fmt: skip
        assert result.returncode == 0, f"brain stack {action} {server or ''}: {result.stdout}{result.stderr}"
        return time.monotonic() - began


def start_private_stack(
    tmp_path_factory: pytest.TempPathFactory, servers: str | None = None, *, kafka_brokers: int = 1
) -> Iterator[PrivateStack]:
    """Start it, yield it, thaw and stop it (the body of the `private_stack` fixture). `servers`:
    only that one (e.g. "kafka": a brand-new Kafka and nothing else). `kafka_brokers` 3: a KRaft
    cluster `kafka-1..3` (`brain stack up --kafka-brokers 3`), whose clients get the bootstrap list
    and RF 3 / min ISR 2 in `env` and `settings`."""
    root = tmp_path_factory.mktemp("privatestack" if kafka_brokers == 1 else "privatecluster")
    mqtt, kafka, ctl, influx, rpc, *more = free_ports(5 + 2 * (kafka_brokers - 1))
    kafka_ports = [kafka, *more[0::2]]
    controller_ports = [ctl, *more[1::2]]
    cluster = {}
    if kafka_brokers > 1:
        cluster = dict(
            BRAIN_STACK_KAFKA_BROKERS=str(kafka_brokers),
            BRAIN_STACK_KAFKA_PORTS=",".join(map(str, kafka_ports)),
            BRAIN_STACK_KAFKA_CONTROLLER_PORTS=",".join(map(str, controller_ports)),
            BRAIN_KAFKA_REPLICATION_FACTOR=str(min(3, kafka_brokers)),
            BRAIN_KAFKA_MIN_INSYNC_REPLICAS="2" if kafka_brokers >= 3 else "1",
        )
    env = dict(
        os.environ,
        BRAIN_STACK_DIR=str(root / "stack"),
        BRAIN_STACK_MQTT_PORT=str(mqtt),
        BRAIN_STACK_KAFKA_PORT=str(kafka),
        BRAIN_STACK_KAFKA_CONTROLLER_PORT=str(ctl),
        BRAIN_STACK_INFLUX_PORT=str(influx),
        BRAIN_STACK_INFLUX_RPC_PORT=str(rpc),
        BRAIN_STACK_SECURE="",
        BRAIN_MQTT_URL=f"mqtt://127.0.0.1:{mqtt}",
        BRAIN_KAFKA_BOOTSTRAP=",".join(f"127.0.0.1:{p}" for p in kafka_ports),
        BRAIN_INFLUX_URL=f"http://127.0.0.1:{influx}",
        BRAIN_INFLUX_TOKEN="",
        PYTHONUNBUFFERED="1",
        **cluster,
    )
    for name in ("BRAIN_PLANT_CONFIG", "BRAIN_BRIDGE_CLIENT_ID", "BRAIN_BRIDGE_SHARED_GROUP"):
        env.pop(name, None)
    if kafka_brokers == 1:  # a developer's cluster settings must not leak into a 1-broker stack
        for name in CLUSTER_VARIABLES:
            env.pop(name, None)
    stack = PrivateStack(root, env, Settings.from_env(env))
    try:
        stack.ctl("up", servers)
        yield stack
    finally:
        # Thaw first: a frozen server left by a failed test would not stop on SIGTERM.
        for server in ("mosquitto", "kafka", "influxdb"):
            subprocess.run(
                [sys.executable, "-m", "brain.cli", "stack", "thaw", server],
                env=env, cwd=REPO, capture_output=True, check=False,
            )  # fmt: skip
        stack.ctl("down")
