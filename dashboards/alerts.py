"""Alerts: what is firing now, and every firing and resolved event in the time range."""

from __future__ import annotations

from dashboards import flux
from dashboards.common import ALERT_NAMES, ALERT_STATES, DATASOURCE, SITE
from dashboards.model import Dashboard, Panel, Text

EVENTS = (
    flux.alerts()
    + "\n  |> group()"
    + f"\n  |> keep(columns: [{flux.columns(flux.ALERT_COLUMNS)}])"
    + '\n  |> sort(columns: ["_time"], desc: true)'
)

FIRING_COUNT = flux.active_alerts() + "\n  |> map(fn: (r) => ({r with n: 1}))" + '\n  |> sum(column: "n")'

BY_RULE = (
    flux.alerts()
    + '\n  |> filter(fn: (r) => r.state == "firing")'
    + '\n  |> group(columns: ["rule"])'
    + "\n  |> map(fn: (r) => ({r with events: 1}))"
    + '\n  |> sum(column: "events")'
    + "\n  |> group()"
    + '\n  |> keep(columns: ["rule", "events"])'
    + '\n  |> sort(columns: ["events"], desc: true)'
)

DASHBOARD = Dashboard(
    key="alerts",
    title=Text("Industrial Brain: Alerts", "工业大脑：告警"),
    description=Text(
        "Alerts firing now and all firing and resolved events of the chosen site in the time range.",
        "所选工厂当前的告警，以及时间范围内所有触发与恢复事件。",
    ),
    variables=(DATASOURCE, SITE),
    time_from="now-7d",
    alert_annotations=False,
    panels=(
        Panel(
            "stat",
            Text("Alerts firing now", "当前告警数"),
            FIRING_COUNT,
            "short",
            w=6,
            h=6,
            thresholds=((None, "green"), (1, "red")),
            decimals=0,
            options={"colorMode": "background", "graphMode": "none"},
        ),
        Panel(
            "barchart",
            Text("Firing events by rule", "按规则统计的告警次数"),
            BY_RULE,
            "short",
            w=18,
            h=6,
            decimals=0,
            options={"xField": "rule", "orientation": "horizontal", "legend": {"showLegend": False}},
        ),
        Panel(
            "table",
            Text("Firing now", "当前告警"),
            flux.active_alerts(),
            "none",
            w=24,
            h=8,
            names=ALERT_NAMES,
            mappings=ALERT_STATES,
        ),
        Panel(
            "table",
            Text("Alert events (firing and resolved)", "告警事件 (触发与恢复)"),
            EVENTS,
            "none",
            w=24,
            h=12,
            names=ALERT_NAMES,
            mappings=ALERT_STATES,
        ),
    ),
)
