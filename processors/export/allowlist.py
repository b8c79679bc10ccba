"""The export allowlist, pure: one KPI record -> the record that may leave the factory, or None.

The plant config's `export` (brain/plant/export.py) names the scopes, windows and fields that
leave. Only `final` KPI records pass (a correction of a final window is final again and passes
again, under the same identity key, so the city keeps the latest). What passes carries the
identity fields, the allowlisted fields and `enterprise`, nothing else: every other field is
dropped and counted. A payload that is not a KPI record (a reading, a bad message) never passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from brain.city.exports import export_key, validate_export
from brain.plant.export import Export
from brain.vocabulary import KPI_IDENTITY_FIELDS, SCOPES, WINDOWS

# why a KPI record does not leave (counted, not dead-lettered: it is not wrong, only not shared)
NOT_FINAL, SCOPE, WINDOW = "not_final", "scope_not_allowed", "window_not_allowed"
SKIPS = (NOT_FINAL, SCOPE, WINDOW)
# why a message is dead-lettered (wrong, not merely not shared)
NOT_KPI = "export.not_kpi"


@dataclass(frozen=True, slots=True)
class Outcome:
    """`record` to send (None: nothing leaves); `skipped`: one of SKIPS; `rejected`: a dead-letter
    reason; `dropped`: the record's fields that the allowlist kept back."""

    record: dict[str, Any] | None = None
    skipped: str | None = None
    rejected: str | None = None
    dropped: tuple[str, ...] = ()


def not_kpi(record: Any) -> str | None:
    """None for something shaped like a KPI record (docs/SCHEMA.md), else why not."""
    if not isinstance(record, Mapping):
        return f"{NOT_KPI}: a JSON object expected, found {type(record).__name__}"
    if record.get("scope") not in SCOPES:
        return f"{NOT_KPI}: scope {record.get('scope')!r} (one of {', '.join(SCOPES)})"
    if record.get("window") not in WINDOWS:
        return f"{NOT_KPI}: window {record.get('window')!r} (one of {', '.join(WINDOWS)})"
    if not isinstance(record.get("final"), bool):
        return f"{NOT_KPI}: final {record.get('final')!r} (a boolean)"
    return None


def filter_record(record: Any, export: Export) -> Outcome:
    """Apply the allowlist to one decoded KPI record."""
    reason = not_kpi(record)
    if reason is not None:
        return Outcome(rejected=reason)
    if record["window"] not in export.windows:
        return Outcome(skipped=WINDOW)
    if record["scope"] not in export.scopes:
        return Outcome(skipped=SCOPE)
    if record["final"] is not True:
        return Outcome(skipped=NOT_FINAL)
    allowed = export.fields
    out: dict[str, Any] = {"enterprise": export.enterprise}
    out.update((k, record[k]) for k in KPI_IDENTITY_FIELDS if k in record)
    out.update((k, record[k]) for k in allowed if k in record)
    dropped = tuple(k for k in record if k not in out and k != "enterprise")
    if "enterprise" in record:  # a factory record never names an enterprise: ours replaces it
        dropped += ("enterprise",)
    reason = validate_export(out)  # the city's own check: what it would dead-letter, we do here
    if reason is not None:
        return Outcome(rejected=reason, dropped=dropped)
    return Outcome(record=out, dropped=dropped)


def key_bytes(record: Mapping[str, Any]) -> bytes:
    """The Kafka key of an export record: its identity key (brain/city/exports.py), `/`-joined."""
    return "/".join(str(part) for part in export_key(record)).encode()
