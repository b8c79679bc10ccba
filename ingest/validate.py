"""Validation of one reading: value rules per metric, event-time skew, unit and seq. Pure.

Every rule raises `Rejected` with a named `Reason`. The fast path (a valid reading) raises
nothing and allocates little: the parsers call these functions once per reading.
"""

from __future__ import annotations

import math
import re
from dataclasses import fields
from datetime import datetime
from functools import lru_cache
from typing import Any

from brain import vocabulary
from brain.pack import Metric
from brain.records import Reading, Value
from brain.vocabulary import MAX_REASON_CHARS, REASON
from ingest.config import IngestConfig
from ingest.reasons import Reason

# Core vocabulary (ARCHITECTURE.md, MQTT contract v1). A machine's pack adds its metrics (checked by
# kind and bounds, check_pack_value); a metric neither core nor of the machine's pack passes as
# generic telemetry (only the generic rules: a finite scalar, a string of bounded length).
STATES = frozenset(vocabulary.STATES)
_KINDS = vocabulary.CORE_METRICS
COUNTER_METRICS = frozenset(m for m, kind in _KINDS.items() if kind == vocabulary.COUNTER)
NUMERIC_METRICS = COUNTER_METRICS | {m for m, kind in _KINDS.items() if kind == vocabulary.GAUGE}

_NUMBERS = frozenset((int, float))  # not bool: true is not a count

NAME_CHARS = "A-Za-z0-9_.-"
MAX_LEVEL_CHARS = 64
name_match = re.compile(rf"[{NAME_CHARS}]{{1,{MAX_LEVEL_CHARS}}}\Z").match


class Rejected(Exception):
    """One input broke one rule."""

    __slots__ = ("detail", "reason")

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


def check_value(metric: str, value: Any, machine_key: str, config: IngestConfig) -> Value:
    """Return the value to store for `metric` (a state code becomes its name) or raise Rejected."""
    kind = type(value)
    if kind is float:
        if value != value or value in (math.inf, -math.inf):
            raise Rejected(Reason.VALUE_NOT_FINITE, f"{metric}: {value!r} is not a finite number")
    elif kind is not int and kind is not str and kind is not bool:
        if isinstance(value, (int, float, str)):  # subclasses (IntEnum and the like): normalise
            return check_value(metric, _plain(value), machine_key, config)
        raise Rejected(
            Reason.VALUE_BAD_TYPE, f"{metric}: expected a number, string or bool, found {_kind(value)}"
        )
    if metric in NUMERIC_METRICS:
        if kind is bool or kind is str:
            raise Rejected(Reason.VALUE_NOT_NUMBER, f"{metric}: expected a number, found {value!r:.60}")
        if value < 0 and metric in COUNTER_METRICS:
            raise Rejected(Reason.VALUE_NEGATIVE_COUNTER, f"{metric}: cumulative value {value!r} is negative")
        return value
    if metric == "state":
        return _state(value, machine_key, config)
    if metric == REASON:
        return _reason(value, machine_key, config)
    specs = config.pack_metrics.get(machine_key)
    if specs is not None:
        spec = specs.get(metric)
        if spec is not None:
            check_pack_value(spec[0], spec[1], value)
    if kind is str and len(value) > config.max_string_chars:
        raise Rejected(Reason.VALUE_BAD_TYPE, f"{metric}: string longer than {config.max_string_chars} chars")
    return value


_RULE = {
    vocabulary.COUNTER: "a counter must be a number >= 0",
    vocabulary.GAUGE: "a gauge must be a number",
    vocabulary.SAMPLE: "a sample must be a number",
    vocabulary.FLAG: "a flag must be true, false, 0 or 1",
    vocabulary.TEXT: "a text metric must be a string",
}


