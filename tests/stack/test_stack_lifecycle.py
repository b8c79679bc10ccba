"""`brain stack` on its own directory and ports: up twice is harmless, status tells, down leaves nothing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.private_stack import free_ports

pytestmark = [pytest.mark.stack, pytest.mark.slow]

SERVER_MARKERS = ("mosquitto", "kafka.Kafka", "influxd")


def _brain(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "brain.cli", "stack", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def _processes_under(root: Path) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(root) in cmdline and any(m in cmdline for m in SERVER_MARKERS):
            found.append(f"{proc.name}: {cmdline[:120]}")
    return found


@pytest.fixture
def stack_env(tmp_path: Path) -> dict[str, str]:
    mqtt, kafka, ctl, influx, rpc = free_ports(5)
    return dict(
        os.environ,
        BRAIN_STACK_DIR=str(tmp_path / "stack"),
        BRAIN_STACK_MQTT_PORT=str(mqtt),
        BRAIN_STACK_KAFKA_PORT=str(kafka),
        BRAIN_STACK_KAFKA_CONTROLLER_PORT=str(ctl),
        BRAIN_STACK_INFLUX_PORT=str(influx),
        BRAIN_STACK_INFLUX_RPC_PORT=str(rpc),
    )


def test_up_twice_status_down_leaves_no_process(stack_env: dict[str, str]) -> None:
    root = Path(stack_env["BRAIN_STACK_DIR"]).resolve()
    ports = [int(stack_env[k]) for k in stack_env if k.startswith("BRAIN_STACK_") and k.endswith("_PORT")]
    try:
        first = _brain(["up"], stack_env)
        assert first.returncode == 0, first.stderr
        second = _brain(["up"], stack_env)
        assert second.returncode == 0, second.stderr
        assert second.stderr.count("already running") == 3, second.stderr
        status = _brain(["status"], stack_env)
        assert status.returncode == 0, status.stdout
        lines = status.stdout.splitlines()
        assert lines[0].split() == ["SERVER", "STATE", "VERSION", "ADDRESS", "PID", "DATA", "DIR"]
        for name in ("influxdb", "kafka", "mosquitto"):
            row = next(line for line in lines if line.startswith(name))
            assert " healthy " in row and str(root) in row, row
        assert f"mqtt://127.0.0.1:{stack_env['BRAIN_STACK_MQTT_PORT']}" in status.stdout
        assert len(_processes_under(root)) >= 3
    finally:
        down = _brain(["down"], stack_env)
    assert down.returncode == 0, down.stderr
    assert _processes_under(root) == []
    busy = [p for p in ports if socket.socket().connect_ex(("127.0.0.1", p)) == 0]
    assert busy == []
    after = _brain(["status"], stack_env)
    assert after.returncode == 1 and after.stdout.count(" stopped ") == 3


def test_port_in_use_names_the_holder(stack_env: dict[str, str]) -> None:
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", int(stack_env["BRAIN_STACK_MQTT_PORT"])))
    holder.listen()
    try:
        result = _brain(["up", "mosquitto"], stack_env)
    finally:
        holder.close()
    assert result.returncode == 1
    port = stack_env["BRAIN_STACK_MQTT_PORT"]
    assert f"mosquitto: port {port} on 127.0.0.1 is in use by pid {os.getpid()} (" in result.stderr


def test_unknown_server_is_a_clear_error(stack_env: dict[str, str]) -> None:
    result = _brain(["start", "zookeeper"], stack_env)
    assert result.returncode == 1
    assert "unknown server 'zookeeper'; choose from influxdb, kafka, mosquitto" in result.stderr
