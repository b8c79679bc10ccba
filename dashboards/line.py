"""Line and machine: states, OEE by shift, where the time goes, throughput, MTBF and MTTR."""

from __future__ import annotations

from dashboards import flux
from dashboards.common import (
    BIG_LOSSES,
    DATASOURCE,
    KPI_NAMES,
    LINE,
    LOSS_NAMES,
    LOSSES,
    MACHINE,
    OEE_THRESHOLDS,
    SHIFT,
    SITE,
    STATES,
)
from dashboards.model import Dashboard, Panel, Text

APQ = ("oee", "availability", "performance", "quality")

STATE_TIMELINE = (
    f'from(bucket: "{flux.RAW_BUCKET}")\n'
    f"  |> {flux.RANGE}\n"
    '  |> filter(fn: (r) => r._measurement == "telemetry" and r.site == "${site}" and r.line == "${line}"'
    ' and r.metric == "state" and r._field == "value_str")'
    '\n  |> group(columns: ["machine"])'
    '\n  |> sort(columns: ["_time"])'
    '\n  |> aggregateWindow(every: v.windowPeriod, fn: last, createEmpty: false, timeSrc: "_start")'
    '\n  |> keep(columns: ["_time", "_value", "machine"])'
)

# Stops and their reasons: the state of each machine, and from the instant a reason reading labels
# the stop, its reason code (raw telemetry, metric `reason`; a later label of the same stop shows
# from its own timestamp on).
STOP_TIMELINE = (
    f'from(bucket: "{flux.RAW_BUCKET}")\n'
    f"  |> {flux.RANGE}\n"
    '  |> filter(fn: (r) => r._measurement == "telemetry" and r.site == "${site}" and r.line == "${line}"'
    ' and (r.metric == "state" or r.metric == "reason") and r._field == "value_str")'
    '\n  |> group(columns: ["machine"])'
    '\n  |> sort(columns: ["_time"])'
    '\n  |> aggregateWindow(every: v.windowPeriod, fn: last, createEmpty: false, timeSrc: "_start")'
    '\n  |> keep(columns: ["_time", "_value", "machine"])'
)

# Pareto of reasons: the per-reason loss records (measurement `loss`) of the line's shift windows
# in the time range for the chosen shift, summed per reason, largest first.
REASON_PARETO = (
    f'from(bucket: "{flux.KPI_BUCKET}")\n'
    f"  |> {flux.RANGE}\n"
    '  |> filter(fn: (r) => r._measurement == "loss" and r.scope == "line" and r.window == "shift"'
    ' and r.site == "${site}" and r.line == "${line}" and r.shift == "${shift}")'
    '\n  |> filter(fn: (r) => r._field == "seconds" or r._field == "stops")'
    "\n  |> toFloat()"  # `stops` is an integer field: one type for the pivot
    '\n  |> group(columns: ["reason", "category", "_field"])'
    "\n  |> sum()"
    '\n  |> group(columns: ["reason", "category"])'
    f"{flux.as_columns(('reason', 'category'), ('seconds', 'stops'))}"
    "\n  |> group()"
    "\n  |> filter(fn: (r) => r.seconds > 0.0)"
    '\n  |> map(fn: (r) => ({r with label: r.reason + " (" + r.category + ")"}))'
    '\n  |> sort(columns: ["seconds", "reason"], desc: true)'
    '\n  |> keep(columns: ["label", "seconds", "stops", "reason", "category"])'
)

# The six big losses (stop categories + speed and defect losses as time) of the chosen shift.
BIG_LOSS_PARETO = (
    flux.kpi("oee", scope="line", window="shift", fields=tuple(m.value for m in BIG_LOSSES), line=True)
    + '\n  |> filter(fn: (r) => r.shift == "${shift}")'
    + '\n  |> group(columns: ["_field"])'
    + "\n  |> sum()"
    + "\n  |> group()"
    + '\n  |> sort(columns: ["_value", "_field"], desc: true)'
    + '\n  |> keep(columns: ["_field", "_value"])'
)

