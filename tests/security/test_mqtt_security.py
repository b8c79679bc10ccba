"""Per-factory credentials, ACL and TLS on a REAL Mosquitto started by `brain stack up --secure`.

The broker here is a second, secure Mosquitto on its own ports and directory, so the shared
stack the other tests use is left alone.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from tests.private_stack import free_ports

pytestmark = pytest.mark.stack

NOT_AUTHORIZED = 135
BAD_USER_OR_PASSWORD = 134


def _brain(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "brain.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"brain {' '.join(args)}: {result.stdout}{result.stderr}"
    return result


@dataclass
class SecureBroker:
    port: int
    tls_port: int
    ca_file: Path
    passwords: dict[str, str]


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    root = tmp_path_factory.mktemp("secure-stack")
    port, tls_port = free_ports(2)
    env = dict(
        os.environ,
        BRAIN_STACK_DIR=str(root),
        BRAIN_STACK_MQTT_PORT=str(port),
        BRAIN_STACK_MQTT_TLS_PORT=str(tls_port),
    )
    _brain(["tls", "init"], env)
    passwords = {}
    for user in ("factory-a", "factory-b", "brain-bridge"):
        out = _brain(["users", "add", user], env).stdout
        passwords[user] = next(
            line.split("=", 1)[1] for line in out.splitlines() if "BRAIN_MQTT_PASSWORD=" in line
        )
        assert (root / "credentials" / f"{user}.env").stat().st_mode & 0o777 == 0o600
    _brain(["stack", "up", "mosquitto", "--secure"], env)
    try:
        yield SecureBroker(port, tls_port, root / "tls" / "ca.crt", passwords)
    finally:
        _brain(["stack", "down", "mosquitto"], env)


def _client(user: str | None, password: str | None) -> mqtt.Client:
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"sec-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
    )
    if user:
        client.username_pw_set(user, password)
    return client


def _connect(client: mqtt.Client, port: int) -> int:
    """CONNECT and return the broker's reason code (0 = success)."""
    result: dict[str, int] = {}
    done = threading.Event()

    def on_connect(_c, _u, _flags, reason_code, _props):
        result["rc"] = reason_code.value
        done.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", port, keepalive=10)
    client.loop_start()
    assert done.wait(10), "no CONNACK"
    return result["rc"]


def _publish_rc(client: mqtt.Client, topic: str) -> int:
    """Publish QoS 1 and return the PUBACK reason code (MQTT 5 reports ACL denials there)."""
    codes: dict[int, int] = {}
    done = threading.Event()

    def on_publish(_c, _u, mid, reason_code, _props):
        codes[mid] = reason_code.value
        done.set()

    client.on_publish = on_publish
    info = client.publish(topic, b"1.0", qos=1)
    assert done.wait(10), "no PUBACK"
    return codes[info.mid]


def test_factory_publishes_under_its_own_site(broker: SecureBroker) -> None:
    received: list[str] = []
    got = threading.Event()
    bridge = _client("brain-bridge", broker.passwords["brain-bridge"])
    bridge.on_message = lambda _c, _u, msg: (received.append(msg.topic), got.set())
    assert _connect(bridge, broker.port) == 0
    subscribed = threading.Event()
    bridge.on_subscribe = lambda *_a: subscribed.set()
    bridge.subscribe("brain/v1/#", qos=1)
    assert subscribed.wait(5)
    factory = _client("factory-a", broker.passwords["factory-a"])
    try:
        assert _connect(factory, broker.port) == 0
        assert _publish_rc(factory, "brain/v1/factory-a/l1/m1/power_kw") == 0
        assert got.wait(5)
        assert received == ["brain/v1/factory-a/l1/m1/power_kw"]
    finally:
        for c in (factory, bridge):
            c.loop_stop()
            c.disconnect()


@pytest.mark.parametrize(
    "topic",
    [
        "brain/v1/factory-b/l1/m1/power_kw",  # another factory's subtree
        "spBv1.0/factory-b/NDATA/edge1",  # another factory's Sparkplug group
        "brain/v1/alerts/factory-a/l1/m1/r1",  # only the notifier publishes alerts
    ],
)
def test_factory_cannot_publish_as_another(broker: SecureBroker, topic: str) -> None:
    factory = _client("factory-a", broker.passwords["factory-a"])
    try:
        assert _connect(factory, broker.port) == 0
        assert _publish_rc(factory, topic) == NOT_AUTHORIZED
    finally:
        factory.loop_stop()
        factory.disconnect()


