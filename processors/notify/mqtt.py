"""Alerts out on MQTT: `brain/v1/alerts/{site}/{line}/{machine}/{rule}`, QoS 1.

A firing event is published **retained**, so a subscriber that connects later sees what is
active; a resolved event is published (not retained) and then the retained message is cleared
with an empty retained payload. A part above the alert's scope is `_` (a site alert:
`brain/v1/alerts/sip/_/_/demand_90pct`).
"""

from __future__ import annotations

import json
from typing import Any

EMPTY = "_"


def alert_topic(event: dict[str, Any], prefix: str = "brain/v1/alerts") -> str:
    parts = [event.get("site"), event.get("line"), event.get("machine"), event.get("rule")]
    return "/".join([prefix, *(str(p) if p else EMPTY for p in parts)])


def publications(event: dict[str, Any], prefix: str = "brain/v1/alerts") -> list[tuple[str, bytes, bool]]:
    """(topic, payload, retain) to publish for one event, in order."""
    topic = alert_topic(event, prefix)
    payload = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    if event.get("state") == "firing":
        return [(topic, payload, True)]
    return [(topic, payload, False), (topic, b"", True)]


class MqttPublisher:
    """A paho client (MQTT 5) that publishes and waits for the broker's PUBACK."""

    def __init__(self, endpoint: Any, client_id: str, qos: int = 1, prefix: str = "brain/v1/alerts") -> None:
        import paho.mqtt.client as mqtt

        self.qos, self.prefix = qos, prefix
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        endpoint.apply(self.client)  # credentials and TLS (CA, client cert) from the settings
        self.client.reconnect_delay_set(1, 30)
        self.client.connect(endpoint.host, endpoint.port, keepalive=30)
        self.client.loop_start()

    def publish(self, event: dict[str, Any], timeout_s: float = 30.0) -> None:
        for topic, payload, retain in publications(event, self.prefix):
            info = self.client.publish(topic, payload, qos=self.qos, retain=retain)
            info.wait_for_publish(timeout_s)
            if not info.is_published():
                raise OSError(f"MQTT publish to {topic} not acknowledged within {timeout_s}s")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
