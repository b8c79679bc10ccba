"""Are the servers the settings point at reachable and set up? Used by `brain demo`, `brain bench`
and the tests' `stack` fixture.

Works on `brain.settings.Settings` (the URLs every component uses), not on the local stack's
state, so it checks a user's own servers just as well as the ones `brain stack up` started.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

from brain import settings as _settings
from brain.settings import Settings

_REQUIRED_TOPICS = (
    _settings.TOPIC_READINGS,
    _settings.TOPIC_DEADLETTER,
    _settings.TOPIC_KPIS,
    _settings.TOPIC_ALERTS,
)


def check_mqtt(settings: Settings) -> str | None:
    """None when an MQTT connect succeeds, else what is wrong."""
    import paho.mqtt.client as mqtt

    endpoint = settings.mqtt
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="brain-health")
    endpoint.apply(client)
    try:
        client.connect(endpoint.host, endpoint.port, keepalive=5)
        client.loop(timeout=2.0)
        if not client.is_connected():
            return f"MQTT broker at {settings.mqtt_address} accepted TCP but did not complete CONNECT"
        client.disconnect()
    except OSError as exc:
        return f"MQTT broker at {settings.mqtt_address} is not reachable ({exc})"
    return None


def check_kafka(settings: Settings) -> str | None:
    from kafka.errors import KafkaError

    from brain.kafka_admin import admin_client

    # A plain TCP connect first: the client would retry for half a minute before giving up. One
    # reachable server of the bootstrap list is enough (a cluster serves with a broker down).
    errors = []
    for server in settings.kafka_bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            socket.create_connection((host or "127.0.0.1", int(port)), timeout=3).close()
            break
        except (OSError, ValueError) as exc:
            errors.append(f"{server.strip()}: {exc}")
    else:
        return f"Kafka at {settings.kafka_bootstrap} is not reachable ({'; '.join(errors)})"
    try:
        admin = admin_client(settings, client_id="brain-health", request_timeout_ms=5000)
    except (KafkaError, OSError) as exc:
        return f"Kafka at {settings.kafka_bootstrap} is not reachable ({type(exc).__name__}: {exc})"
    try:
        topics = set(admin.list_topics())
    finally:
        admin.close()
    missing = [t for t in _REQUIRED_TOPICS if t not in topics]
    if missing:
        return (
            f"Kafka at {settings.kafka_bootstrap} lacks topics {missing} "
            "(`brain stack up` or `brain kafka init` creates them)"
        )
    return None


def check_influx(settings: Settings) -> str | None:
    try:
        with urllib.request.urlopen(f"{settings.influx_url}/health", timeout=3) as resp:
            health = json.load(resp)
    except (OSError, ValueError, urllib.error.URLError) as exc:
        return f"InfluxDB at {settings.influx_url} is not reachable ({exc})"
    if health.get("status") != "pass":
        return f"InfluxDB at {settings.influx_url} is not healthy: {health}"
    return None


def problems(settings: Settings) -> list[str]:
    """Everything that is wrong with the stack, one clear sentence each (empty: all good)."""
    return [p for p in (check_mqtt(settings), check_kafka(settings), check_influx(settings)) if p]
