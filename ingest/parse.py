"""One entry point for one MQTT message: topic + payload + receive time -> Outcome. Pure.

    from ingest.parse import parse_message
    outcome = parse_message(topic, payload, received_ts, config, sparkplug_state)

Every message ends in readings, dead letters, or `outcome.ignored` (by design: alert topics the
platform publishes itself, Sparkplug commands and host STATE). Nothing raises for bad input.
"""

from __future__ import annotations

from brain.records import Reading
from ingest.config import IngestConfig
from ingest.deadletter import dead_letter
from ingest.outcome import Outcome
from ingest.payloads import parse_v1
from ingest.sparkplug.state import SparkplugState, parse_sparkplug
from ingest.topics import ALERTS_PREFIX, SPARKPLUG_PREFIX, parse_sparkplug_topic, parse_v1_topic
from ingest.validate import Rejected

_DEFAULT_CONFIG = IngestConfig()


def parse_message(
    topic: str,
    payload: bytes,
    received_ts: int,
    config: IngestConfig = _DEFAULT_CONFIG,
    sparkplug: SparkplugState | None = None,
) -> Outcome:
    """Parse and validate one MQTT message. `sparkplug` is updated in place (BIRTH cache)."""
    source = "sparkplug" if topic.startswith(SPARKPLUG_PREFIX) else "mqtt"
    try:
        if source == "sparkplug":
            st = parse_sparkplug_topic(topic)
            if st is None:
                return Outcome(ignored="sparkplug host STATE")
            if sparkplug is None:
                sparkplug = SparkplugState()
            return parse_sparkplug(topic, st, payload, received_ts, config, sparkplug)
        if topic.startswith(ALERTS_PREFIX):
            return Outcome(ignored="platform alert topic")
        return parse_v1(topic, parse_v1_topic(topic), payload, received_ts, config)
    except Rejected as rej:
        return Outcome(
            dead_letters=[dead_letter(topic, payload, rej.reason, rej.detail, received_ts, source)]
        )


def parse_readings(
    topic: str, payload: bytes, received_ts: int, config: IngestConfig = _DEFAULT_CONFIG
) -> list[Reading]:
    """Convenience for tests and tools: the readings only (dead letters dropped)."""
    return parse_message(topic, payload, received_ts, config).readings
