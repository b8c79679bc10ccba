"""Why the sink could not write a record: one named reason per rule (the dead letter's `reason`).

Part of the dead-letter contract like ingest's reasons: add codes freely, never rename one.
docs/SCHEMA.md lists them.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    PAYLOAD_EMPTY = "payload.empty"  # no value (a tombstone) or zero bytes
    PAYLOAD_BAD_JSON = "payload.bad_json"  # not UTF-8 JSON
    PAYLOAD_NOT_OBJECT = "payload.not_object"  # JSON, but not an object
    KPI_MISSING_FIELD = "kpi.missing_field"  # scope, site, window, start, end or final missing
    KPI_BAD_SCOPE = "kpi.bad_scope"  # not machine|line|site
    KPI_BAD_WINDOW = "kpi.bad_window"  # not 1m|15m|1h|shift|day|all
    KPI_BAD_IDENTITY = "kpi.bad_identity"  # a bad name, or a name the scope needs is null
    KPI_BAD_TIME = "kpi.bad_time"  # start/end not integer epoch ms in range, or end < start
    KPI_BAD_FINAL = "kpi.bad_final"  # final not a boolean
    KPI_BAD_VALUE = "kpi.bad_value"  # a KPI that is neither a finite number nor null
    ALERT_MISSING_RULE = "alert.missing_rule"
    ALERT_MISSING_TS = "alert.missing_ts"  # no ts, and no started/ended to fall back to
    ALERT_BAD_STATE = "alert.bad_state"  # not firing|resolved
    ALERT_BAD_FIELD = "alert.bad_field"  # a known key with a value of the wrong type
    READING_INVALID = "reading.invalid"  # not a Reading v1 (the detail names the field)
    INFLUX_REJECTED = "influx.rejected"  # InfluxDB refused the point itself (HTTP 400/413/422)


ALL_REASONS: tuple[str, ...] = tuple(r.value for r in Reason)
