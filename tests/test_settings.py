"""Connection settings from the environment: defaults, TLS, credentials, Kafka security, errors."""

from __future__ import annotations

import pytest

from brain.settings import Settings, SettingsError
from processors.runtime.faust_app import broker_credentials


def test_defaults_match_brain_stack() -> None:
    s = Settings.from_env({})
    assert (s.mqtt.host, s.mqtt.port, s.mqtt.tls) == ("127.0.0.1", 1883, False)
    assert s.kafka_bootstrap == "127.0.0.1:9092" and s.influx_url == "http://127.0.0.1:8086"
    assert s.kafka_kwargs() == {"security_protocol": "PLAINTEXT"} and broker_credentials(s) == {}


def test_mqtts_credentials_from_env_override_the_url_and_stay_out_of_repr() -> None:
    s = Settings.from_env(
        {
            "BRAIN_MQTT_URL": "mqtts://old:secret1@broker.example",
            "BRAIN_MQTT_USERNAME": "sip",
            "BRAIN_MQTT_PASSWORD": "secret2",
            "BRAIN_MQTT_CA_FILE": "/etc/ca.crt",
        }
    )
    endpoint = s.mqtt
    assert (endpoint.host, endpoint.port, endpoint.tls, endpoint.username) == (
        "broker.example",
        8883,
        True,
        "sip",
    )
    assert endpoint.password == "secret2" and endpoint.ca_file == "/etc/ca.crt"
    assert "secret" not in repr(s) and "secret" not in repr(endpoint)


def test_kafka_sasl_ssl() -> None:
    s = Settings.from_env(
        {
            "BRAIN_KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
            "BRAIN_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "BRAIN_KAFKA_USERNAME": "brain",
            "BRAIN_KAFKA_PASSWORD": "pw",
        }
    )
    kw = s.kafka_kwargs()
    assert kw == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "brain",
        "sasl_plain_password": "pw",
    }
    assert "ssl_context" in s.aiokafka_kwargs()
    assert "broker_credentials" in broker_credentials(s)
    assert s.librdkafka_config() == {  # the bridge's producer (confluent-kafka)
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "brain",
        "sasl.password": "pw",
    }
    with_ca = Settings.from_env({"BRAIN_KAFKA_SECURITY_PROTOCOL": "SSL", "BRAIN_KAFKA_CA_FILE": "/ca.pem"})
    assert with_ca.librdkafka_config() == {"security.protocol": "SSL", "ssl.ca.location": "/ca.pem"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BRAIN_MQTT_URL": "http://x"}, "BRAIN_MQTT_URL='http://x': expected mqtt://host:port"),
        ({"BRAIN_MQTT_URL": "mqtt://h:99999"}, "BRAIN_MQTT_URL='mqtt://h:99999': bad port"),
        (
            {"BRAIN_INFLUX_URL": "127.0.0.1:8086"},
            "BRAIN_INFLUX_URL='127.0.0.1:8086': expected http(s)://host:port",
        ),
        (
            {"BRAIN_KAFKA_SECURITY_PROTOCOL": "TLS"},
            "BRAIN_KAFKA_SECURITY_PROTOCOL='TLS': expected one of PLAINTEXT",
        ),
        ({"BRAIN_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}, "set BRAIN_KAFKA_USERNAME"),
        ({"BRAIN_KAFKA_BOOTSTRAP": " "}, "BRAIN_KAFKA_BOOTSTRAP is empty"),
        (
            {"BRAIN_KAFKA_REPLICATION_FACTOR": "three"},
            "BRAIN_KAFKA_REPLICATION_FACTOR='three': expected an integer >= 1",
        ),
        (
            {"BRAIN_KAFKA_REPLICATION_FACTOR": "0"},
            "BRAIN_KAFKA_REPLICATION_FACTOR='0': expected an integer >= 1",
        ),
        (
            {"BRAIN_KAFKA_MIN_INSYNC_REPLICAS": "-1"},
            "BRAIN_KAFKA_MIN_INSYNC_REPLICAS='-1': expected an integer",
        ),
        (
            {"BRAIN_KAFKA_REPLICATION_FACTOR": "2", "BRAIN_KAFKA_MIN_INSYNC_REPLICAS": "3"},
            "BRAIN_KAFKA_MIN_INSYNC_REPLICAS=3 is more than BRAIN_KAFKA_REPLICATION_FACTOR=2",
        ),
        ({"BRAIN_KAFKA_MIN_INSYNC_REPLICAS": "2"}, "BRAIN_KAFKA_MIN_INSYNC_REPLICAS=2 is more than"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    assert message in str(info.value)


def test_replication_defaults_to_one_and_reads_the_cluster_values() -> None:
    assert (
        Settings.from_env({}).kafka_replication_factor,
        Settings.from_env({}).kafka_min_insync_replicas,
    ) == (1, 1)
    s = Settings.from_env({"BRAIN_KAFKA_REPLICATION_FACTOR": " 3 ", "BRAIN_KAFKA_MIN_INSYNC_REPLICAS": "2"})
    assert (s.kafka_replication_factor, s.kafka_min_insync_replicas) == (3, 2)


def test_replication_flags_override_the_environment_and_are_validated() -> None:
    s = Settings.from_env({"BRAIN_KAFKA_REPLICATION_FACTOR": "3", "BRAIN_KAFKA_MIN_INSYNC_REPLICAS": "2"})
    assert s.with_replication(None, None) == s
    one = s.with_replication(1, 1)
    assert (one.kafka_replication_factor, one.kafka_min_insync_replicas) == (1, 1)
    with pytest.raises(SettingsError, match="--min-insync-replicas=2 is more than --replication-factor=1"):
        s.with_replication(1, None)
    with pytest.raises(SettingsError, match="--replication-factor=0: expected an integer >= 1"):
        s.with_replication(0, 1)
