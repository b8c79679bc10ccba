"""Ingest: MQTT topics and payloads (JSON v1, Sparkplug B) to validated Readings; the MQTT->Kafka bridge.

The pure core (no I/O): `parse_message` -> `Outcome` (readings, dead letters, actions).
The bridge (`ingest.bridge`) is the only module here that imports paho or kafka.
"""

from ingest.config import IngestConfig
from ingest.deadletter import DeadLetter, dead_letter, dead_letter_record
from ingest.outcome import Outcome, Publish
from ingest.parse import parse_message
from ingest.reasons import Reason
from ingest.sparkplug.state import SparkplugState

__all__ = [
    "DeadLetter",
    "IngestConfig",
    "Outcome",
    "Publish",
    "Reason",
    "SparkplugState",
    "dead_letter",
    "dead_letter_record",
    "parse_message",
]