def test_anonymous_client_is_refused(broker: SecureBroker) -> None:
    client = _client(None, None)
    try:
        assert _connect(client, broker.port) == NOT_AUTHORIZED
    finally:
        client.loop_stop()


def test_wrong_password_is_refused(broker: SecureBroker) -> None:
    client = _client("factory-a", "not-the-password")
    try:
        # Mosquitto 2.0.11 answers a wrong password with 135 (Not authorized), not 134.
        assert _connect(client, broker.port) in (BAD_USER_OR_PASSWORD, NOT_AUTHORIZED)
    finally:
        client.loop_stop()


def test_tls_listener_with_the_local_ca(broker: SecureBroker) -> None:
    from brain.settings import Settings

    settings = Settings.from_env(
        {
            "BRAIN_MQTT_URL": f"mqtts://127.0.0.1:{broker.tls_port}",
            "BRAIN_MQTT_USERNAME": "factory-a",
            "BRAIN_MQTT_PASSWORD": broker.passwords["factory-a"],
            "BRAIN_MQTT_CA_FILE": str(broker.ca_file),
        }
    )
    client = _client(None, None)
    settings.mqtt.apply(client)
    try:
        assert _connect(client, broker.tls_port) == 0
        # 16 = "no matching subscribers": accepted, nobody listens on this topic.
        assert _publish_rc(client, "brain/v1/factory-a/l1/m1/state") in (0, 16)
    finally:
        client.loop_stop()
        client.disconnect()


def test_tls_listener_rejects_a_client_that_does_not_trust_the_ca(broker: SecureBroker) -> None:
    client = _client("factory-a", broker.passwords["factory-a"])
    client.tls_set()  # system CAs only: our local CA is unknown to them
    with pytest.raises(ssl.SSLCertVerificationError):
        client.connect("127.0.0.1", broker.tls_port)


def test_simulator_and_bridge_over_mqtts_with_credentials(
    broker: SecureBroker, stack, tmp_path: Path
) -> None:
    """The whole front door over TLS: `brain simulate` publishes as factory-a over mqtts://, the
    bridge reads as brain-bridge over mqtts://, and every reading arrives in Kafka."""
    from brain.kafka_offsets import end_offsets
    from brain.pipeline import Pipeline
    from brain.settings import TOPIC_READINGS
    from tests.e2e import harness as h

    since = end_offsets(stack, TOPIC_READINGS)
    plant = h.write_plant(tmp_path / "plant.yaml", "factory-a")
    url = f"mqtts://127.0.0.1:{broker.tls_port}"
    tls = {"BRAIN_MQTT_URL": url, "BRAIN_MQTT_CA_FILE": str(broker.ca_file)}
    pipe = Pipeline(tmp_path / "logs")
    pipe.add("bridge", ["bridge", "--config", str(plant), "--client-id", f"tls-{uuid.uuid4().hex[:8]}",
                        "--session-expiry", "30"],
             env={**tls, "BRAIN_MQTT_USERNAME": "brain-bridge",
                  "BRAIN_MQTT_PASSWORD": broker.passwords["brain-bridge"]})  # fmt: skip
    with pipe:
        pipe.start("bridge")
        assert pipe.wait_for_log("bridge", "bridge.subscribed", 60), pipe.dead()
        sim = subprocess.run(
            [sys.executable, "-m", "brain.cli", "simulate", "--config", str(plant), "--seed", "5",
             "--duration", "10m", "--speed", "0", "--form", "batch", "--out", str(tmp_path / "r.jsonl"),
             "--mqtt-url", url, "--quiet"],
            env={**os.environ, **tls, "BRAIN_MQTT_USERNAME": "factory-a",
                 "BRAIN_MQTT_PASSWORD": broker.passwords["factory-a"]},
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert sim.returncode == 0, sim.stderr[-2000:]
        sent = {(r["machine"], r["metric"], r["ts"]) for r in h.load_readings(tmp_path / "r.jsonl")}
        assert len(sent) > 100
        got: set[tuple[str, str, int]] = set()
        deadline = time.monotonic() + 60
        while got != sent and time.monotonic() < deadline:
            got = {
                (r["machine"], r["metric"], r["ts"])
                for r in h._consume(stack, TOPIC_READINGS, since)
                if r.get("site") == "factory-a"
            }
            time.sleep(1)
    assert got == sent, f"{len(sent - got)} readings missing, {len(got - sent)} unexpected"
