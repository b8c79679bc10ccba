"""KPI records for a finite set of readings (the `brain kpi` command, tests, backfill).

Runs exactly the streaming code: one MachineFold per configured machine, readings fed in
event-time order, held signals advanced to the end of the last window, then partials per
window merged machine -> line -> site and finalized.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from brain.plant import Plant
from processors.kpi.aggregate import Context, merge_all, window_partials
from processors.kpi.calendar import MINUTE, Window
from processors.kpi.engine import MachineFold
from processors.kpi.finalize import to_record

Row = tuple[str, str, str, str, Any, int]  # site, line, machine, metric, value, ts


@dataclass
class BatchStats:
    readings: int = 0
    unknown_machine: dict[str, int] = field(default_factory=dict)
    late: int = 0
    bad_values: int = 0


def sort_key(rec: dict[str, Any]) -> tuple[Any, ...]:
    """Deterministic order: window start, then site, line, machine (each scope before its parts)."""
    return (rec["start"], rec["end"], rec["site"], rec["line"] or "", rec["machine"] or "")


def compute_records(
    plant: Plant,
    rows: Iterable[Row],
    window: str,
    start: int | None = None,
    end: int | None = None,
    *,
    ctx: Context | None = None,
    stats: BatchStats | None = None,
) -> list[dict[str, Any]]:
    """KPI records (machine, line, site) for every `window` overlapping [start, end).

    Without start/end the range is [first reading, last reading]. `window="all"` gives exactly
    one window [start, end). A machine's state at `start` is its last state before it.
    """
    ctx = ctx or Context.from_plant(plant)
    stats = stats if stats is not None else BatchStats()
    known = {(s.id, ln.id, m.id) for s, ln, m in plant.machines()}
    per: dict[tuple[str, str, str], list[tuple[int, int, str, Any]]] = {k: [] for k in known}
    lo = hi = None
    for i, (site, line, machine, metric, value, ts) in enumerate(rows):
        stats.readings += 1
        key = (site, line, machine)
        bucket = per.get(key)
        if bucket is None:
            name = "/".join(key)
            stats.unknown_machine[name] = stats.unknown_machine.get(name, 0) + 1
            continue
        bucket.append((ts, i, metric, value))
        lo = ts if lo is None or ts < lo else lo
        hi = ts if hi is None or ts > hi else hi
    if start is None:
        start = lo if lo is not None else 0
    if end is None:
        end = hi + 1 if hi is not None else start
    if end <= start:
        return []
    windows = ctx.cal.windows(window, start, end)
    if not windows:
        return []
    horizon = max(w.end for w in windows)
    cuts = tuple(t for t in (windows[0].start, horizon) if t % MINUTE) if window == "all" else ()
    records: list[dict[str, Any]] = []
    line_parts: dict[tuple[str, str], list[list[dict[str, Any]]]] = {}
    site_parts: dict[str, list[list[dict[str, Any]]]] = {}
    for site, line, machine in plant.machines():
        fold = MachineFold(machine, ctx.cal, cuts)
        readings = per[(site.id, line.id, machine.id)]
        readings.sort()
        for ts, _, metric, value in readings:
            fold.feed(metric, value, ts)
        fold.advance(horizon)
        stats.late += fold.late
        stats.bad_values += fold.bad
        parts = window_partials(fold.buckets, windows, machine, ctx)
        line_parts.setdefault((site.id, line.id), []).append(parts)
        site_parts.setdefault(site.id, []).append(parts)
        records.extend(_records(parts, windows, "machine", site.id, line.id, machine.id, ctx))
    for (site_id, line_id), groups in line_parts.items():
        merged = [merge_all([g[i] for g in groups]) for i in range(len(windows))]
        records.extend(_records(merged, windows, "line", site_id, line_id, None, ctx))
    for site_id, groups in site_parts.items():
        merged = [merge_all([g[i] for g in groups]) for i in range(len(windows))]
        records.extend(_records(merged, windows, "site", site_id, None, None, ctx))
    records.sort(key=sort_key)
    return records


def _records(
    parts: list[dict[str, Any]],
    windows: list[Window],
    scope: str,
    site: str,
    line: str | None,
    machine: str | None,
    ctx: Context,
) -> list[dict[str, Any]]:
    return [
        to_record(
            p,
            scope=scope,
            site=site,
            line=line,
            machine=machine,
            window=w.kind,
            start=w.start,
            end=w.end,
            shift=w.shift,
            final=True,
            ctx=ctx,
        )
        for p, w in zip(parts, windows, strict=True)
    ]
