"""One dashboard per industry pack, generated from the pack's rows: a new pack gets its dashboard
with no dashboard code (docs/DASHBOARDS.md, "Pack dashboards").

The pack's KPIs live in the InfluxDB measurement named after the pack (`smt`, `cnc`, ...), one
field per KPI named as in the KPI record (`<pack>_<kpi>`), with the tags of `oee` (docs/SCHEMA.md).
For each KPI the dashboard has a stat (the line today) and a time series (the line and each of its
machines, hourly), titled with the KPI's label and shown in its unit; `Pack.extras["panels"]`
(a tuple of `dashboards.model.Panel`) appends a pack's special panels.
"""

from __future__ import annotations

from collections.abc import Iterable

from brain.pack import Kpi, Pack
from dashboards import flux
from dashboards.common import DATASOURCE
from dashboards.model import Dashboard, Panel, Text, Variable

# A pack KPI's unit (brain.pack.Kpi.unit) -> Grafana unit id; any other unit is shown as a suffix.
UNITS = {"ratio": "percentunit", "%": "percent", "s": "s", "": "none"}
DECIMALS = {"ratio": 1, "%": 1, "s": 1}
STAT = {"colorMode": "none", "graphMode": "none"}
GRID = 24
MIN_STAT_W = 3


def key(pack: Pack) -> str:
    """The dashboard key (file `pack-<id>.json`, uid `brain-pack-<id>`): never clashes with a core one."""
    return f"pack-{pack.id}"


def grafana_unit(unit: str) -> str:
    """Grafana's unit for a pack KPI unit: ratios as percent, the rest as themselves."""
    return UNITS.get(unit, f"suffix: {unit}")


def variables(pack: Pack) -> tuple[Variable, ...]:
    """Data source, then the sites and lines that have points of the pack's measurement."""
    ms = (pack.id,)
    site = Variable("site", Text("Site", "工厂"), "query", flux.tag_values("site", measurements=ms))
    line = Variable(
        "line",
        Text("Line", "产线"),
        "query",
        flux.tag_values("line", where=('r.site == "${site}"',), measurements=ms),
    )
    return (DATASOURCE, site, line)


def today_query(pack: Pack, kpi: Kpi) -> str:
    """The line's KPI today: the newest day window in the 24 hours before the range's end."""
    return flux.kpi(
        pack.id, scope="line", window="day", fields=(pack.field(kpi),), range_=flux.RANGE_LAST_DAY, line=True
    ) + flux.latest(())


def hourly_query(pack: Pack, kpi: Kpi) -> str:
    """The KPI per hour of the line and of each machine on it; the line's series is named by its id."""
    return (
        flux.kpi(pack.id, scope=("line", "machine"), window="1h", fields=(pack.field(kpi),), line=True)
        + '\n  |> map(fn: (r) => ({r with machine: if exists r.machine then r.machine else "${line}"}))'
        + flux.series(("machine",))
    )


def _kpi_panels(pack: Pack) -> Iterable[Panel]:
    stat_w = max(MIN_STAT_W, GRID // max(1, len(pack.kpis)))
    for kpi in pack.kpis:
        yield Panel(
            "stat",
            Text(f"{kpi.label.en} today", f"{kpi.label.zh} 今日"),
            today_query(pack, kpi),
            grafana_unit(kpi.unit),
            w=stat_w,
            h=4,
            description=Text(f"{pack.field(kpi)} = {kpi.formula}", f"{pack.field(kpi)} = {kpi.formula}")
            if kpi.formula
            else None,
            decimals=DECIMALS.get(kpi.unit),
            options=STAT,
        )
    for kpi in pack.kpis:
        yield Panel(
            "timeseries",
            Text(
                f"{kpi.label.en} on line ${{line}} and its machines (hourly)",
                f"{kpi.label.zh}：产线 ${{line}} 及其设备 (每小时)",
            ),
            hourly_query(pack, kpi),
            grafana_unit(kpi.unit),
            w=12,
            h=8,
            decimals=DECIMALS.get(kpi.unit),
            display_name="${__field.labels.machine}",
        )


def dashboard(pack: Pack) -> Dashboard:
    """The pack's dashboard: its KPI panels, then its special panels (`extras["panels"]`)."""
    extra = tuple(pack.extras.get("panels", ()))
    for panel in extra:
        if not isinstance(panel, Panel):
            raise TypeError(
                f"pack {pack.id!r}: extras['panels']: expected dashboards.model.Panel rows, "
                f"found {type(panel).__name__}"
            )
    kpis = ", ".join(pack.field(k) for k in pack.kpis)
    return Dashboard(
        key=key(pack),
        title=Text(f"Industrial Brain: {pack.title.en}", f"工业大脑：{pack.title.zh}"),
        description=Text(
            f"The {pack.title.en} pack's KPIs ({kpis}) of a line: today and hourly, per machine.",
            f"{pack.title.zh}行业包的 KPI ({kpis})：产线今日值与每小时值，按设备。",
        ),
        variables=variables(pack),
        panels=(*_kpi_panels(pack), *extra),
    )


def dashboards(packs: Iterable[Pack]) -> tuple[Dashboard, ...]:
    """A dashboard for each pack, in pack-id order."""
    return tuple(dashboard(p) for p in sorted(packs, key=lambda p: p.id))
