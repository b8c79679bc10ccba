"""Pieces every dashboard shares: template variables, thresholds, state colours, KPI names."""

from __future__ import annotations

from dashboards import flux
from dashboards.model import Mapping, Text, Variable

DATASOURCE = Variable(
    "datasource",
    Text("Data source", "数据源"),
    "datasource",
    "influxdb",
    Text("An InfluxDB data source with the Flux query language", "使用 Flux 查询语言的 InfluxDB 数据源"),
)
SITE = Variable("site", Text("Site", "工厂"), "query", flux.tag_values("site"))
LINE = Variable(
    "line", Text("Line", "产线"), "query", flux.tag_values("line", where=('r.site == "${site}"',))
)
SHIFT = Variable(
    "shift",
    Text("Shift", "班次"),
    "query",
    flux.tag_values("shift", where=('r.site == "${site}"', 'r.line == "${line}"'), measurements=("loss",)),
    Text(
        "The shift the reason Pareto and the six big losses are shown for", "原因帕累托与六大损失所显示的班次"
    ),
)
MACHINE = Variable(
    "machine",
    Text("Machine", "设备"),
    "query",
    flux.tag_values("machine", where=('r.site == "${site}"', 'r.line == "${line}"')),
)
CONTRACTED_KW = Variable(
    "contracted_kw",
    Text("Contracted demand (kW)", "合同需量 (kW)"),
    "textbox",
    "2500",
    Text(
        "The site's contracted (billing) demand, drawn as a line on the demand chart",
        "工厂的合同最大需量，在需量图上画成一条线",
    ),
)

# OEE and its factors: red below 60 %, yellow below 85 % (world class), green above.
OEE_THRESHOLDS = ((None, "red"), (0.6, "yellow"), (0.85, "green"))
POWER_FACTOR_THRESHOLDS = ((None, "red"), (0.9, "yellow"), (0.95, "green"))

KPI_NAMES: tuple[tuple[str, Text], ...] = (
    ("oee", Text("OEE", "OEE")),
    ("availability", Text("Availability", "可用率")),
    ("performance", Text("Performance", "性能率")),
    ("quality", Text("Quality", "质量率")),
    ("line", Text("Line", "产线")),
    ("machine", Text("Machine", "设备")),
    ("pq", Text("Produced", "产量")),
    ("gq", Text("Good", "合格品")),
    ("ideal", Text("Ideal (at ideal cycle time)", "理论产量 (按理想节拍)")),
    ("kwh_peak", Text("Peak", "峰")),
    ("kwh_flat", Text("Flat", "平")),
    ("kwh_valley", Text("Valley", "谷")),
    ("peak_demand_kw", Text("15-min demand", "15 分钟需量")),
    ("contracted_kw", Text("Contracted demand", "合同需量")),
)

ALERT_NAMES: tuple[tuple[str, Text], ...] = (
    ("_time", Text("Time", "时间")),
    ("state", Text("State", "状态")),
    ("severity", Text("Severity", "级别")),
    ("rule", Text("Rule", "规则")),
    ("scope", Text("Scope", "范围")),
    ("line", Text("Line", "产线")),
    ("machine", Text("Machine", "设备")),
    ("value", Text("Value", "数值")),
    ("threshold", Text("Threshold", "阈值")),
    ("message", Text("Message", "消息")),
    ("id", Text("Alert id", "告警编号")),
)

STATES = (
    Mapping("running", Text("Running", "运行"), "green"),
    Mapping("idle", Text("Idle", "空闲"), "yellow"),
    Mapping("setup", Text("Setup", "换型"), "blue"),
    Mapping("fault", Text("Fault", "故障"), "red"),
    Mapping("planned_stop", Text("Planned stop", "计划停机"), "purple"),
    Mapping("offline", Text("Offline", "离线"), "#555555"),
)

LOSSES = (
    Mapping("pdot_s", Text("Planned down time", "计划停机时间")),
    Mapping("adot_s", Text("Idle (down) time", "空闲时间")),
    Mapping("adet_s", Text("Fault (delay) time", "故障时间")),
    Mapping("aust_s", Text("Setup time", "换型时间")),
    Mapping("unknown_s", Text("Unknown / offline", "未知/离线")),
)

# The stop categories of loss analysis (shared/KPIS.md "Loss analysis (v2)"), as the KPI record's
# `loss_<category>_s` fields, plus the performance and quality losses as time: the six big losses.
BIG_LOSSES = (
    Mapping("loss_breakdown_s", Text("Breakdown", "故障停机"), "red"),
    Mapping("loss_setup_s", Text("Setup and adjustment", "换型与调整"), "blue"),
    Mapping("loss_minor_stop_s", Text("Minor stops", "短暂停机"), "orange"),
    Mapping("loss_no_order_s", Text("No order", "无订单"), "yellow"),
    Mapping("loss_starved_s", Text("Starved", "缺料"), "yellow"),
    Mapping("loss_blocked_s", Text("Blocked", "堵料"), "yellow"),
    Mapping("loss_idle_s", Text("Idle (no reason)", "空闲 (无原因)"), "yellow"),
    Mapping("loss_planned_s", Text("Planned stop", "计划停机"), "purple"),
    Mapping("loss_unknown_s", Text("Unknown / offline", "未知/离线"), "#555555"),
    Mapping("loss_speed_s", Text("Reduced speed", "速度损失"), "#8AB8FF"),
    Mapping("loss_defect_s", Text("Defects", "质量缺陷"), "#C4162A"),
)

LOSS_NAMES: tuple[tuple[str, Text], ...] = (
    ("label", Text("Reason (category)", "原因 (类别)")),
    ("reason", Text("Reason", "原因")),
    ("category", Text("Category", "类别")),
    ("seconds", Text("Lost time", "损失时间")),
    ("stops", Text("Stops", "停机次数")),
)

ALERT_STATES = (
    Mapping("firing", Text("Firing", "告警中"), "red"),
    Mapping("resolved", Text("Resolved", "已恢复"), "green"),
)
