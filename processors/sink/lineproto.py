"""InfluxDB line protocol for the sink's points (pure: no influxdb-client import).

`Point.line()` gives one line, e.g.::

    oee,scope=site,site=s1,window=1m availability=0.9,end=1700000060000i,final=true 1700000000000

Timestamps are epoch milliseconds: write with precision `ms`. Every numeric KPI value is written
as a float (an InfluxDB field keeps the type it was first written with; an integer one time and a
float the next would be rejected), integers only where the schema says so (`end`, `started`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

FieldValue = float | int | bool | str

_KEY_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})
_MEASUREMENT_ESCAPES = str.maketrans({",": r"\,", " ": r"\ "})


class Int(int):
    """An integer field (`123i`); plain ints and floats are written as floats."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Point:
    """One point: measurement, tags (sorted key/value pairs), fields, time in epoch ms.

    `target` is the logical database: "kpi" (KPIs and alerts) or "raw" (telemetry).
    """

    target: str
    measurement: str
    tags: tuple[tuple[str, str], ...]
    fields: dict[str, FieldValue]
    time_ms: int

    @property
    def series(self) -> str:
        """The series key (measurement and tags): with `time_ms`, what a rewrite overwrites."""
        return _series(self.measurement, self.tags)

    def line(self) -> str:
        parts = []
        for key, value in self.fields.items():
            kind = type(value)
            if kind is float:
                text = repr(value)
            elif kind is bool:
                text = "true" if value else "false"
            elif kind is Int:
                text = f"{int.__repr__(value)}i"
            elif kind is str:
                text = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'  # type: ignore[union-attr]
            else:  # a plain int (or an int/float subclass): numbers are floats in this schema
                text = repr(float(value))
            parts.append(f"{_key(key)}={text}")
        return f"{_series(self.measurement, self.tags)} {','.join(parts)} {self.time_ms}"


_KEYS: dict[str, str] = {}


def _key(key: str) -> str:
    escaped = _KEYS.get(key)
    if escaped is None:
        escaped = key.translate(_KEY_ESCAPES)
        if len(_KEYS) < 10_000:
            _KEYS[key] = escaped
    return escaped


@lru_cache(maxsize=65_536)
def _series(measurement: str, tags: tuple[tuple[str, str], ...]) -> str:
    out = measurement.translate(_MEASUREMENT_ESCAPES)
    for key, value in tags:
        out += f",{_key(key)}={value.translate(_KEY_ESCAPES)}"
    return out


def make_tags(**tags: str | None) -> tuple[tuple[str, str], ...]:
    """Tags sorted by key (InfluxDB's preferred order), None values left out."""
    return tuple(sorted((k, v) for k, v in tags.items() if v is not None))
