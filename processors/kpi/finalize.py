"""Finalize (result): a partial + identity -> one KPI record v1 (a flat dict in the order of
brain.vocabulary.KPI_RECORD_FIELDS: the v1 fields, then the documented extras)."""

from __future__ import annotations

from typing import Any

from brain.vocabulary import KPI_RECORD_FIELDS
from processors.kpi.aggregate import Context
from processors.kpi.energy import energy_kpis
from processors.kpi.oee import good_quantity, output_kpis
from processors.kpi.packs import pack_fields

_TIME = (
    ("pot_s", "pot"),
    ("pdot_s", "pdot"),
    ("pbt_s", "pbt"),
    ("apt_s", "apt"),
    ("aust_s", "aust"),
    ("adet_s", "adet"),
    ("adot_s", "adot"),
    ("unknown_s", "unknown"),
)


def to_record(
    p: dict[str, Any],
    *,
    scope: str,
    site: str,
    line: str | None,
    machine: str | None,
    window: str,
    start: int,
    end: int,
    shift: str | None,
    final: bool,
    ctx: Context,
) -> dict[str, Any]:
    timed = p["n_timed"] > 0
    counted = p["n_count"] > 0
    rec: dict[str, Any] = {
        "scope": scope,
        "site": site,
        "line": line,
        "machine": machine,
        "window": window,
        "start": start,
        "end": end,
        "shift": shift,
        "final": final,
    }
    for name, key in _TIME:
        rec[name] = p[key] / 1000 if timed else None
    rec["pq"] = p["pq"] if counted else None
    rec["sq"] = p["sq"] if counted else None
    rec["gq"] = good_quantity(p["pq"], p["sq"]) if counted else None
    rec["failures"] = p["fe"] if timed else None
    out = output_kpis(p, end - start)
    energy = energy_kpis(p, start, end, ctx.grid_factor, ctx.tou.prices is not None)
    rec.update(out)
    rec.update(energy)
    rec["pq_unscheduled"] = p["pq_off"] if counted else None
    out = {k: rec[k] for k in KPI_RECORD_FIELDS}
    if ctx.packs:
        out.update(pack_fields(p, ctx.packs))  # `<pack>_<kpi>`: processors/kpi/packs.py
    return out
