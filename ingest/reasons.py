"""Why an input was not accepted: one named reason code per validation rule.

Reason codes are part of the dead-letter contract (`brain.deadletter`): dashboards and alerts
group on them, so add new codes freely but never rename one. docs/INGEST.md lists them all.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """A rejection reason. The value (e.g. `"payload.bad_json"`) is what the dead letter carries."""

    # topic
    TOPIC_UNKNOWN = "topic.unknown"  # neither brain/v1/... nor spBv1.0/...
    TOPIC_BAD_SHAPE = "topic.bad_shape"  # right prefix, wrong number of levels
    TOPIC_BAD_LEVEL = "topic.bad_level"  # a level empty or outside [A-Za-z0-9_.-], or too long
    TOPIC_TOO_LONG = "topic.too_long"
    # payload as a whole
    PAYLOAD_EMPTY = "payload.empty"
    PAYLOAD_TOO_LARGE = "payload.too_large"
    PAYLOAD_BAD_JSON = "payload.bad_json"  # not JSON, not UTF-8
    PAYLOAD_BAD_SHAPE = "payload.bad_shape"  # JSON, but not one of the v1 forms
    JSON_TOO_DEEP = "json.too_deep"
    BATCH_TOO_LARGE = "batch.too_large"
    BATCH_EMPTY = "batch.empty"
    BATCH_TOO_MANY_REJECTS = "batch.too_many_rejects"  # the rest of a batch's rejects, summarised
    # one reading
    METRIC_BAD_NAME = "metric.bad_name"
    VALUE_BAD_TYPE = "value.bad_type"  # null, array or object where a scalar is expected
    VALUE_NOT_FINITE = "value.not_finite"  # NaN, Infinity, or a number beyond double range
    VALUE_NOT_NUMBER = (
        "value.not_number"  # a core numeric metric (counter, meter, power) that is not a number
    )
    VALUE_NEGATIVE_COUNTER = "value.negative_counter"
    STATE_UNKNOWN = "state.unknown"  # not a known state name, nor a code the machine's code map maps
    REASON_BAD = "reason.bad"  # a `reason` value that is empty, too long, or not a string or integer
    PACK_METRIC_INVALID = "pack.metric_invalid"  # a metric of the machine's pack: wrong kind or out of bounds
    TS_BAD = "ts.bad"  # not RFC 3339 nor integer epoch milliseconds
    TS_FUTURE = "ts.future"
    TS_TOO_OLD = "ts.too_old"
    UNIT_BAD = "unit.bad"
    SEQ_BAD = "seq.bad"
    # Sparkplug B
    SPARKPLUG_BAD_PAYLOAD = "sparkplug.bad_payload"  # not a Sparkplug B protobuf Payload
    SPARKPLUG_NO_BIRTH = "sparkplug.no_birth"  # DATA/DBIRTH before the (N)BIRTH it depends on
    SPARKPLUG_UNKNOWN_ALIAS = "sparkplug.unknown_alias"  # alias or name the BIRTH did not define
    SPARKPLUG_UNSUPPORTED_TYPE = "sparkplug.unsupported_type"  # DataSet, Template, Bytes, File, arrays
    SPARKPLUG_NULL_VALUE = "sparkplug.null_value"  # is_null or no value in a DATA message


ALL_REASONS: tuple[str, ...] = tuple(r.value for r in Reason)
