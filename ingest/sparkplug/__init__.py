"""Sparkplug B: topic and payload decoding with a pure BIRTH cache (see state.py)."""

from ingest.sparkplug.mapping import map_identity
from ingest.sparkplug.state import SparkplugState, metric_name, parse_sparkplug, rebirth_request

__all__ = ["SparkplugState", "map_identity", "metric_name", "parse_sparkplug", "rebirth_request"]
