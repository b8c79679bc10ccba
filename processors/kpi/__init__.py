"""The pure KPI core (ISO 22400 output KPIs and energy), shared by `brain kpi` and the stream.

Streaming use, per machine (see docs/KPI.md):

    ctx = Context.from_plant(plant)
    fold = MachineFold(machine, ctx.cal)            # or ReplayMachine(machine, ctx.cal, grace_ms)
    fold.feed(metric, value, ts)                    # readings in event-time order
    fold.advance(watermark)                         # held signals (state, power) up to now
    keys = sorted(fold.buckets)
    p = machine_partial(fold.buckets, keys, w.start, w.end, machine, ctx)   # per window
    line_p = merge_all([p_m1, p_m2, ...])           # machine -> line -> site
    record = to_record(p, scope=..., ..., ctx=ctx)  # KPI record v1
    state = fold.to_dict()                          # plain JSON for a Faust table

Nothing here imports faust, kafka, paho or influxdb.
"""

from processors.kpi.aggregate import Context, empty, machine_partial, merge, merge_all, window_partials
from processors.kpi.batch import BatchStats, compute_records, sort_key
from processors.kpi.calendar import Calendar, ShiftInstance, Window
from processors.kpi.counters import increase
from processors.kpi.demand import peak_demand_kw, projected_demand_kw
from processors.kpi.energy import power_factor
from processors.kpi.engine import METRICS, MachineFold
from processors.kpi.finalize import to_record
from processors.kpi.replay import OK, REPLAYED, TOO_LATE, ReplayMachine
from processors.kpi.tariff import Tou

__all__ = [
    "METRICS",
    "OK",
    "REPLAYED",
    "TOO_LATE",
    "BatchStats",
    "Calendar",
    "Context",
    "MachineFold",
    "ReplayMachine",
    "ShiftInstance",
    "Tou",
    "Window",
    "compute_records",
    "empty",
    "increase",
    "machine_partial",
    "merge",
    "merge_all",
    "peak_demand_kw",
    "power_factor",
    "projected_demand_kw",
    "sort_key",
    "to_record",
    "window_partials",
]
