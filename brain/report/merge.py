"""A period without records of its own (a month, an hour range) from the records of its parts. Pure.

The stream writes 1m, 15m, 1h, shift and day records; a month is the sum of its days. KPIs are
never averaged (shared/KPIS.md): each machine record is turned back into the core's partial (its
additive sums: time elements, quantities, PRI·PQ, kWh by time-of-use period, cost), the partials
are merged machine -> line -> site with the core's `merge_all`, and the core's `to_record`
computes the KPIs — the code `brain kpi --window all` runs. Peak demand is the largest 15-minute
block inside the period: the parts (days, hours) are unions of whole blocks, so it is the largest
peak of the parts of that scope (a line's peak is its coincident peak, not a sum of machines').
The result equals `brain kpi --window all --from START --to END` up to the order of float sums
(1e-9 relative; tested).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from brain.plant import Machine, Plant
from processors.kpi import Context, empty, merge_all, to_record


def partial_of(record: dict[str, Any], machine: Machine) -> dict[str, Any]:
    """A machine record -> the partial it was finalized from (the sums `to_record` needs)."""
    p = empty()
    if record["pot_s"] is not None and machine.kind != "meter":
        for key in ("pot", "pdot", "pbt", "apt", "aust", "adet", "adot", "unknown"):
            p[key] = round(record[f"{key}_s"] * 1000)
        p["fe"] = int(record["failures"] or 0)
        p["n_timed"] = 1
    if record["pq"] is not None:
        p["n_count"] = 1
        p["pq"], p["sq"] = record["pq"], record["sq"]
        p["pq_off"] = record.get("pq_unscheduled") or 0.0
    if machine.ideal_cycle_s is not None and p["n_timed"]:
        p["n_pri"] = 1
        p["apt_pri"] = p["apt"]
        p["ideal_s"] = machine.ideal_cycle_s * p["pq"]
        p["ideal_good_s"] = machine.ideal_cycle_s * (p["pq"] - p["sq"])
    if record["energy_kwh"] is not None:
        p["n_energy"] = 1
        p["kwh"] = record["energy_kwh"]
        for period in ("kwh_peak", "kwh_flat", "kwh_valley"):
            p[period] = record[period] or 0.0
        p["cost"] = record["cost"] or 0.0
    if record["energy_kvarh"] is not None:
        p["n_kvar"] = 1
        p["kvarh"] = record["energy_kvarh"]
    return p


def _peak_blocks(records: list[dict[str, Any]]) -> dict[str, float]:
    """Blocks that make `peak_demand_kw` give the largest peak of the parts: one per part, kWh = peak/4."""
    return {str(r["start"]): r["peak_demand_kw"] / 4 for r in records if r["peak_demand_kw"] is not None}


def merged_records(
    plant: Plant,
    parts: list[dict[str, Any]],
    *,
    start: int,
    end: int,
    site: str,
    line: str | None = None,
    ctx: Context | None = None,
) -> list[dict[str, Any]]:
    """Records (window `all`, [start, end)) for the site or line and everything below it, from the
    part records (machine, line and site records of one window kind inside [start, end))."""
    ctx = ctx or Context.from_plant(plant)
    by_scope: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in parts:
        if start <= r["start"] and r["end"] <= end:
            by_scope[(r["scope"], r["line"], r["machine"])].append(r)
    out = []
    site_parts: list[dict[str, Any]] = []
    final_site = True
    for s in plant.sites:
        if s.id != site:
            continue
        for ln in s.lines:
            if line is not None and ln.id != line:
                continue
            line_parts = []
            final_line = True
            for m in ln.machines:
                mine = by_scope.get(("machine", ln.id, m.id), [])
                p = merge_all([partial_of(r, m) for r in mine])
                p["blocks"] = _peak_blocks(mine)
                final = bool(mine) and all(r["final"] for r in mine)
                final_line = final_line and final
                line_parts.append(p)
                out.append(_record(p, ctx, "machine", site, ln.id, m.id, start, end, final))
            lp = merge_all(line_parts)
            lp["blocks"] = _peak_blocks(by_scope.get(("line", ln.id, None), []))
            out.append(_record(lp, ctx, "line", site, ln.id, None, start, end, final_line))
            site_parts.extend(line_parts)
            final_site = final_site and final_line
    if line is None:
        sp = merge_all(site_parts)
        sp["blocks"] = _peak_blocks(by_scope.get(("site", None, None), []))
        out.append(_record(sp, ctx, "site", site, None, None, start, end, final_site))
    out.sort(key=lambda r: (r["start"], r["end"], r["site"], r["line"] or "", r["machine"] or ""))
    return out


def _record(
    p: dict[str, Any],
    ctx: Context,
    scope: str,
    site: str,
    line: str | None,
    machine: str | None,
    start: int,
    end: int,
    final: bool,
) -> dict[str, Any]:
    return to_record(
        p,
        scope=scope,
        site=site,
        line=line,
        machine=machine,
        window="all",
        start=start,
        end=end,
        shift=None,
        final=final,
        ctx=ctx,
    )
