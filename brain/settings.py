"""Connection settings every component reads from the environment.

Defaults match `brain stack up`, so a component started next to the local stack needs no
configuration at all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
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
TOPIC_EXPORT = "brain.export"  # what leaves the factory for the city (docs/FEDERATION.md)
TOPIC_LOSSES = "brain.losses"  # per-reason loss records of every scope and window (docs/KPI.md)
TOPIC_REASONS = "brain.reasons"  # the audit trail of stop labels: old and new label, when, who


_KAFKA_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")


class SettingsError(ValueError):
    """A connection setting that cannot be used; the message names the variable."""


@dataclass(frozen=True, slots=True)
class MqttEndpoint:
    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    def apply(self, client: Any) -> None:
        """Set credentials and TLS on a paho client: one place for every MQTT component."""
        if self.username:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set(ca_certs=self.ca_file, certfile=self.cert_file, keyfile=self.key_file)


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


def _positive_int(env: dict[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(f"{name}={text!r}: expected an integer >= 1") from None
    if value < 1:
        raise SettingsError(f"{name}={text!r}: expected an integer >= 1")
    return value


def check_replication(
    replication_factor: int,
    min_insync_replicas: int,
    *,
    names: tuple[str, str] = ("BRAIN_KAFKA_REPLICATION_FACTOR", "BRAIN_KAFKA_MIN_INSYNC_REPLICAS"),
) -> None:
    """Both >= 1 and min ISR <= RF: a topic whose min ISR exceeds its replicas rejects every
    `acks=all` write (NOT_ENOUGH_REPLICAS). `names` says which variables or flags to blame."""
    rf_name, isr_name = names
    for name, value in ((rf_name, replication_factor), (isr_name, min_insync_replicas)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise SettingsError(f"{name}={value!r}: expected an integer >= 1")
    if min_insync_replicas > replication_factor:
        raise SettingsError(
            f"{isr_name}={min_insync_replicas} is more than {rf_name}={replication_factor}: "
            "every acks=all write would fail; expected at most the replication factor"
        )


@dataclass(frozen=True, slots=True)
class Settings:
    """Where the servers are. Read once with `Settings.from_env()` and pass it down."""

    mqtt_url: str = field(default=DEFAULT_MQTT_URL, repr=False)  # may hold user:password
    kafka_bootstrap: str = DEFAULT_KAFKA_BOOTSTRAP
    influx_url: str = DEFAULT_INFLUX_URL
    influx_token: str = field(default=DEFAULT_INFLUX_TOKEN, repr=False)
    influx_org: str = DEFAULT_INFLUX_ORG
    mqtt_username: str | None = None
    mqtt_password: str | None = field(default=None, repr=False)
    mqtt_ca_file: str | None = None
    mqtt_cert_file: str | None = None
    mqtt_key_file: str | None = None
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_username: str | None = None
    kafka_password: str | None = field(default=None, repr=False)
    kafka_ca_file: str | None = None
    # Replication of the topics the platform creates: 1/1 on the dev stack's single broker,
    # e.g. 3/2 on a cluster (a write is acknowledged once 2 of 3 replicas have it).
    kafka_replication_factor: int = 1
    kafka_min_insync_replicas: int = 1

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        settings = cls(
            mqtt_url=env.get("BRAIN_MQTT_URL", DEFAULT_MQTT_URL),
            kafka_bootstrap=env.get("BRAIN_KAFKA_BOOTSTRAP", DEFAULT_KAFKA_BOOTSTRAP),
            influx_url=env.get("BRAIN_INFLUX_URL", DEFAULT_INFLUX_URL),
            influx_token=env.get("BRAIN_INFLUX_TOKEN", DEFAULT_INFLUX_TOKEN),
            influx_org=env.get("BRAIN_INFLUX_ORG", DEFAULT_INFLUX_ORG),
            mqtt_username=env.get("BRAIN_MQTT_USERNAME") or None,
            mqtt_password=env.get("BRAIN_MQTT_PASSWORD") or None,
            mqtt_ca_file=env.get("BRAIN_MQTT_CA_FILE") or None,
            mqtt_cert_file=env.get("BRAIN_MQTT_CERT_FILE") or None,
            mqtt_key_file=env.get("BRAIN_MQTT_KEY_FILE") or None,
            kafka_security_protocol=env.get("BRAIN_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").upper(),
            kafka_sasl_mechanism=env.get("BRAIN_KAFKA_SASL_MECHANISM") or None,
            kafka_username=env.get("BRAIN_KAFKA_USERNAME") or None,
            kafka_password=env.get("BRAIN_KAFKA_PASSWORD") or None,
            kafka_ca_file=env.get("BRAIN_KAFKA_CA_FILE") or None,
            kafka_replication_factor=_positive_int(env, "BRAIN_KAFKA_REPLICATION_FACTOR", 1),
            kafka_min_insync_replicas=_positive_int(env, "BRAIN_KAFKA_MIN_INSYNC_REPLICAS", 1),
        )
        settings.mqtt  # noqa: B018 - validate early, with the variable's name in the message
        if not settings.kafka_bootstrap.strip():
            raise SettingsError("BRAIN_KAFKA_BOOTSTRAP is empty: expected host:port[,host:port]")
        if not settings.influx_url.startswith(("http://", "https://")):
            raise SettingsError(f"BRAIN_INFLUX_URL={settings.influx_url!r}: expected http(s)://host:port")
        if settings.kafka_security_protocol not in _KAFKA_PROTOCOLS:
            raise SettingsError(
                f"BRAIN_KAFKA_SECURITY_PROTOCOL={settings.kafka_security_protocol!r}: "
                f"expected one of {', '.join(_KAFKA_PROTOCOLS)}"
            )
        if settings.kafka_security_protocol.startswith("SASL") and not settings.kafka_username:
            raise SettingsError(
                "BRAIN_KAFKA_SECURITY_PROTOCOL is SASL_*: set BRAIN_KAFKA_USERNAME and _PASSWORD"
            )
        check_replication(settings.kafka_replication_factor, settings.kafka_min_insync_replicas)
        return settings

    @property
    def mqtt(self) -> MqttEndpoint:
        """The broker address with credentials (env overrides the URL's) and TLS files."""
        url = parse_mqtt_url(self.mqtt_url)
        return MqttEndpoint(
            url.host,
            url.port,
            url.tls,
            self.mqtt_username or url.username,
            self.mqtt_password or url.password,
            self.mqtt_ca_file,
            self.mqtt_cert_file,
            self.mqtt_key_file,
        )

    @property
    def mqtt_address(self) -> str:
        """The broker URL without credentials, for messages and logs."""
        e = self.mqtt
        return f"{'mqtts' if e.tls else 'mqtt'}://{e.host}:{e.port}"

    def with_mqtt_url(self, url: str) -> Settings:
        """The same settings for another broker URL (credentials and TLS files from the env still apply)."""
        from dataclasses import replace

        return replace(self, mqtt_url=url)

    def with_replication(
        self, replication_factor: int | None = None, min_insync_replicas: int | None = None
    ) -> Settings:
        """The same settings with a command's `--replication-factor` / `--min-insync-replicas`
        flags (None keeps the environment's value); validated like the variables."""
        from dataclasses import replace

        rf = self.kafka_replication_factor if replication_factor is None else replication_factor
        isr = self.kafka_min_insync_replicas if min_insync_replicas is None else min_insync_replicas
        check_replication(rf, isr, names=("--replication-factor", "--min-insync-replicas"))
        return replace(self, kafka_replication_factor=rf, kafka_min_insync_replicas=isr)

    def kafka_kwargs(self) -> dict[str, Any]:
        """Security settings for kafka-python clients (KafkaProducer, KafkaConsumer, admin)."""
        kwargs: dict[str, Any] = {"security_protocol": self.kafka_security_protocol}
        if self.kafka_security_protocol.startswith("SASL"):
            kwargs.update(
                sasl_mechanism=self.kafka_sasl_mechanism or "PLAIN",
                sasl_plain_username=self.kafka_username,
                sasl_plain_password=self.kafka_password,
            )
        if self.kafka_security_protocol in ("SSL", "SASL_SSL") and self.kafka_ca_file:
            kwargs["ssl_cafile"] = self.kafka_ca_file
        return kwargs

    def librdkafka_config(self) -> dict[str, Any]:
        """The same for confluent-kafka (librdkafka: the bridge's producer), in its key names."""
        names = {
            "security_protocol": "security.protocol",
            "sasl_mechanism": "sasl.mechanism",
            "sasl_plain_username": "sasl.username",
            "sasl_plain_password": "sasl.password",
            "ssl_cafile": "ssl.ca.location",
        }
        return {names[k]: v for k, v in self.kafka_kwargs().items()}

    def aiokafka_kwargs(self) -> dict[str, Any]:
        """The same for aiokafka (faust's client), which takes an SSL context instead of a CA file."""
        kwargs = self.kafka_kwargs()
        cafile = kwargs.pop("ssl_cafile", None)
        if self.kafka_security_protocol in ("SSL", "SASL_SSL"):
            from aiokafka.helpers import create_ssl_context

            kwargs["ssl_context"] = create_ssl_context(cafile=cafile)
        return kwargs
