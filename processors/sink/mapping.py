"""Records -> InfluxDB points (pure). The schema is docs/SCHEMA.md; this module is its code.

- KPI record v1 (`brain.kpis`) -> `oee` point, plus an `energy` point when any energy KPI is set,
  plus one point per pack with a non-null `<pack>_<kpi>` field, in measurement `<pack id>`.
- alert event (`brain.alerts`) -> `alert` point.
- Reading v1 (`brain.readings`) -> `telemetry` point.

A record that can never be written raises `Rejected(reason, detail)`; the sink dead-letters it.
Nothing here does I/O or imports kafka or influxdb.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import orjson

from brain.pack_registry import available
from brain.records import Reading, RecordError
from brain.vocabulary import (
    ALERT_STATES,
    KPI_IDENTITY_FIELDS,
    KPI_OUTPUT_FIELDS,
    KPI_QUANTITY_FIELDS,
    KPI_TIME_FIELDS,
    SCOPES,
    WINDOW_KINDS,
)
from processors.sink.lineproto import FieldValue, Int, Point, make_tags
from processors.sink.reasons import Reason

KPI, RAW = "kpi", "raw"  # logical targets: the KPI database/bucket and the raw one

WINDOWS = WINDOW_KINDS  # a record of `brain kpi --window all` may be written too

# Written even when null (as 0.0): see "Corrections and nulls" in docs/SCHEMA.md.
ALWAYS_WRITTEN = KPI_TIME_FIELDS + KPI_QUANTITY_FIELDS
OEE_FIELDS = KPI_TIME_FIELDS + KPI_QUANTITY_FIELDS + KPI_OUTPUT_FIELDS
ENERGY_FIELDS = (
    "energy_kwh",
    "energy_kvarh",
    "avg_kw",
    "peak_demand_kw",
    "power_factor",
    "load_factor",
    "sec_kwh_per_unit",
    "sec_kwh_per_pq",
    "co2_kg",
    "cost",
    "kwh_peak",
    "kwh_flat",
    "kwh_valley",
)
_NOT_EXTRA = frozenset(KPI_IDENTITY_FIELDS + OEE_FIELDS + ENERGY_FIELDS)
_REQUIRED = ("scope", "site", "window", "start", "end", "final")

# InfluxDB stores nanoseconds in an int64: the last representable millisecond is in 2262.
MAX_MS = 9_223_372_036_853
MAX_DETAIL_CHARS = 500


class Rejected(ValueError):
    """A record the sink can never write; `reason` is a `Reason`, `detail` says what and where."""

    def __init__(self, reason: Reason, detail: str) -> None:
        if len(detail) > MAX_DETAIL_CHARS:
            detail = detail[: MAX_DETAIL_CHARS - 1] + "…"
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


def decode(payload: bytes | None) -> dict[str, Any]:
    """One Kafka message value -> a JSON object, or Rejected."""
    if not payload:
        raise Rejected(Reason.PAYLOAD_EMPTY, "the message has no value")
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise Rejected(Reason.PAYLOAD_BAD_JSON, f"not UTF-8 JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Rejected(Reason.PAYLOAD_NOT_OBJECT, f"expected a JSON object, found {type(data).__name__}")
    return data


def _name(value: Any) -> bool:
    """A usable tag value: a non-empty string without line breaks that does not end in a backslash."""
    return (
        isinstance(value, str)
        and value != ""
        and "\n" not in value
        and "\r" not in value
        and not value.endswith("\\")
    )


def _epoch_ms(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and (not math.isfinite(value) or value != int(value)):
        return None
    value = int(value)
    return value if 0 <= value <= MAX_MS else None


@lru_cache(maxsize=1)
def pack_fields() -> dict[str, str]:
    """KPI record field -> the measurement of its pack (the pack id): rows of the installed packs."""
    return {pack.field(kpi): pack.id for pack in available().values() for kpi in pack.kpis}


def _not_number(name: str, value: Any) -> str:
    return f"kpi.{name}: expected a finite number or null, found {value!r}"


def _number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


# ---------------------------------------------------------------------------------------------- KPIs


def kpi_points(record: dict[str, Any]) -> list[Point]:
    """A KPI record v1 -> [oee], [oee, energy], then one point per pack with data (in pack id
    order). Raises Rejected naming the rule."""
    for name in _REQUIRED:
        if name not in record:
            raise Rejected(Reason.KPI_MISSING_FIELD, f"kpi: missing required field {name!r}")
    scope, window = record["scope"], record["window"]
    if scope not in SCOPES:
        raise Rejected(Reason.KPI_BAD_SCOPE, f"kpi.scope: expected machine|line|site, found {scope!r}")
    if window not in WINDOWS:
        raise Rejected(
            Reason.KPI_BAD_WINDOW, f"kpi.window: expected one of {'|'.join(WINDOWS)}, found {window!r}"
        )
    ident: dict[str, str | None] = {}
    for name in ("site", "line", "machine", "shift"):
        value = record.get(name)
        if value is not None and not _name(value):
            raise Rejected(Reason.KPI_BAD_IDENTITY, f"kpi.{name}: expected a name or null, found {value!r}")
        ident[name] = value
    if ident["site"] is None:
        raise Rejected(Reason.KPI_BAD_IDENTITY, "kpi.site: must not be null")
    needed = {"machine": ("line", "machine"), "line": ("line",), "site": ()}[scope]
    for name in needed:
        if ident[name] is None:
            raise Rejected(Reason.KPI_BAD_IDENTITY, f"kpi.{name}: must not be null for scope {scope!r}")
    start, end = _epoch_ms(record["start"]), _epoch_ms(record["end"])
    if start is None or end is None:
        bad = "start" if start is None else "end"
        raise Rejected(
            Reason.KPI_BAD_TIME, f"kpi.{bad}: expected integer epoch milliseconds, found {record[bad]!r}"
        )
    if end < start:
        raise Rejected(Reason.KPI_BAD_TIME, f"kpi: end {end} is before start {start}")
    final = record["final"]
    if not isinstance(final, bool):
        raise Rejected(Reason.KPI_BAD_FINAL, f"kpi.final: expected true or false, found {final!r}")

    tags = make_tags(
        scope=scope,
        site=ident["site"],
        line=ident["line"],
        machine=ident["machine"],
        window=window,
        shift=ident["shift"],
    )
    oee: dict[str, FieldValue] = {}
    for name in OEE_FIELDS:
        value = record.get(name)
        if value is None:
            if name in ALWAYS_WRITTEN:
                oee[name] = 0.0
            continue
        if not _number(value):
            raise Rejected(Reason.KPI_BAD_VALUE, _not_number(name, value))
        oee[name] = float(value)
    of_pack = pack_fields()
    packs: dict[str, dict[str, FieldValue]] = {}
    for name, value in record.items():  # extras: numbers and flags beyond v1 (docs/KPI.md); packs
        if name in _NOT_EXTRA or value is None or not _name(name):
            continue
        pack = of_pack.get(name)
        if pack is not None:
            if not _number(value):
                raise Rejected(Reason.KPI_BAD_VALUE, _not_number(name, value))
            packs.setdefault(pack, {})[name] = float(value)
        elif isinstance(value, bool):
            oee[name] = value
        elif isinstance(value, (int, float)):
            if not math.isfinite(value):
                raise Rejected(Reason.KPI_BAD_VALUE, f"kpi.{name}: expected a finite number, found {value!r}")
            oee[name] = float(value)
    energy: dict[str, FieldValue] = {}
    for name in ENERGY_FIELDS:
        value = record.get(name)
        if value is None:
            continue
        if not _number(value):
            raise Rejected(Reason.KPI_BAD_VALUE, _not_number(name, value))
        energy[name] = float(value)
    meta: dict[str, FieldValue] = {"final": final, "end": Int(end)}
    points = [Point(KPI, "oee", tags, oee | meta, start)]
    if energy:
        points.append(Point(KPI, "energy", tags, energy | meta, start))
    for pack in sorted(packs):
        points.append(Point(KPI, pack, tags, packs[pack] | {"final": final}, start))
    return points


# -------------------------------------------------------------------------------------------- alerts

_ALERT_TAGS = ("severity", "scope", "site", "line", "machine")


def alert_point(event: dict[str, Any]) -> Point:
    """An alert event (firing or resolved) -> one `alert` point. Unknown keys are ignored."""
    rule = event.get("rule")
    if not _name(rule):
        raise Rejected(Reason.ALERT_MISSING_RULE, f"alert.rule: expected a rule name, found {rule!r}")
    state = event.get("state")
    if state not in ALERT_STATES:
        raise Rejected(Reason.ALERT_BAD_STATE, f"alert.state: expected firing or resolved, found {state!r}")
    tags: dict[str, str | None] = {"rule": rule, "state": state}
    for name in _ALERT_TAGS:
        value = event.get(name)
        if value is not None and not _name(value):
            raise Rejected(Reason.ALERT_BAD_FIELD, f"alert.{name}: expected a name or null, found {value!r}")
        tags[name] = value
    fields: dict[str, FieldValue] = {}
    for name in ("id", "message"):
        value = event.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise Rejected(Reason.ALERT_BAD_FIELD, f"alert.{name}: expected a string, found {value!r}")
        fields[name] = str(value)
    for name in ("value", "threshold"):
        value = event.get(name)
        if value is None:
            continue
        if not _number(value):
            raise Rejected(Reason.ALERT_BAD_FIELD, f"alert.{name}: expected a finite number, found {value!r}")
        fields[name] = float(value)
    times: dict[str, int] = {}
    for name in ("ts", "started", "ended"):
        value = event.get(name)
        if value is None:
            continue
        ms = _epoch_ms(value)
        if ms is None:
            raise Rejected(
                Reason.ALERT_BAD_FIELD, f"alert.{name}: expected integer epoch milliseconds, found {value!r}"
            )
        times[name] = ms
        if name != "ts":
            fields[name] = Int(ms)
    fallback = ("ended", "started") if state == "resolved" else ("started", "ended")
    ts = times.get("ts", times.get(fallback[0], times.get(fallback[1])))
    if ts is None:
        raise Rejected(Reason.ALERT_MISSING_TS, "alert: no ts (nor started/ended to fall back to)")
    if not fields:
        raise Rejected(Reason.ALERT_BAD_FIELD, "alert: nothing to write (id, value, ...)")
    return Point(KPI, "alert", make_tags(**tags), fields, ts)


# ------------------------------------------------------------------------------------------ readings


def reading_point(data: dict[str, Any]) -> Point:
    """A Reading v1 -> one `telemetry` point: `value` (float; bools 0/1) or `value_str`."""
    try:
        reading = Reading.from_dict(data)
    except RecordError as exc:
        raise Rejected(Reason.READING_INVALID, str(exc)) from None
    for name in ("site", "line", "machine", "metric"):
        if not _name(getattr(reading, name)):
            raise Rejected(Reason.READING_INVALID, f"reading.{name}: not usable as a tag value")
    if not 0 <= reading.ts <= MAX_MS:
        raise Rejected(Reason.READING_INVALID, f"reading.ts: {reading.ts} is out of range")
    value = reading.value
    field: dict[str, FieldValue] = {"value_str": value} if isinstance(value, str) else {"value": float(value)}
    tags = make_tags(site=reading.site, line=reading.line, machine=reading.machine, metric=reading.metric)
    return Point(RAW, "telemetry", tags, field, reading.ts)


# ------------------------------------------------------------------------------------------ dispatch

KINDS: dict[str, Callable[[dict[str, Any]], list[Point]]] = {
    "kpis": kpi_points,
    "alerts": lambda event: [alert_point(event)],
    "readings": lambda data: [reading_point(data)],
}


def to_points(kind: str, payload: bytes | None) -> list[Point]:
    """A Kafka message value of a topic kind ("kpis", "alerts", "readings") -> its points."""
    return KINDS[kind](decode(payload))
