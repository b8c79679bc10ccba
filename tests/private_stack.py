"""A private stack: its own Mosquitto, Kafka and InfluxDB on free ports in a temporary directory
(`brain stack up` with `BRAIN_STACK_DIR` and `BRAIN_STACK_*_PORT`), so killing, freezing or
starting from an empty cluster never touches the shared servers. The session fixture
`private_stack` (tests/conftest.py) starts one per test run, on first use; the fault suite
and tests/alerts/test_fresh_cluster.py share it."""

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
    tmp_path_factory: pytest.TempPathFactory, servers: str | None = None
) -> Iterator[PrivateStack]:
    """Start it, yield it, thaw and stop it (the body of the `private_stack` fixture). `servers`:
    only that one (e.g. "kafka": a brand-new Kafka and nothing else)."""
    root = tmp_path_factory.mktemp("privatestack")
    mqtt, kafka, ctl, influx, rpc = free_ports(5)
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
        BRAIN_KAFKA_BOOTSTRAP=f"127.0.0.1:{kafka}",
        BRAIN_INFLUX_URL=f"http://127.0.0.1:{influx}",
        BRAIN_INFLUX_TOKEN="",
        PYTHONUNBUFFERED="1",
    )
    for name in ("BRAIN_PLANT_CONFIG", "BRAIN_BRIDGE_CLIENT_ID", "BRAIN_BRIDGE_SHARED_GROUP"):
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