def pack_value_problem(m: Metric, value: Any) -> str | None:
    """What is wrong with `value` for pack metric `m` (its kind, bounds and values), or None.

    Shared by the bridge (a dead letter) and the KPI fold (skipped and counted as bad)."""
    kind = m.kind
    cls = value.__class__
    if kind == vocabulary.TEXT:
        if cls is not str:
            return _RULE[kind]
        if m.values and value not in m.values:
            return f"a text metric must be one of {', '.join(m.values)}"
        return None
    if kind == vocabulary.FLAG:
        return None if cls is bool or (cls in _NUMBERS and value in (0, 1)) else _RULE[kind]
    if cls not in _NUMBERS or value != value:
        return _RULE[kind]
    if kind == vocabulary.COUNTER:
        return None if value >= 0 else _RULE[kind]
    lo, hi = m.minimum, m.maximum
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        return f"a {kind} must be a number in {_range(lo, hi)}"
    return None


def _range(lo: float | None, hi: float | None) -> str:
    return f"[{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}]"


def check_pack_value(pack_id: str, m: Metric, value: Any) -> None:
    """Raise Rejected (pack.metric_invalid, naming the pack and the metric) for a bad pack value."""
    problem = pack_value_problem(m, value)
    if problem is not None:
        raise Rejected(
            Reason.PACK_METRIC_INVALID, f"{pack_id} metric {m.name}: {problem}, found {value!r:.60}"
        )


def _plain(value: Any) -> Value:
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", type(None): "null"}.get(type(value), type(value).__name__)


def _state(value: Any, machine_key: str, config: IngestConfig) -> str:
    kind = type(value)
    if kind is str:
        if value in STATES:
            return value
        code = value
    elif kind is int:
        code = str(value)
    elif kind is float and value.is_integer():
        code = str(int(value))
    else:
        raise Rejected(Reason.STATE_UNKNOWN, f"state: {value!r:.60} is neither a state name nor a code")
    codes = config.state_codes.get(machine_key)
    name = None if codes is None else codes.get(code)
    if name is None:
        where = "no state code map" if codes is None else "its state code map has no such code"
        raise Rejected(Reason.STATE_UNKNOWN, f"state: {value!r:.40} is not a state name nor a code ({where})")
    return name


def _reason(value: Any, machine_key: str, config: IngestConfig) -> str:
    """A reason code as a non-empty string: integers (3, 3.0, "3") in their canonical form, mapped
    through the machine's reason_codes when it has the code; any other code is kept as it is."""
    kind = type(value)
    if kind is int:
        code = str(value)
    elif kind is float and value.is_integer():
        code = str(int(value))
    elif kind is str:
        code = value
        if not code.strip():
            raise Rejected(Reason.REASON_BAD, "reason: an empty code")
    else:
        raise Rejected(Reason.REASON_BAD, f"reason: expected a string or integer code, found {value!r:.40}")
    if len(code) > MAX_REASON_CHARS:
        raise Rejected(Reason.REASON_BAD, f"reason: code longer than {MAX_REASON_CHARS} chars")
    codes = config.reason_codes.get(machine_key)
    if codes is not None:
        return codes.get(code, code)
    return code


def parse_ts(raw: Any) -> int:
    """Event time from a payload: integer epoch milliseconds or an RFC 3339 string with an offset."""
    kind = type(raw)
    if kind is int:
        return raw
    if kind is float:
        if math.isfinite(raw):
            return int(raw)
        raise Rejected(Reason.TS_BAD, f"ts: {raw!r} is not a finite number")
    if kind is str:
        return _rfc3339_ms(raw)
    raise Rejected(Reason.TS_BAD, f"ts: expected epoch milliseconds or RFC 3339, found {_kind(raw)}")


