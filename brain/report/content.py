"""The numbers of a report: records -> tiles, chart data, tables, alerts, data quality. Pure.

The result is a plain JSON-able dict; every number any renderer shows (HTML, PNG, XLSX, chat
messages) is in it, and `report.json` is it plus the KPI records it was computed from.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from brain.report.data import ReportData
from brain.report.losses import pareto_rows
from brain.report.text import t

STATE_FIELDS = (
    ("running", "apt_s"),
    ("setup", "aust_s"),
    ("fault", "adet_s"),
    ("idle", "adot_s"),
    ("planned", "pdot_s"),
    ("unknown", "unknown_s"),
)


def _h(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600


def ideal_units(r: dict[str, Any]) -> float | None:
    """Output at the ideal cycle time over the planned busy time, as the dashboards compute it:
    PQ / (availability × performance)."""
    a, p = r.get("availability"), r.get("performance")
    if r.get("pq") is None or not a or not p:
        return None
    return r["pq"] / (a * p)


def _local(ms: int, tz: Any) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz).strftime("%Y-%m-%d %H:%M")


def _title(data: ReportData, lang: str) -> str:
    name = t(f"report.{data.period.kind}", lang)
    return f"{name} · {data.scope.label} · {data.period.label}"


def waterfall(r: dict[str, Any] | None) -> list[dict[str, Any]]:
    """POT -> PBT -> run time -> effective -> good, hours, with the loss between each step."""
    if r is None or r.get("pot_s") is None:
        return []
    pot, pbt, apt = r["pot_s"], r["pbt_s"], r["apt_s"]
    perf, qual = r.get("performance"), r.get("quality")
    effective = apt * perf if perf is not None else None
    good = effective * qual if effective is not None and qual is not None else None
    steps = [("pot", pot), ("pbt", pbt), ("run", apt), ("effective", effective), ("good", good)]
    out = []
    prev = None
    for key, seconds in steps:
        if seconds is None:
            break
        out.append(
            {
                "step": key,
                "hours": seconds / 3600,
                "loss_hours": None if prev is None else (prev - seconds) / 3600,
            }
        )
        prev = seconds
    return out


def _row(r: dict[str, Any]) -> dict[str, Any]:
    down = (
        sum((r.get(f) or 0.0) for f in ("aust_s", "adet_s", "adot_s")) if r.get("pot_s") is not None else None
    )
    return {
        "oee": r["oee"],
        "availability": r["availability"],
        "performance": r["performance"],
        "quality": r["quality"],
        "pq": r["pq"],
        "gq": r["gq"],
        "sq": r["sq"],
        "apt_h": _h(r["apt_s"]),
        "downtime_h": _h(down),
        "unknown_h": _h(r["unknown_s"]),
        "failures": r["failures"],
        "mttr_min": None if r["mttr_s"] is None else r["mttr_s"] / 60,
        "kwh": r["energy_kwh"],
        "sec": r["sec_kwh_per_unit"],
        "peak_kw": r["peak_demand_kw"],
        "cost": r["cost"],
        "co2_kg": r["co2_kg"],
        "final": r["final"],
    }


ROW_COLUMNS = (
    *("oee", "availability", "performance", "quality", "pq", "gq", "sq", "apt_h", "downtime_h"),
    *("unknown_h", "failures", "mttr_min", "kwh", "sec", "peak_kw", "cost", "co2_kg", "final"),
)
UNITS = {"oee": "%", "availability": "%", "performance": "%", "quality": "%"}


def _table(key: str, first: list[tuple[str, str]], rows: list[tuple[list[Any], dict[str, Any]]], lang: str):
    columns = [{"key": k, "label": label} for k, label in first]
    columns += [{"key": c, "label": t(f"col.{c}", lang), "unit": UNITS.get(c)} for c in ROW_COLUMNS]
    return {
        "key": key,
        "title": t(f"table.{key}", lang),
        "columns": columns,
        "rows": [lead + [vals[c] for c in ROW_COLUMNS] for lead, vals in rows],
    }


def build(data: ReportData, lang: str = "en", now_ms: int | None = None) -> dict[str, Any]:
    """The report model (module doc)."""
    plant, period, scope = data.plant, data.period, data.scope
    tz = plant.tz
    rec = data.scope_record()
    site_cfg = next(s for s in plant.sites if s.id == scope.site)
    tariff = plant.tariff
    machines_in_scope = data.timeline_of
    configured = sum(
        1
        for s, ln, _ in plant.machines()
        if s.id == scope.site and (scope.line is None or ln.id == scope.line)
    )
    seen_machines = {(r["line"], r["machine"]) for r in data.summary if r["scope"] == "machine"}
    missing = configured - len(seen_machines)
    silent = silent_machines(data.summary)
    model: dict[str, Any] = {
        "title": _title(data, lang),
        "lang": lang,
        "plant": plant.source,
        "site": scope.site,
        "line": scope.line,
        "scope": scope.level,
        "timezone": plant.timezone,
        "period": {
            "kind": period.kind,
            "label": period.label,
            "shift": period.shift,
            "start": period.start,
            "end": period.end,
            "start_local": _local(period.start, tz),
            "end_local": _local(period.end, tz),
        },
        "source": data.source,
        "source_text": t(f"source.{data.source}", lang),
        "generated_at": _local(now_ms, tz) if now_ms is not None else None,
        "currency": tariff.currency if tariff else "CNY",
        "prices_are_example": bool(tariff and tariff.prices_are_example),
        "empty": rec is None or (bool(seen_machines) and len(silent) == len(seen_machines)),
        "machines_without_data": silent,
    }
    if model["empty"]:
        what = t("site" if scope.line is None else "line", lang) + f" {scope.label}"
        gaps = _missing_text(data) if rec is None else t("no_data.machines", lang, machines=", ".join(silent))
        model["no_data"] = t("no_data.detail", lang, what=what, period=period.label, missing=gaps)
    model["tiles"] = _tiles(rec, data, site_cfg.contracted_demand_kw, lang)
    model["waterfall"] = waterfall(rec)
    basis, pareto = pareto_rows(rec)
    total = sum(s for _, _, s in pareto) or 1.0
    cum = 0.0
    model["pareto"] = {"basis": basis, "basis_text": t(f"pareto.{basis}", lang), "rows": []}
    for name, category, seconds in pareto:
        cum += seconds
        label = (
            t(f"state.{name}" if basis == "element" else f"loss.{name}", lang) if basis != "reason" else name
        )
        model["pareto"]["rows"].append(
            {
                "name": name,
                "label": label,
                "category": category,
                "hours": seconds / 3600,
                "cumulative": cum / total,
            }
        )
    model["output"] = [
        {
            "start": r["start"],
            "label": _local(r["start"], tz)[11 if period.kind != "month" else 5 :][:5],
            "pq": r["pq"],
            "gq": r["gq"],
            "ideal": ideal_units(r),
            "final": r["final"],
        }
        for r in data.series
    ]
    model["demand"] = [
        {"start": r["start"], "label": _local(r["start"], tz)[5:], "kw": r["peak_demand_kw"]}
        for r in data.demand
    ]
    model["contracted_demand_kw"] = site_cfg.contracted_demand_kw
    prices = (tariff.prices if tariff else None) or {}
    model["tou"] = []
    for p in ("peak", "flat", "valley"):
        kwh = rec.get(f"kwh_{p}") if rec else None
        cost = kwh * prices[p] if kwh is not None and p in prices else None
        model["tou"].append(
            {"period": p, "label": t(f"tou.{p}", lang), "kwh": kwh, "price": prices.get(p), "cost": cost}
        )
    model["timeline"] = _timeline(data)
    model["timeline_note"] = (
        t("timeline_subset", lang, n=len(model["timeline"]["machines"]), total=machines_in_scope)
        if len(model["timeline"]["machines"]) < machines_in_scope
        else ""
    )
    model["tables"] = _tables(data, lang)
    model["alerts"] = _alerts(data, lang)
    model["alerts_text"] = (
        t("alerts_na", lang) if data.alerts is None else ("" if model["alerts"] else t("no_alerts", lang))
    )
    model["quality"] = _quality(data, rec, missing, lang)
    return model


def silent_machines(records: list[dict[str, Any]]) -> list[str]:
    """Machines whose record holds no measured data: no state time, no count, no energy."""
    out = []
    for r in records:
        if r["scope"] != "machine":
            continue
        timed = sum(r[f] or 0.0 for f in ("apt_s", "aust_s", "adet_s", "adot_s"))
        if not timed and r["pq"] is None and r["energy_kwh"] is None:
            out.append(f"{r['line']}/{r['machine']}")
    return out


def _missing_text(data: ReportData) -> str:
    parts = []
    if not data.summary:
        parts.append(f"no {data.period.window} records")
    if not data.series:
        parts.append(f"no {data.period.series_window} records")
    if not data.demand:
        parts.append("no 15m records")
    return ", ".join(parts) or "no records of the scope"


def _tiles(rec: dict[str, Any] | None, data: ReportData, contracted: float | None, lang: str) -> list[dict]:
    r = rec or {}
    ideal = ideal_units(r) if rec else None
    tiles = [
        {
            "key": "oee",
            "label": t("tile.oee", lang),
            "value": r.get("oee"),
            "unit": "%",
            "parts": [
                {"label": t(k, lang), "value": r.get(k), "unit": "%"}
                for k in ("availability", "performance", "quality")
            ],
        },
        {
            "key": "output",
            "label": t("tile.output", lang),
            "value": r.get("pq"),
            "unit": "",
            "ideal": ideal,
            "ratio": (r["pq"] / ideal) if ideal and r.get("pq") is not None else None,
        },
        {
            "key": "good",
            "label": t("tile.good", lang),
            "value": r.get("gq"),
            "unit": "",
            "scrap": r.get("sq"),
        },
        {"key": "kwh", "label": t("tile.kwh", lang), "value": r.get("energy_kwh"), "unit": "kWh"},
        {"key": "sec", "label": t("tile.sec", lang), "value": r.get("sec_kwh_per_unit"), "unit": "kWh"},
        {
            "key": "demand",
            "label": t("tile.demand", lang),
            "value": r.get("peak_demand_kw"),
            "unit": "kW",
            "contracted": contracted,
            "ratio": r["peak_demand_kw"] / contracted if contracted and r.get("peak_demand_kw") else None,
        },
        {
            "key": "cost",
            "label": t("tile.cost", lang),
            "value": r.get("cost"),
            "unit": data.plant.tariff.currency if data.plant.tariff else "CNY",
        },
        {"key": "co2", "label": t("tile.co2", lang), "value": r.get("co2_kg"), "unit": "kg"},
    ]
    return tiles


def _timeline(data: ReportData) -> dict[str, Any]:
    """Per machine, per window: seconds in each state (the time elements)."""
    machines: dict[str, list[dict[str, Any]]] = {}
    for r in sorted(data.timeline, key=lambda r: r["start"]):
        if r["pot_s"] is None:
            continue
        machines.setdefault(f"{r['line']}/{r['machine']}", []).append(
            {"start": r["start"], "end": r["end"], **{s: r[f] or 0.0 for s, f in STATE_FIELDS}}
        )
    return {"start": data.period.start, "end": data.period.end, "machines": machines}


def _tables(data: ReportData, lang: str) -> list[dict[str, Any]]:
    tz = data.plant.tz
    out = []
    scope_first = [("name", t("site" if data.scope.line is None else "line", lang))]
    rec = data.scope_record()
    if rec:
        out.append(_table("summary", scope_first, [([data.scope.label], _row(rec))], lang))
    lines = [r for r in data.summary if r["scope"] == "line"]
    if data.scope.line is None and lines:
        out.append(
            _table("lines", [("line", t("line", lang))], [([r["line"]], _row(r)) for r in lines], lang)
        )
    machines = [r for r in data.summary if r["scope"] == "machine"]
    if machines:
        first = [("line", t("line", lang)), ("machine", t("machine", lang))]
        out.append(_table("machines", first, [([r["line"], r["machine"]], _row(r)) for r in machines], lang))
    if data.period.kind == "day" and data.breakdown:
        first = [("shift", t("shift", lang)), ("start", t("col.start", lang))]
        rows = [([r["shift"], _local(r["start"], tz)], _row(r)) for r in data.breakdown]
        out.append(_table("shifts", first, rows, lang))
    key = "days" if data.period.kind == "month" else "hours"
    if data.series:
        rows = [([_local(r["start"], tz)], _row(r)) for r in data.series]
        out.append(_table(key, [("start", t("col.start", lang))], rows, lang))
    return out


def _alerts(data: ReportData, lang: str) -> list[dict[str, Any]]:
    """Alert episodes of the period: the first firing event, and its resolution when it came."""
    if not data.alerts:
        return []
    tz = data.plant.tz
    episodes: dict[tuple, dict[str, Any]] = {}
    for e in data.alerts:
        key = (e.get("id"), e.get("started"))
        ep = episodes.setdefault(
            key,
            {
                "severity": e.get("severity"),
                "rule": e.get("rule"),
                "where": "/".join(x for x in (e.get("site"), e.get("line"), e.get("machine")) if x),
                "started": e.get("started") or e["ts"],
                "ended": None,
                "message": e.get("message") or "",
            },
        )
        if e.get("state") == "resolved":
            ep["ended"] = e.get("ended") or e["ts"]
    out = []
    for ep in sorted(episodes.values(), key=lambda x: x["started"]):
        ep["duration_min"] = (ep["ended"] - ep["started"]) / 60_000 if ep["ended"] else None
        ep["started_local"] = _local(ep["started"], tz)
        ep["ended_local"] = _local(ep["ended"], tz) if ep["ended"] else t("firing", lang)
        out.append(ep)
    return out


def _quality(data: ReportData, rec: dict[str, Any] | None, missing: int, lang: str) -> dict[str, Any]:
    pot = (rec or {}).get("pot_s") or 0.0
    unknown = (rec or {}).get("unknown_s") or 0.0
    provisional = sum(1 for r in data.records() if not r["final"])
    notes = []
    if data.uncovered_years:
        source = data.plant.calendar.source
        notes.append(t("dq.calendar", lang, source=source, years=", ".join(map(str, data.uncovered_years))))
    return {
        "unknown_h": unknown / 3600,
        "unknown_share": unknown / pot if pot else None,
        "deadletters": data.deadletters,
        "deadletters_counted": data.deadletters is not None,
        "provisional_records": provisional,
        "machines_without_records": missing,
        "machines_without_data": silent_machines(data.summary),
        "notes": notes,
    }
