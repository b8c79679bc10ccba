"""The v1 Reading every component exchanges (canonical telemetry); the KPI record's field names
are words of brain/vocabulary.py.

Readings travel as JSON objects; `Reading` is the typed, validated in-process form. Keep this
module free of I/O and of third-party imports: the ingest parsers and the KPI core both use it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

Value = float | int | str | bool

READING_REQUIRED = ("site", "line", "machine", "metric", "value", "ts")
READING_OPTIONAL = ("unit", "received_ts", "source", "seq")


class RecordError(ValueError):
    """A record that does not match its v1 contract; the message names the field."""


@dataclass(frozen=True, slots=True)
class Reading:
    """One measurement of one metric of one machine at one event time (epoch ms)."""

    site: str
    line: str
    machine: str
    metric: str
    value: Value
    ts: int
    unit: str | None = None
    received_ts: int | None = None
    source: str | None = None
    seq: int | None = None

    @property
    def key(self) -> str:
        """The Kafka key: one machine's readings stay in one partition, in order."""
        return f"{self.site}/{self.line}/{self.machine}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "site": self.site,
            "line": self.line,
            "machine": self.machine,
            "metric": self.metric,
            "value": self.value,
            "ts": self.ts,
        }
        for name in READING_OPTIONAL:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Reading:
        """Validate a decoded JSON object against Reading v1; raise RecordError naming the field."""
        if not isinstance(data, dict):
            raise RecordError(f"reading: expected a JSON object, found {type(data).__name__}")
        for name in READING_REQUIRED:
            if name not in data:
                raise RecordError(f"reading: missing required field {name!r}")
        for name in ("site", "line", "machine", "metric"):
            if not isinstance(data[name], str) or not data[name]:
                raise RecordError(f"reading.{name}: expected a non-empty string, found {data[name]!r}")
        value = data["value"]
        if isinstance(value, float) and not math.isfinite(value):
            raise RecordError(f"reading.value: expected a finite number, found {value!r}")
        if not isinstance(value, (int, float, str, bool)):
            raise RecordError(f"reading.value: expected a number, string or bool, found {value!r}")
        ts = _epoch_ms(data["ts"], "ts")
        received_ts = (
            None if data.get("received_ts") is None else _epoch_ms(data["received_ts"], "received_ts")
        )
        unit = data.get("unit")
        if unit is not None and not isinstance(unit, str):
            raise RecordError(f"reading.unit: expected a string, found {unit!r}")
        source = data.get("source")
        if source is not None and not isinstance(source, str):
            raise RecordError(f"reading.source: expected a string, found {source!r}")
        seq = data.get("seq")
        if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int)):
            raise RecordError(f"reading.seq: expected an integer, found {seq!r}")
        return cls(
            data["site"],
            data["line"],
            data["machine"],
            data["metric"],
            value,
            ts,
            unit,
            received_ts,
            source,
            seq,
        )


def _epoch_ms(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RecordError(f"reading.{name}: expected epoch milliseconds (integer), found {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise RecordError(f"reading.{name}: expected integer epoch milliseconds, found {value!r}")
        value = int(value)
    return value
