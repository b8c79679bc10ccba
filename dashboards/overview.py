"""Plant overview: how each line does now and today, output against the ideal, alerts, energy."""

from __future__ import annotations

from dashboards import flux
from dashboards.common import (
    ALERT_NAMES,
    ALERT_STATES,
    DATASOURCE,
    KPI_NAMES,
    OEE_THRESHOLDS,
    SITE,
)
from dashboards.model import Dashboard, Link, Panel, Text

APQ = ("availability", "performance", "quality", "oee")
TO_LINE = Link(
    Text("Open line ${__field.labels.line}", "打开产线 ${__field.labels.line}"),
    "line",
    (("site", "${site}"), ("line", "${__field.labels.line}")),
)
TO_LINE_ROW = Link(
    Text("Open line ${__data.fields.line}", "打开产线 ${__data.fields.line}"),
    "line",
    (("site", "${site}"), ("line", "${__data.fields.line}")),
    field="line",
)


def _site_oee(range_: str, window: str) -> str:
    return flux.kpi("oee", scope="site", window=window, fields=("oee",), range_=range_) + flux.latest(())


def _line_oee(range_: str, window: str) -> str:
    return flux.kpi("oee", scope="line", window=window, fields=("oee",), range_=range_) + flux.latest(
        ("line",)
    )


def _line_apq(range_: str, window: str) -> str:
    return (
        flux.kpi("oee", scope="line", window=window, fields=APQ, range_=range_)
        + flux.latest(("line",))
        + "\n  |> group()"
        + flux.as_columns(("line",), APQ)
    )


OUTPUT_VS_IDEAL = (
    flux.kpi(
        "oee",
        scope="line",
        window="day",
        fields=("pq", "gq", "availability", "performance"),
        range_=flux.RANGE_LAST_DAY,
    )
    + flux.latest(("line",))
    + "\n  |> group()"
    + '\n  |> pivot(rowKey: ["line"], columnKey: ["_field"], valueColumn: "_value")'
    # Ideal output = planned busy time / ideal cycle time = PQ / (availability x performance).
    + "\n  |> map(fn: (r) => ({r with ideal: if exists r.availability and exists r.performance"
    + " and r.availability * r.performance > 0.0 then r.pq / (r.availability * r.performance)"
    + " else 0.0}))"
    + '\n  |> keep(columns: ["line", "pq", "gq", "ideal"])'
)

TOU_TODAY = (
    flux.kpi(
        "energy",
        scope="site",
        window="day",
        fields=("kwh_peak", "kwh_flat", "kwh_valley"),
        range_=flux.RANGE_LAST_DAY,
    )
    + flux.latest(())
    + flux.one_row(("kwh_peak", "kwh_flat", "kwh_valley"))
)

ENERGY_TODAY = flux.kpi(
    "energy", scope="site", window="day", fields=("energy_kwh",), range_=flux.RANGE_LAST_DAY
) + flux.latest(())
COST_TODAY = flux.kpi(
    "energy", scope="site", window="day", fields=("cost",), range_=flux.RANGE_LAST_DAY
) + flux.latest(())

OEE_STAT = {"colorMode": "background", "graphMode": "none", "textMode": "value"}
BARGAUGE = {"displayMode": "lcd", "orientation": "horizontal", "showUnfilled": True}

