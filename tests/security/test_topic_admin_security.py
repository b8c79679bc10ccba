"""The commands that create topics use the Kafka security settings (SASL/TLS), not a plain client.

No SASL broker runs here, so the proof is the other way round: told to speak TLS to the
plaintext broker, topic creation must fail — it used to ignore the settings and succeed."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from brain.settings import Settings
from brain.stack.servers import ensure_topics
from processors.cli import prepare_topics
from processors.options import ProcessorOptions

pytestmark = pytest.mark.stack

TLS = {"security_protocol": "SSL", "request_timeout_ms": 3000, "api_version_auto_timeout_ms": 3000}


def test_ensure_topics_uses_the_client_settings(stack: Settings) -> None:
    name = f"test.sec.{uuid.uuid4().hex[:8]}"
    with pytest.raises(Exception):  # noqa: B017 - kafka-python's error for a failed TLS bootstrap varies
        ensure_topics(stack.kafka_bootstrap, {name: 1}, TLS)
    ensure_topics(stack.kafka_bootstrap, {name: 1}, {"security_protocol": "PLAINTEXT"})


def test_prepare_topics_uses_the_client_settings(stack: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import functools

    import kafka

    # the real client, with the first test's shorter timeouts: a TLS handshake with the plaintext
    # broker then fails in ~3 s instead of ~30 s
    short = functools.partial(kafka.KafkaAdminClient, bootstrap_timeout_ms=3000, request_timeout_ms=3000)
    monkeypatch.setattr(kafka, "KafkaAdminClient", short)
    tag = uuid.uuid4().hex[:8]
    ensure_topics(stack.kafka_bootstrap, {f"test.sec.{tag}.in": 2})
    t = f"test.sec.{tag}"
    opts = ProcessorOptions(app_id=f"test-sec-{tag}", input_topic=f"{t}.in", output_topic=f"{t}.out",
                            late_topic=f"{t}.late")  # fmt: skip
    tls = dataclasses.replace(stack, kafka_security_protocol="SSL")
    with pytest.raises(Exception):  # noqa: B017
        prepare_topics(tls, opts)
    assert prepare_topics(stack, opts) == 2
