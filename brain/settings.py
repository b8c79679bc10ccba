"""Connection settings every component reads from the environment.

Defaults match `brain stack up`, so a component started next to the local stack needs no
configuration at all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"
DEFAULT_KAFKA_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_INFLUX_URL = "http://127.0.0.1:8086"
# InfluxDB 1.x with auth off accepts any token; org is "-" on 1.x.
DEFAULT_INFLUX_TOKEN = ""
DEFAULT_INFLUX_ORG = "-"
RAW_DATABASE = "brain_raw"
KPI_DATABASE = "brain_kpi"

TOPIC_READINGS = "brain.readings"
TOPIC_DEADLETTER = "brain.deadletter"
TOPIC_KPIS = "brain.kpis"
TOPIC_ALERTS = "brain.alerts"
TOPIC_LATE = "brain.late"


class SettingsError(ValueError):
    """A connection setting that cannot be used; the message names the variable."""


@dataclass(frozen=True, slots=True)
class MqttEndpoint:
    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def parse_mqtt_url(url: str, *, variable: str = "BRAIN_MQTT_URL") -> MqttEndpoint:
    """`mqtt://[user:pass@]host[:port]` or `mqtts://...` (TLS, default port 8883)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise SettingsError(f"{variable}={url!r}: expected mqtt://host:port or mqtts://host:port")
    tls = parts.scheme in ("mqtts", "ssl")
    if not parts.hostname:
        raise SettingsError(f"{variable}={url!r}: no host name")
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError as exc:
        raise SettingsError(f"{variable}={url!r}: bad port ({exc})") from None
    return MqttEndpoint(parts.hostname, port, tls, parts.username, parts.password)


@dataclass(frozen=True, slots=True)
class Settings:
    """Where the servers are. Read once with `Settings.from_env()` and pass it down."""

    mqtt_url: str = DEFAULT_MQTT_URL
    kafka_bootstrap: str = DEFAULT_KAFKA_BOOTSTRAP
    influx_url: str = DEFAULT_INFLUX_URL
    influx_token: str = field(default=DEFAULT_INFLUX_TOKEN, repr=False)
    influx_org: str = DEFAULT_INFLUX_ORG

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        settings = cls(
            mqtt_url=env.get("BRAIN_MQTT_URL", DEFAULT_MQTT_URL),
            kafka_bootstrap=env.get("BRAIN_KAFKA_BOOTSTRAP", DEFAULT_KAFKA_BOOTSTRAP),
            influx_url=env.get("BRAIN_INFLUX_URL", DEFAULT_INFLUX_URL),
            influx_token=env.get("BRAIN_INFLUX_TOKEN", DEFAULT_INFLUX_TOKEN),
            influx_org=env.get("BRAIN_INFLUX_ORG", DEFAULT_INFLUX_ORG),
        )
        settings.mqtt  # noqa: B018 - validate early, with the variable's name in the message
        if not settings.kafka_bootstrap.strip():
            raise SettingsError("BRAIN_KAFKA_BOOTSTRAP is empty: expected host:port[,host:port]")
        if not settings.influx_url.startswith(("http://", "https://")):
            raise SettingsError(f"BRAIN_INFLUX_URL={settings.influx_url!r}: expected http(s)://host:port")
        return settings

    @property
    def mqtt(self) -> MqttEndpoint:
        return parse_mqtt_url(self.mqtt_url)
