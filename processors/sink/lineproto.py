"""InfluxDB line protocol for the sink's points (pure: no influxdb-client import).

`Point.line()` gives one line, e.g.::

    oee,scope=site,site=s1,window=1m availability=0.9,end=1700000060000i,final=true 1700000000000

Timestamps are epoch milliseconds: write with precision `ms`. Every numeric KPI value is written
as a float (an InfluxDB field keeps the type it was first written with; an integer one time and a
float the next would be rejected), integers only where the schema says so (`end`, `started`).
"""

from __future__ import annotations

from dataclasses import dataclass

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
        fields = ",".join(f"{k.translate(_KEY_ESCAPES)}={_field(v)}" for k, v in self.fields.items())
        return f"{self.series} {fields} {self.time_ms}"


def _series(measurement: str, tags: tuple[tuple[str, str], ...]) -> str:
    out = measurement.translate(_MEASUREMENT_ESCAPES)
    for key, value in tags:
        out += f",{key.translate(_KEY_ESCAPES)}={value.translate(_KEY_ESCAPES)}"
    return out


def _field(value: FieldValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Int):
        return f"{int(value)}i"
    if isinstance(value, (int, float)):
        return repr(float(value))
    text = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def make_tags(**tags: str | None) -> tuple[tuple[str, str], ...]:
    """Tags sorted by key (InfluxDB's preferred order), None values left out."""
    return tuple(sorted((k, v) for k, v in tags.items() if v is not None))