LOSS_PARETO = (
    flux.kpi(
        "oee",
        scope="line",
        window="1h",
        fields=tuple(m.value for m in LOSSES),
        line=True,
    )
    + '\n  |> group(columns: ["_field"])'
    + "\n  |> sum()"
    + "\n  |> group()"
    + '\n  |> sort(columns: ["_value"], desc: true)'
    + '\n  |> keep(columns: ["_field", "_value"])'
)

OEE_BY_SHIFT = (
    flux.kpi("oee", scope="line", window="shift", fields=APQ, line=True)
    + "\n  |> group()"
    + flux.as_columns(("_time",), APQ)
    + '\n  |> sort(columns: ["_time"])'
)

MACHINE_OEE = (
    flux.kpi("oee", scope="machine", window="1h", fields=APQ, line=True, machine=True)
    + "\n  |> group()"
    + flux.as_columns(("_time",), APQ)
    + '\n  |> sort(columns: ["_time"])'
)

THROUGHPUT = flux.kpi(
    "oee", scope="machine", window="1h", fields=("throughput_per_h",), line=True
) + flux.series(("machine",))


def _machine_today(field: str) -> str:
    return flux.kpi(
        "oee",
        scope="machine",
        window="day",
        fields=(field,),
        range_=flux.RANGE_LAST_DAY,
        line=True,
        machine=True,
    ) + flux.latest(())


def _line_now(window: str, range_: str) -> str:
    return flux.kpi(
        "oee", scope="line", window=window, fields=("oee",), range_=range_, line=True
    ) + flux.latest(())


STAT = {"colorMode": "background", "graphMode": "none"}
PLAIN = {"colorMode": "none", "graphMode": "none"}

