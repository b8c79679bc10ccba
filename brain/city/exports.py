"""What arrives at the city: export records, their validation and their identity.

An export record is a factory KPI record (docs/SCHEMA.md, epoch-ms `start`/`end`) of the allowlisted
windows, stamped with `enterprise`. The batch command and the city stream service both call
`validate_export` / `validate_for_register`, so a dead-lettered record carries the same reason in
both. Fields the city does not use are ignored, not rejected (the allowlist is the factory's job).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from brain import vocabulary
from brain.vocabulary import SCOPES

if TYPE_CHECKING:
    from brain.city.register import Register

EXPORT_WINDOWS: Final = vocabulary.EXPORT_WINDOWS  # one owner: what a factory may export
# the numeric fields the city reads (brain/vocabulary.py names); each must be a finite number >= 0 or null
EXPORT_NUMBERS: Final = (
    "energy_kwh",
    "co2_kg",
    "cost",
    "pq",
    "gq",
    "sq",
    "pot_s",
    "unknown_s",
    "oee",
    "availability",
)
REQUIRED: Final = ("enterprise", "scope", "site", "window", "start", "end")
_ID = re.compile(r"^[A-Za-z0-9_.-]+$")
_MAX_MS = 253_402_300_799_000  # 9999-12-31

ExportKey = tuple[str, str, str, str, str, int]


def export_key(record: Mapping[str, Any]) -> ExportKey:
    """Identity of an export: (enterprise, scope, site, line, window, start); the last received wins."""
    return (
        record["enterprise"],
        record["scope"],
        record["site"],
        record.get("line") or "",
        record["window"],
        record["start"],
    )


def validate_export(record: Any) -> str | None:
    """None for a usable export record, else the dead-letter reason (`export.<code>: detail`)."""
    if not isinstance(record, Mapping):
        return f"export.not_object: a JSON object expected, found {type(record).__name__}"
    for name in REQUIRED:
        if record.get(name) is None:
            return f"export.missing_field: {name}"
    for name in ("enterprise", "site"):
        if not isinstance(record[name], str) or not _ID.match(record[name]):
            return f"export.bad_id: {name} {record[name]!r}"
    if record["scope"] not in SCOPES:
        return f"export.bad_scope: {record['scope']!r} (one of {', '.join(SCOPES)})"
    if record["scope"] != "site" and not isinstance(record.get("line"), str):
        return f"export.missing_field: line (scope {record['scope']})"
    if record["window"] not in EXPORT_WINDOWS:
        return f"export.bad_window: {record['window']!r} (one of {', '.join(EXPORT_WINDOWS)})"
    start, end = record["start"], record["end"]
    for value in (start, end):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_MS:
            return f"export.bad_time: start/end must be epoch ms, found {value!r}"
    if end <= start:
        return f"export.bad_time: end {end} <= start {start}"
    for name in EXPORT_NUMBERS:
        value = record.get(name)
        if value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
        ):
            return f"export.bad_number: {name} {value!r} (a finite number >= 0 or null)"
    return None


def validate_for_register(record: Any, register: Register, source: str | None = None) -> str | None:
    """`validate_export`, then: is the enterprise in the register, and (when the stream knows which
    enterprise's topic `<enterprise>.brain.export` the record came from) is it that enterprise?"""
    reason = validate_export(record)
    if reason is not None:
        return reason
    if record["enterprise"] not in register.by_id:
        return f"city.unknown_enterprise: {record['enterprise']!r} is not in the register"
    if source is not None and record["enterprise"] != source:
        return f"city.enterprise_mismatch: {record['enterprise']!r} arrived on {source!r}'s topic"
    return None