@lru_cache(maxsize=4096)
def _rfc3339_ms(text: str) -> int:
    if len(text) > 40 or len(text) < 20 or text[10] not in "Tt ":
        raise Rejected(Reason.TS_BAD, f"ts: {text!r:.50} is not an RFC 3339 date-time")
    leap = 0
    parsed = text if text[-1] != "z" else f"{text[:-1]}Z"  # RFC 3339 allows a lower-case z
    if parsed[17:19] == "60" and parsed[16] == ":":  # RFC 3339 leap second (23:59:60Z): the next second
        parsed, leap = f"{parsed[:17]}59{parsed[19:]}", 1000
    try:
        dt = datetime.fromisoformat(parsed)
    except ValueError:
        raise Rejected(Reason.TS_BAD, f"ts: {text!r:.50} is not an RFC 3339 date-time") from None
    if dt.tzinfo is None:
        raise Rejected(Reason.TS_BAD, f"ts: {text!r:.50} has no UTC offset (add Z or +08:00)")
    return (dt.toordinal() - 719163) * 86_400_000 + _day_ms(dt) + leap


def _day_ms(dt: datetime) -> int:
    offset = dt.utcoffset()
    off_ms = (
        0 if offset is None else (offset.days * 86400 + offset.seconds) * 1000 + offset.microseconds // 1000
    )
    return (dt.hour * 3600 + dt.minute * 60 + dt.second) * 1000 + dt.microsecond // 1000 - off_ms


def check_ts(ts: int, received_ts: int, config: IngestConfig) -> int:
    """Event time within the allowed skew of receive time (older allowed in backfill mode)."""
    if ts - received_ts > config.max_future_ms:
        raise Rejected(Reason.TS_FUTURE, f"ts {ts} is {(ts - received_ts) // 1000} s ahead of receive time")
    if received_ts - ts > config.max_past_ms and not config.backfill:
        hint = " (epoch seconds? ts is epoch milliseconds)" if 0 < ts < 100_000_000_000 else ""
        raise Rejected(Reason.TS_TOO_OLD, f"ts {ts} is {(received_ts - ts) // 1000} s old{hint}")
    return ts


def check_unit(unit: Any, config: IngestConfig) -> str | None:
    if unit is None or (type(unit) is str and 0 < len(unit) <= config.max_unit_chars):
        return unit
    raise Rejected(Reason.UNIT_BAD, f"unit: expected a string of 1..{config.max_unit_chars} chars")


def check_seq(seq: Any) -> int | None:
    if seq is None or (type(seq) is int and seq >= 0):
        return seq
    raise Rejected(Reason.SEQ_BAD, f"seq: expected a non-negative integer, found {seq!r:.30}")


def json_depth_exceeds(obj: Any, limit: int) -> bool:
    """True if `obj` nests containers deeper than `limit` (a scalar is depth 0, [] or {} depth 1)."""
    stack = [(obj, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if type(item) is dict else item
        for child in children:
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))
    return False


# A fast Reading constructor: frozen slots dataclasses pay ~2 µs per instance for the frozen
# __setattr__ dance; setting the slots directly costs a third of that and builds an equal object.
_READING_FIELDS = ("site", "line", "machine", "metric", "value", "ts", "unit", "received_ts", "source", "seq")
if tuple(f.name for f in fields(Reading)) == _READING_FIELDS:
    _new = object.__new__
    _s0, _s1, _s2, _s3, _s4, _s5, _s6, _s7, _s8, _s9 = (getattr(Reading, n).__set__ for n in _READING_FIELDS)

    def make_reading(
        site: str, line: str, machine: str, metric: str, value: Value, ts: int,
        unit: str | None, received_ts: int | None, source: str | None, seq: int | None,
    ) -> Reading:  # fmt: skip
        r = _new(Reading)
        _s0(r, site)
        _s1(r, line)
        _s2(r, machine)
        _s3(r, metric)
        _s4(r, value)
        _s5(r, ts)
        _s6(r, unit)
        _s7(r, received_ts)
        _s8(r, source)
        _s9(r, seq)
        return r

else:  # pragma: no cover - Reading changed shape: stay correct, lose the shortcut
    make_reading = Reading  # type: ignore[assignment]