DASHBOARD = Dashboard(
    key="line",
    title=Text("Industrial Brain: Line and machine", "工业大脑：产线与设备"),
    description=Text(
        "Machine states from raw telemetry, OEE by shift, the loss Pareto by ISO 22400 time element, "
        "throughput per machine, and MTBF/MTTR of the chosen machine.",
        "来自原始遥测的设备状态、按班次的 OEE、按 ISO 22400 时间要素的损失帕累托、各设备产出速率，"
        "以及所选设备的 MTBF/MTTR。",
    ),
    variables=(DATASOURCE, SITE, LINE, MACHINE, SHIFT),
    time_from="now-24h",
    panels=(
        Panel(
            "stat",
            Text("Line OEE now (15 min)", "产线 OEE 当前 (15 分钟)"),
            _line_now("15m", flux.RANGE_LAST_HOUR),
            "percentunit",
            w=6,
            h=5,
            thresholds=OEE_THRESHOLDS,
            decimals=1,
            options=STAT,
        ),
        Panel(
            "stat",
            Text("Line OEE today", "产线 OEE 今日"),
            _line_now("day", flux.RANGE_LAST_DAY),
            "percentunit",
            w=6,
            h=5,
            thresholds=OEE_THRESHOLDS,
            decimals=1,
            options=STAT,
        ),
        Panel(
            "stat",
            Text("MTBF of ${machine} today", "${machine} 今日平均故障间隔 (MTBF)"),
            _machine_today("mtbf_s"),
            "s",
            w=4,
            h=5,
            description=Text(
                "Busy time (running + setup) per failure; empty when there was no failure.",
                "每次故障之间的运行时间 (运行 + 换型)；无故障时为空。",
            ),
            options=PLAIN,
        ),
        Panel(
            "stat",
            Text("MTTR of ${machine} today", "${machine} 今日平均修复时间 (MTTR)"),
            _machine_today("mttr_s"),
            "s",
            w=4,
            h=5,
            description=Text("Time in fault per failure.", "每次故障的平均故障时长。"),
            options=PLAIN,
        ),
        Panel(
            "stat",
            Text("Failures of ${machine} today", "${machine} 今日故障次数"),
            _machine_today("failures"),
            "short",
            w=4,
            h=5,
            decimals=0,
            options=PLAIN,
        ),
        Panel(
            "state-timeline",
            Text("Machine states on line ${line}", "产线 ${line} 设备状态"),
            STATE_TIMELINE,
            "string",
            w=24,
            h=8,
            display_name="${__field.labels.machine}",
            mappings=STATES,
            options={"showValue": "never", "mergeValues": True, "rowHeight": 0.8},
        ),
        Panel(
            "timeseries",
            Text("OEE by shift on line ${line}", "产线 ${line} 各班次 OEE"),
            OEE_BY_SHIFT,
            "percentunit",
            w=12,
            h=8,
            thresholds=OEE_THRESHOLDS,
            min=0,
            max=1,
            names=KPI_NAMES,
            custom={"drawStyle": "bars", "fillOpacity": 60, "thresholdsStyle": {"mode": "line"}},
        ),
        Panel(
            "barchart",
            Text("Loss Pareto on line ${line} (time elements)", "产线 ${line} 损失帕累托 (时间要素)"),
            LOSS_PARETO,
            "s",
            w=12,
            h=8,
            description=Text(
                "Where the scheduled time went that was not production, summed over the hourly windows "
                "of the time range, largest first.",
                "计划时间中未用于生产的部分，按所选时间范围内每小时窗口求和，从大到小排列。",
            ),
            mappings=LOSSES,
            options={"xField": "_field", "orientation": "horizontal", "legend": {"showLegend": False}},
        ),
        Panel(
            "barchart",
            Text(
                "Stop reasons on line ${line}, shift ${shift} (Pareto)",
                "产线 ${line} ${shift} 班停机原因帕累托",
            ),
            REASON_PARETO,
            "s",
            w=12,
            h=8,
            description=Text(
                "Lost time per reason code (category in brackets) over the ${shift} shifts of the time "
                "range, largest first; unlabelled stops show under their state's category.",
                "所选时间范围内各 ${shift} 班按原因代码 (括号内为类别) 的损失时间，从大到小；"
                "未标注原因的停机按其状态的类别显示。",
            ),
            names=LOSS_NAMES,
            options={"xField": "label", "orientation": "horizontal", "legend": {"showLegend": False}},
        ),
        Panel(
            "barchart",
            Text("Six big losses on line ${line}, shift ${shift}", "产线 ${line} ${shift} 班六大损失"),
            BIG_LOSS_PARETO,
            "s",
            w=12,
            h=8,
            description=Text(
                "Stop time by category, and the speed and defect losses as time, over the ${shift} shifts of "
                "the time range, largest first.",
                "所选时间范围内各 ${shift} 班的停机时间 (按类别) 以及速度损失和"
                "质量缺陷损失 (折算为时间)，从大到小。",
            ),
            mappings=BIG_LOSSES,
            options={"xField": "_field", "orientation": "horizontal", "legend": {"showLegend": False}},
        ),
        Panel(
            "state-timeline",
            Text("Stops and reasons on line ${line}", "产线 ${line} 停机与原因"),
            STOP_TIMELINE,
            "string",
            w=24,
            h=8,
            description=Text(
                "Each machine's state; from the time a reason reading labels a stop, its reason code.",
                "各设备的状态；停机被原因读数标注后，显示其原因代码。",
            ),
            display_name="${__field.labels.machine}",
            mappings=STATES,
            options={"showValue": "auto", "mergeValues": True, "rowHeight": 0.8},
        ),
        Panel(
            "timeseries",
            Text("Throughput per machine on line ${line} (units/h)", "产线 ${line} 各设备产出速率 (件/小时)"),
            THROUGHPUT,
            "suffix:/h",
            w=12,
            h=8,
            display_name="${__field.labels.machine}",
        ),
        Panel(
            "timeseries",
            Text(
                "OEE, availability, performance, quality of ${machine} (hourly)",
                "${machine} 每小时 OEE 及三要素",
            ),
            MACHINE_OEE,
            "percentunit",
            w=12,
            h=8,
            min=0,
            thresholds=OEE_THRESHOLDS,
            names=KPI_NAMES,
        ),
    ),
)