DASHBOARD = Dashboard(
    key="overview",
    title=Text("Industrial Brain: Plant overview", "工业大脑：工厂总览"),
    description=Text(
        "OEE and its factors per line now (latest 15 minutes) and today, output against the ideal, "
        "active alerts, and today's energy and cost by time-of-use period. Click a line to drill down.",
        "各产线当前 (最近 15 分钟) 与今日的 OEE 及其三要素、实际产量与理论产量、当前告警、"
        "今日分时段电量与电费。点击产线可下钻。",
    ),
    variables=(DATASOURCE, SITE),
    time_from="now/d",
    panels=(
        Panel(
            "stat",
            Text("Site OEE now (15 min)", "工厂 OEE 当前 (15 分钟)"),
            _site_oee(flux.RANGE_LAST_HOUR, "15m"),
            "percentunit",
            w=4,
            h=5,
            thresholds=OEE_THRESHOLDS,
            decimals=1,
            options=OEE_STAT,
        ),
        Panel(
            "stat",
            Text("Site OEE today", "工厂 OEE 今日"),
            _site_oee(flux.RANGE_LAST_DAY, "day"),
            "percentunit",
            w=4,
            h=5,
            thresholds=OEE_THRESHOLDS,
            decimals=1,
            options=OEE_STAT,
        ),
        Panel(
            "stat",
            Text("Energy today", "今日用电量"),
            ENERGY_TODAY,
            "kwatth",
            w=4,
            h=5,
            options={"colorMode": "none", "graphMode": "none"},
        ),
        Panel(
            "stat",
            Text("Energy cost today (plant currency)", "今日电费 (工厂币种)"),
            COST_TODAY,
            "short",
            w=4,
            h=5,
            decimals=0,
            options={"colorMode": "none", "graphMode": "none"},
        ),
        Panel(
            "stat",
            Text("Energy today by time-of-use period", "今日分时段电量 (峰/平/谷)"),
            TOU_TODAY,
            "kwatth",
            w=8,
            h=5,
            names=KPI_NAMES,
            options={"colorMode": "none", "graphMode": "none", "textMode": "value_and_name"},
        ),
        Panel(
            "bargauge",
            Text("OEE per line now (15 min)", "各产线 OEE 当前 (15 分钟)"),
            _line_oee(flux.RANGE_LAST_HOUR, "15m"),
            "percentunit",
            w=12,
            h=8,
            thresholds=OEE_THRESHOLDS,
            min=0,
            max=1,
            display_name="${__field.labels.line}",
            links=(TO_LINE,),
            options=BARGAUGE,
        ),
        Panel(
            "bargauge",
            Text("OEE per line today", "各产线 OEE 今日"),
            _line_oee(flux.RANGE_LAST_DAY, "day"),
            "percentunit",
            w=12,
            h=8,
            thresholds=OEE_THRESHOLDS,
            min=0,
            max=1,
            display_name="${__field.labels.line}",
            links=(TO_LINE,),
            options=BARGAUGE,
        ),
        Panel(
            "table",
            Text(
                "Lines now (15 min): availability, performance, quality",
                "各产线当前 (15 分钟)：可用率、性能率、质量率",
            ),
            _line_apq(flux.RANGE_LAST_HOUR, "15m"),
            "percentunit",
            w=12,
            h=7,
            thresholds=OEE_THRESHOLDS,
            decimals=1,
            names=KPI_NAMES,
            links=(TO_LINE_ROW,),
            custom={"cellOptions": {"type": "color-text"}},
        ),
        Panel(
            "table",
            Text("Lines today: availability, performance, quality", "各产线今日：可用率、性能率、质量率"),
            _line_apq(flux.RANGE_LAST_DAY, "day"),
            "percentunit",
            w=12,
            h=7,
            thresholds=OEE_THRESHOLDS,
            decimals=1,
            names=KPI_NAMES,
            links=(TO_LINE_ROW,),
            custom={"cellOptions": {"type": "color-text"}},
        ),
        Panel(
            "barchart",
            Text("Output today against the ideal", "今日产量与理论产量"),
            OUTPUT_VS_IDEAL,
            "short",
            w=12,
            h=8,
            description=Text(
                "Ideal = planned busy time / ideal cycle time: what the line makes with no loss.",
                "理论产量 = 计划运行时间 / 理想节拍：无任何损失时的产量。",
            ),
            decimals=0,
            names=KPI_NAMES,
            options={"xField": "line", "orientation": "auto", "legend": {"showLegend": True}},
        ),
        Panel(
            "table",
            Text("Active alerts", "当前告警"),
            flux.active_alerts(),
            "none",
            w=12,
            h=8,
            names=ALERT_NAMES,
            mappings=ALERT_STATES,
        ),
    ),
)
