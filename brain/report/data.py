"""The KPI records a report is made of, from InfluxDB (what the dashboards show) or from a readings
file (the KPI core, as `brain kpi`). Both sources answer the same question — the records of one
window kind whose window starts in [start, stop) — so the report cannot tell them apart.

- tiles, loss waterfall, Pareto, per-line and per-machine tables: the period's window (`shift`,
  `day`; `all` for a month or an hour range, merged from its days or hours: merge.py);
- output per hour (per day for a month): `1h` (`day`) records of the scope;
- 15-minute demand curve: `15m` records of the scope;
- state timeline: `15m` (`day` for a month) records of at most `TIMELINE_MAX` machines, the ones
  with the most lost time;
- by shift (day report) / by day (month report): `shift` / `day` records of the scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from brain.plant import Plant
from brain.report.merge import merged_records
from brain.report.period import Period, Scope
from processors.kpi import Calendar, compute_records
from processors.kpi.batch import Row, sort_key

TIMELINE_MAX = 24
DAY_MS = 86_400_000


class Source(Protocol):
    name: str

    def records(
        self,
        *,
        site: str,
        window: str,
        start: int,
        stop: int,
        scopes: Iterable[str],
        line: str | None = None,
        machines: Iterable[str] | None = None,
    ) -> list[dict[str, Any]]: ...

    def alerts(self, *, site: str, start: int, stop: int) -> list[dict[str, Any]] | None: ...


@dataclass
class ReadingsSource:
    """Records computed from readings with the KPI core (`compute_records`, as `brain kpi`)."""

    plant: Plant
    rows: list[Row]
    name: str = "file"
    cache: dict[tuple[str, int, int], list[dict[str, Any]]] = field(default_factory=dict)

    def records(self, *, site, window, start, stop, scopes, line=None, machines=None):
        key = (window, start, stop)
        if key not in self.cache:
            self.cache[key] = compute_records(self.plant, self.rows, window, start, stop)
        wanted, names = set(scopes), None if machines is None else set(machines)
        return [
            r
            for r in self.cache[key]
            if start <= r["start"] < stop
            and r["site"] == site
            and r["scope"] in wanted
            and (line is None or r["scope"] == "site" or r["line"] == line)
            and (names is None or r["scope"] != "machine" or r["machine"] in names)
        ]

    def alerts(self, *, site, start, stop):
        return None  # alerts are decided on the stream (brain.alerts), not in a readings file


@dataclass
class InfluxSource:
    plant: Plant
    reader: Any  # brain.report.influx.InfluxReader
    name: str = "influxdb"

    def records(self, **query: Any) -> list[dict[str, Any]]:
        return self.reader.records(self.plant, **query)

    def alerts(self, *, site: str, start: int, stop: int) -> list[dict[str, Any]]:
        return self.reader.alerts(site=site, start=start, stop=stop)


@dataclass
class ReportData:
    plant: Plant
    period: Period
    scope: Scope
    source: str
    summary: list[dict[str, Any]]
    series: list[dict[str, Any]]
    demand: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    breakdown: list[dict[str, Any]]
    alerts: list[dict[str, Any]] | None
    timeline_of: int = 0  # machines in scope (the timeline shows at most TIMELINE_MAX)
    deadletters: int | None = None
    uncovered_years: list[int] = field(default_factory=list)

    def records(self) -> list[dict[str, Any]]:
        """Every KPI record the report used, once, in `brain kpi`'s order."""
        seen: dict[tuple, dict[str, Any]] = {}
        for r in (*self.summary, *self.series, *self.demand, *self.timeline, *self.breakdown):
            seen[(r["window"], r["start"], r["end"], r["scope"], r["site"], r["line"], r["machine"])] = r
        return sorted(seen.values(), key=lambda r: (r["window"], *sort_key(r)))

    def scope_record(self, records: list[dict[str, Any]] | None = None) -> dict[str, Any] | None:
        for r in self.summary if records is None else records:
            if r["scope"] == self.scope.level and (self.scope.line is None or r["line"] == self.scope.line):
                return r
        return None


def _machines(plant: Plant, scope: Scope) -> list[tuple[str, str]]:
    """(line, machine) of the scope's machines with time elements (meters have none)."""
    return [
        (ln.id, m.id)
        for s, ln, m in plant.machines()
        if s.id == scope.site and (scope.line is None or ln.id == scope.line) and m.kind != "meter"
    ]


def collect(plant: Plant, period: Period, scope: Scope, source: Source) -> ReportData:
    """Every record (and alert) the report of `period` for `scope` shows."""
    cal = Calendar.from_plant(plant)
    site, line = scope.site, scope.line
    levels = ("machine", "line", "site") if line is None else ("machine", "line")
    own = (scope.level,)
    a, b = period.start, period.end
    if period.window == "all" and isinstance(source, ReadingsSource):
        summary = source.records(site=site, window="all", start=a, stop=b, scopes=levels, line=line)
    elif period.window == "all":
        parts = source.records(
            site=site, window=period.parts_window, start=a, stop=b, scopes=levels, line=line
        )
        summary = merged_records(plant, parts, start=a, end=b, site=site, line=line)
    else:
        summary = source.records(
            site=site, window=period.window, start=a, stop=a + 1, scopes=levels, line=line
        )
    hour_floor = cal.floor(a, 3_600_000)
    series_start = a if period.series_window == "day" else hour_floor
    series = source.records(
        site=site, window=period.series_window, start=series_start, stop=b, scopes=own, line=line
    )
    demand = source.records(
        site=site, window="15m", start=cal.floor(a, 900_000), stop=b, scopes=own, line=line
    )
    machines = _machines(plant, scope)
    chosen = _worst(summary, machines)
    tl_window = "day" if period.kind == "month" else "15m"
    timeline = source.records(
        site=site,
        window=tl_window,
        start=cal.floor(a, 900_000),
        stop=b,
        scopes=("machine",),
        line=line,
        machines=sorted({m for _, m in chosen}),
    )
    wanted = set(chosen)
    timeline = [r for r in timeline if (r["line"], r["machine"]) in wanted]
    breakdown: list[dict[str, Any]] = []
    if period.kind == "day" and plant.shifts:
        shifts = source.records(site=site, window="shift", start=a - DAY_MS, stop=b, scopes=own, line=line)
        breakdown = [r for r in shifts if r["end"] > a]
    elif period.kind == "month":
        breakdown = series
    alerts = source.alerts(site=site, start=a, stop=b)
    if alerts is not None and line is not None:
        alerts = [e for e in alerts if e.get("line") in (None, line)]
    return ReportData(
        plant=plant,
        period=period,
        scope=scope,
        source=source.name,
        summary=summary,
        series=series,
        demand=demand,
        timeline=timeline,
        breakdown=breakdown,
        alerts=alerts,
        timeline_of=len(machines),
        uncovered_years=cal.uncovered_years(a, b),
    )


def _worst(summary: list[dict[str, Any]], machines: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The machines of the timeline: all, or the TIMELINE_MAX with the most lost time (POT − APT)."""
    if len(machines) <= TIMELINE_MAX:
        return machines
    lost = {
        (r["line"], r["machine"]): (r["pot_s"] or 0) - (r["apt_s"] or 0)
        for r in summary
        if r["scope"] == "machine"
    }
    ranked = sorted(machines, key=lambda k: -lost.get(k, 0.0))[:TIMELINE_MAX]
    order = {k: i for i, k in enumerate(machines)}
    return sorted(ranked, key=order.__getitem__)
