"""Alert rules, pure core: rules from the plant config -> firing/resolved events (docs/ALERTS.md).

    from processors.alerts import AlertEngine
    engine = AlertEngine.from_plant(plant)
    store = {}                                            # or a Faust Table (the service)
    events = engine.process("reading", reading, store, now_ms)
    events += engine.tick(store, now_ms)

A pack adds a rule type with `@register` on a `Rule` subclass (see base.py). Nothing here
imports faust, kafka, paho or influxdb; the service is processors/alerts/app.py.
"""

from processors.alerts import deadletters, demand, kpis, readings, stops  # noqa: F401 - register built-ins
from processors.alerts.base import DEADLETTER, KPI, READING, RULES, TICK, Input, Rule, register
from processors.alerts.demand import projected_block_demand_kw
from processors.alerts.engine import AlertEngine
from processors.alerts.episode import (
    BAND,
    BREACH,
    FIRING,
    OK,
    RESOLVED,
    Observation,
    Transition,
    compare,
    step,
)
from processors.alerts.events import AlertEvent, Scope, alert_id
from processors.alerts.templates import render

__all__ = [
    "BAND",
    "BREACH",
    "DEADLETTER",
    "FIRING",
    "KPI",
    "OK",
    "READING",
    "RESOLVED",
    "RULES",
    "TICK",
    "AlertEngine",
    "AlertEvent",
    "Input",
    "Observation",
    "Rule",
    "Scope",
    "Transition",
    "alert_id",
    "compare",
    "projected_block_demand_kw",
    "register",
    "render",
    "step",
]
