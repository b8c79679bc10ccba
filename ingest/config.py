"""What the pure ingest code needs to know: limits, per-machine state code maps, Sparkplug mapping.

Everything has a default, so `IngestConfig()` is a working configuration. The bridge builds one
from its options and the plant configuration (see `ingest/plantconfig.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from brain.pack import Metric

KIB = 1024
MINUTE_MS = 60_000
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class IngestConfig:
    """Validation limits and lookup tables. Frozen: build a new one to change it."""

    max_payload_bytes: int = 256 * KIB
    max_json_depth: int = 8  # a batch is depth 2 ({"metrics": {...}}); anything deeper is suspicious
    max_batch_metrics: int = 1000
    max_dead_letters_per_message: int = 20  # further rejects of one batch: one summary dead letter
    max_string_chars: int = 256  # string values (and state names)
    max_unit_chars: int = 32
    max_future_ms: int = 5 * MINUTE_MS
    max_past_ms: int = 7 * DAY_MS
    backfill: bool = False  # accept event times older than max_past_ms (replays, backfills)
    # "site/line/machine" -> {code: state name}; codes as strings: 3, 3.0 and "3" all look up "3",
    # non-numeric codes ("RUN") as they are (the same canonical form as brain.plant.Machine.state_codes)
    state_codes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # "site/line/machine" -> {numeric code: reason code}, the same canonical code form as state_codes;
    # a code without a mapping is kept as it is (the KPI core labels it unmapped:<code>)
    reason_codes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # "group/edge/device" or "group/edge" -> "site/line/machine"; default rule in ingest/sparkplug/mapping.py
    sparkplug_map: Mapping[str, str] = field(default_factory=dict)
    # "site/line/machine" -> {metric: (pack id, its row)}: the machine's pack metrics, checked by
    # kind and bounds (ingest/validate.py check_pack_value); a machine without a pack has no entry
    pack_metrics: Mapping[str, Mapping[str, tuple[str, Metric]]] = field(default_factory=dict)
    rebirth_interval_ms: int = 5_000  # at most one rebirth request per edge node in this interval
