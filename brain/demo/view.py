"""The demo's live terminal view: latest KPIs per line, its top loss and its pack's KPIs under it,
and active alerts (pure: state and packs in, text out)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from brain.demo.losses import Losses
from brain.pack import Kpi, Pack

PACK_KPIS_SHOWN = 4  # a pack's first KPIs (its own order) under its line's row


@dataclass
class LiveState:
    """What the view shows, folded from brain.kpis and brain.alerts records."""

    lines: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # latest 15m line record
    days: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # latest 1h line record
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)  # active alerts by id
    losses: Losses = field(default_factory=Losses)  # the top loss of each line (brain/demo/losses.py)
    kpi_records: int = 0
    alert_events: int = 0
    export_records: int = 0  # records on brain.export (the plant's allowlist, `brain export`)
    # The replayed period ends here (epoch ms): Sparkplug DEATHs at the end of the run are stamped
    # with the receive time, i.e. the real now, and open windows far after the replayed morning.
    until_ms: int | None = None

    def add_kpi(self, record: dict[str, Any]) -> None:
        self.kpi_records += 1
        if record.get("scope") != "line" or (self.until_ms is not None and record["start"] >= self.until_ms):
            return
        self.losses.add_kpi(record)
        key = (record["site"], record["line"])
        target = {"15m": self.lines, "1h": self.days}.get(record.get("window", ""))
        if target is None:
            return
        current = target.get(key)
        if current is None or record["start"] >= current["start"]:
            target[key] = record

    def add_loss(self, record: dict[str, Any]) -> None:
        """A per-reason loss record (brain.losses)."""
        if self.until_ms is None or record.get("start", 0) < self.until_ms:
            self.losses.add_loss(record)

    def add_export(self, record: dict[str, Any]) -> None:
        """A record the factory exported for the city (only counted: it is a KPI record seen already)."""
        self.export_records += 1

    def add_alert(self, event: dict[str, Any]) -> None:
        self.alert_events += 1
        alert_id = event.get("id") or f"{event.get('rule')}:{event.get('site')}"
        if event.get("state") == "firing":
            self.alerts[alert_id] = event
        else:
            self.alerts.pop(alert_id, None)


def _pct(value: Any) -> str:
    return "   -  " if value is None else f"{value * 100:5.1f}%"


def _num(value: Any, fmt: str = "{:,.0f}") -> str:
    return "-" if value is None else fmt.format(value)


def pack_value(kpi: Kpi, value: Any) -> str:
    """A pack KPI in its unit: ratios as percent, large numbers with thousands separators."""
    if value is None:
        return "-"
    if kpi.unit == "ratio":
        return f"{value * 100:.1f}%"
    if kpi.unit == "%":
        return f"{value:.1f}%"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{text} {kpi.unit}".rstrip()


def pack_row(record: dict[str, Any], packs: Iterable[Pack]) -> str | None:
    """`  smt: cph 33,425 1/h · placement_efficiency 83.6% · ...` for the pack whose KPIs the line
    record has (its first PACK_KPIS_SHOWN), or None when it has none."""
    for pack in packs:
        kpis = pack.kpis[:PACK_KPIS_SHOWN]
        if any(record.get(pack.field(k)) is not None for k in pack.kpis):
            items = " · ".join(f"{k.name} {pack_value(k, record.get(pack.field(k)))}" for k in kpis)
            return f"  {pack.id}: {items}"
    return None


def render(
    state: LiveState,
    *,
    tz: ZoneInfo,
    elapsed_s: float,
    total_s: float,
    packs: Iterable[Pack] = (),
    reason_names: dict[str, str] | None = None,
) -> str:
    """One screen: a row per line (latest quarter hour) with its top loss (reason and category,
    minutes over the run) and its pack's KPIs under it, then the active alerts."""
    packs = tuple(packs)
    rows = [
        f"Industrial Brain demo — {elapsed_s:4.0f}/{total_s:.0f} s   KPI records: {state.kpi_records:,}   "
        f"alert events: {state.alert_events}   exported: {state.export_records}",
        "",
        f"{'site/line':<18}{'15 min from':<13}{'OEE':>7}{'A':>8}{'P':>8}{'Q':>8}{'output':>9}"
        f"{'kWh':>9}{'demand kW':>11}{'final':>7}",
    ]
    for key in sorted(set(state.lines) | set(state.days)):
        rec = state.lines.get(key) or state.days[key]
        start = dt.datetime.fromtimestamp(rec["start"] / 1000, tz).strftime("%a %H:%M")
        demand = rec.get("peak_demand_kw")
        if demand is None and rec.get("energy_kwh") is not None and rec.get("window") == "15m":
            demand = rec["energy_kwh"] * 4
        rows.append(
            f"{'/'.join(key):<18}{start:<13}{_pct(rec.get('oee')):>7}{_pct(rec.get('availability')):>8}"
            f"{_pct(rec.get('performance')):>8}{_pct(rec.get('quality')):>8}{_num(rec.get('pq')):>9}"
            f"{_num(rec.get('energy_kwh'), '{:,.1f}'):>9}{_num(demand, '{:,.0f}'):>11}"
            f"{'yes' if rec.get('final') else 'no':>7}"
        )
        top = state.losses.row(key, reason_names)
        if top:
            rows.append(top)
        extra = pack_row(rec, packs)
        if extra:
            rows.append(extra)
    if not state.lines and not state.days:
        rows.append("(waiting for the first quarter-hour KPIs ...)")
    rows += ["", f"active alerts: {len(state.alerts)}"]
    for event in sorted(state.alerts.values(), key=lambda e: str(e.get("id")))[:8]:
        where = "/".join(str(event[k]) for k in ("site", "line", "machine") if event.get(k))
        rows.append(
            f"  [{event.get('severity', '?')}] {event.get('rule')} {where}: {event.get('message_en') or ''}"
        )
    return "\n".join(rows)
