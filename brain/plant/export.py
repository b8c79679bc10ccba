"""The plant config's `export` key: what this factory lets leave for the park or city.

    export:
      enterprise: ent-042            # required: the id the city's register knows this factory by
      scopes: [site, line]           # default; `machine` only if listed
      windows: [day]                 # default; `1h` allowed
      fields: [energy_kwh, co2_kg]   # default: brain/vocabulary.py EXPORT_DEFAULT_FIELDS

An allowlist, not a filter to tune: a field not named here never leaves (docs/FEDERATION.md).
Absent key: nothing is exported (`Plant.export` is None).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from brain.vocabulary import (
    EXPORT_DEFAULT_FIELDS,
    EXPORT_DEFAULT_WINDOWS,
    EXPORT_IDENTITY_FIELDS,
    EXPORT_SCOPES,
    EXPORT_WINDOWS,
    KPI_RECORD_FIELDS,
    SCOPES,
)


@dataclass(frozen=True, slots=True)
class Export:
    enterprise: str
    scopes: tuple[str, ...] = EXPORT_SCOPES
    windows: tuple[str, ...] = EXPORT_DEFAULT_WINDOWS
    fields: tuple[str, ...] = EXPORT_DEFAULT_FIELDS


def parse_export(v: Any, data: Any, path: str = "export") -> Export | None:
    """Validate the `export` mapping with the plant validator `v` (brain/plant/validate.py `_V`)."""
    if data is None:
        return None
    d = v.mapping(data, path, required=("enterprise",), optional=("scopes", "windows", "fields"))
    enterprise = v.ident(d["enterprise"], f"{path}.enterprise")
    scopes = _names(v, d.get("scopes", list(EXPORT_SCOPES)), f"{path}.scopes", SCOPES)
    windows = _names(v, d.get("windows", list(EXPORT_DEFAULT_WINDOWS)), f"{path}.windows", EXPORT_WINDOWS)
    # identity fields always go; listing them is allowed but adds nothing
    known = tuple(f for f in KPI_RECORD_FIELDS if f not in EXPORT_IDENTITY_FIELDS)
    fields = _names(v, d.get("fields", list(EXPORT_DEFAULT_FIELDS)), f"{path}.fields", known, empty=True)
    return Export(enterprise, scopes, windows, fields)


def _names(v: Any, data: Any, path: str, allowed: tuple[str, ...], empty: bool = False) -> tuple[str, ...]:
    items = v.list(data, path)
    if not items and not empty:
        raise v.fail(path, "at least one of " + ", ".join(allowed), items)
    out: list[str] = []
    for i, name in enumerate(items):
        if name not in allowed:
            raise v.fail(f"{path}[{i}]", "one of " + ", ".join(allowed), name)
        if name in out:
            raise v.fail(f"{path}[{i}]", "each name once", name)
        out.append(name)
    return tuple(out)
