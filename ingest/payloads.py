"""The v1 JSON payload forms, parsed and validated into Readings. Pure: the caller passes receive time.

Single metric, topic `brain/v1/{site}/{line}/{machine}/{metric}`:
  - a bare JSON number, string or bool: `12.3`, `"running"`, `true`
  - an object: `{"value": 12.3, "ts": <RFC 3339 or epoch ms>, "unit": "kW", "seq": 17}`
Batch, topic `brain/v1/{site}/{line}/{machine}`:
  - `{"ts": ..., "metrics": {"power_kw": 12.3, "state": "running", ...}}` (optional `seq` applies
    to every reading of the batch)

A batch with some bad metrics: the good readings are accepted, each bad metric becomes its own
dead letter naming the metric and the reason (up to `max_dead_letters_per_message`, the rest in
one `batch.too_many_rejects`). What is wrong with the message as a whole (JSON, shape, ts, size)
rejects the whole message with one dead letter.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from brain.records import Reading
from ingest.config import IngestConfig
from ingest.deadletter import dead_letter
from ingest.outcome import Outcome, reject_each
from ingest.reasons import Reason
from ingest.topics import V1Topic
from ingest.validate import (
    Rejected,
    check_seq,
    check_ts,
    check_unit,
    check_value,
    json_depth_exceeds,
    make_reading,
    name_match,
    parse_ts,
)

SOURCE = "mqtt"
_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError
_SINGLE_KEYS = frozenset({"value", "ts", "unit", "seq"})
_BATCH_KEYS = frozenset({"metrics", "ts", "seq"})
_I64_MIN, _U64_MAX = -(2**63), 2**64 - 1


def _json_int(text: str) -> int | float:
    """An integer literal as orjson reads it: exact within 64 bits, else a float (inf beyond double
    range), so the slow path agrees with the fast one and never builds a huge int."""
    if len(text) <= 20:
        n = int(text)
        if _I64_MIN <= n <= _U64_MAX:
            return n
    return float(text)


def decode_json(payload: bytes, config: IngestConfig) -> Any:
    """JSON bytes to Python; NaN/Infinity literals (not JSON, but devices send them) decode to
    non-finite floats so that the value rule can name them; raise Rejected otherwise."""
    try:
        return _loads(payload)
    except _JSONDecodeError as exc:
        message = str(exc)
    if "recursion" in message:
        raise Rejected(Reason.JSON_TOO_DEEP, f"JSON nested deeper than the parser allows ({message})")
    if b"NaN" in payload or b"Infinity" in payload or "infinity" in message:
        try:  # the standard library accepts NaN, Infinity and overflows to inf; orjson does not
            doc = json.loads(payload.decode("utf-8"), parse_int=_json_int)
            try:
                orjson.dumps(doc)  # what json accepts beyond that (lone surrogates) must not reach Kafka
            except orjson.JSONEncodeError as exc:  # nesting orjson cannot write (> 255) is too deep
                if "ecursion" in str(exc):
                    raise Rejected(Reason.JSON_TOO_DEEP, "JSON nested too deep") from None
                raise
            return doc
        except RecursionError:
            raise Rejected(Reason.JSON_TOO_DEEP, "JSON nested too deep") from None
        except (ValueError, TypeError):
            pass
    raise Rejected(Reason.PAYLOAD_BAD_JSON, message)


def parse_v1(topic: str, t: V1Topic, payload: bytes, received_ts: int, config: IngestConfig) -> Outcome:
    """Parse one `brain/v1/...` message whose topic already parsed to `t`."""
    out = Outcome()
    try:
        if not payload:
            raise Rejected(Reason.PAYLOAD_EMPTY, "empty payload")
        if len(payload) > config.max_payload_bytes:
            raise Rejected(
                Reason.PAYLOAD_TOO_LARGE, f"payload {len(payload)} bytes > {config.max_payload_bytes}"
            )
        doc = decode_json(payload, config)
        if t.metric is None:
            _batch(topic, t, payload, doc, received_ts, config, out)
        else:
            out.readings.append(_single(t, doc, received_ts, config))
    except Rejected as rej:
        out.dead_letters.append(dead_letter(topic, payload, rej.reason, rej.detail, received_ts, SOURCE))
    return out


def _single(t: V1Topic, doc: Any, received_ts: int, config: IngestConfig) -> Reading:
    metric = t.metric
    assert metric is not None
    if type(doc) is dict:
        if "value" not in doc:
            raise Rejected(Reason.PAYLOAD_BAD_SHAPE, 'object form needs a "value" key')
        if len(doc) > 4 or not _SINGLE_KEYS.issuperset(doc):
            for extra in doc.values():
                if (type(extra) is dict or type(extra) is list) and json_depth_exceeds(
                    extra, config.max_json_depth - 1
                ):
                    raise Rejected(Reason.JSON_TOO_DEEP, f"JSON nested deeper than {config.max_json_depth}")
        value = doc["value"]
        raw_ts = doc.get("ts")
        ts = received_ts if raw_ts is None else check_ts(parse_ts(raw_ts), received_ts, config)
        unit = check_unit(doc.get("unit"), config)
        seq = check_seq(doc.get("seq"))
    elif type(doc) is list:
        raise Rejected(Reason.PAYLOAD_BAD_SHAPE, "expected a bare value or an object, found an array")
    else:
        value, ts, unit, seq = doc, received_ts, None, None
    if (type(value) is dict or type(value) is list) and json_depth_exceeds(value, config.max_json_depth - 1):
        raise Rejected(Reason.JSON_TOO_DEEP, f"JSON nested deeper than {config.max_json_depth}")
    value = check_value(metric, value, t.machine_key, config)
    return make_reading(t.site, t.line, t.machine, metric, value, ts, unit, received_ts, SOURCE, seq)


def _batch(
    topic: str, t: V1Topic, payload: bytes, doc: Any, received_ts: int, config: IngestConfig, out: Outcome
) -> None:
    if type(doc) is not dict or type(metrics := doc.get("metrics")) is not dict:
        raise Rejected(Reason.PAYLOAD_BAD_SHAPE, 'batch form is {"ts": ..., "metrics": {name: value, ...}}')
    if not metrics:
        raise Rejected(Reason.BATCH_EMPTY, "batch has no metrics")
    if len(metrics) > config.max_batch_metrics:
        raise Rejected(
            Reason.BATCH_TOO_LARGE, f"batch of {len(metrics)} metrics > {config.max_batch_metrics}"
        )
    if len(doc) > 3 or not _BATCH_KEYS.issuperset(doc):
        for name, extra in doc.items():
            if (
                name != "metrics"
                and (type(extra) is dict or type(extra) is list)
                and json_depth_exceeds(extra, config.max_json_depth - 1)
            ):
                raise Rejected(Reason.JSON_TOO_DEEP, f"JSON nested deeper than {config.max_json_depth}")
    raw_ts = doc.get("ts")
    ts = received_ts if raw_ts is None else check_ts(parse_ts(raw_ts), received_ts, config)
    seq = check_seq(doc.get("seq"))
    site, line, machine, key = t.site, t.line, t.machine, t.machine_key
    readings = out.readings
    append = readings.append
    rejects: list[tuple[str, Rejected]] = []
    inner_depth = config.max_json_depth - 2
    for metric, value in metrics.items():
        try:
            if not name_match(metric):
                raise Rejected(
                    Reason.METRIC_BAD_NAME,
                    f"metric name {metric!r:.80} must be 1..64 chars of [A-Za-z0-9_.-]",
                )
            if (type(value) is dict or type(value) is list) and json_depth_exceeds(value, inner_depth):
                raise Rejected(
                    Reason.JSON_TOO_DEEP, f"{metric}: JSON nested deeper than {config.max_json_depth}"
                )
            value = check_value(metric, value, key, config)
        except Rejected as rej:
            rejects.append((metric, rej))
            continue
        append(make_reading(site, line, machine, metric, value, ts, None, received_ts, SOURCE, seq))
    if rejects:
        reject_each(topic, payload, rejects, received_ts, config, out, SOURCE)
