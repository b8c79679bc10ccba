"""`cnc` — machining (machining centres, lathes): spindle utilisation and cutting ratio, cycle time
against the ideal, average spindle load, tool changes (README.md has every formula and source).
"""

from __future__ import annotations

from brain.pack import Derived, Kpi, Metric, Pack, ratio
from brain.pack_sim import Constant, Count, Flag, Level
from brain.text import Text
from brain.vocabulary import COUNTER, FLAG, GAUGE, TEXT

MS_PER_H = 3_600_000


def _core(name: str):
    """A derived sum: the core's sum `name` of a cnc machine (a machine without `pack: cnc` gives
    none), so a line's other machines dilute no cnc ratio."""
    return lambda s, cfg: s[name]


def _cycle_apt_h(s, cfg):  # running hours of the machines with an ideal cycle time: deviation's base
    return s["apt_h"] if s["n_pri"] and s["apt_h"] is not None else 0.0


def _deviation(s) -> float | None:
    """(APT / PQ − ideal) / ideal = Σ APT / Σ(ideal · PQ) − 1: additive over machines and windows."""
    r = ratio(s["cycle_apt_h"], s["cycle_ideal_s"], 3600)
    return None if r is None else r - 1


# What `brain simulate` produces (brain/pack_sim.py): the spindle turns ~85 % of the running time
# at ~55 % load, a tool change every ~12 parts, one part program.
SIMULATOR = (
    Flag("spindle_on", duty=0.85),
    Level("spindle_load_pct", mean=55, sd=12, when="spindle_on"),
    Count("tool_changes", of="units", per=0.08),
    Constant("program", "O1001"),
)

PACK = Pack(
    id="cnc",
    title=Text("CNC machining", "数控加工"),
    metrics=(
        Metric("spindle_on", FLAG, "", Text("Spindle on", "主轴运转")),
        Metric("spindle_load_pct", GAUGE, "%", Text("Spindle load", "主轴负载"), minimum=0, maximum=500),
        Metric("tool_changes", COUNTER, "changes", Text("Tool changes", "换刀次数")),
        Metric("program", TEXT, "", Text("Part program", "加工程序")),
    ),
    derived=(
        Derived("reporting_pot_h", _core("pot_h"), "POT hours of the cnc machines"),
        Derived("reporting_apt_h", _core("apt_h"), "APT hours of the cnc machines"),
        Derived("reporting_pq", _core("pq"), "parts produced by the cnc machines"),
        Derived("cycle_apt_h", _cycle_apt_h, "APT hours of the machines with an ideal cycle time"),
        Derived("cycle_ideal_s", _core("ideal_s"), "Σ ideal_cycle_s · PQ of the cnc machines"),
    ),
    kpis=(
        Kpi(
            "spindle_utilization",
            "ratio",
            Text("Spindle utilisation", "主轴利用率"),
            lambda s: ratio(s["spindle_on_ms"] / MS_PER_H, s["reporting_pot_h"]),
            "time spindle_on / POT",
        ),
        Kpi(
            "cutting_ratio",
            "ratio",
            Text("Cutting ratio", "切削时间比"),
            lambda s: ratio(s["spindle_on_ms"] / MS_PER_H, s["reporting_apt_h"]),
            "time spindle_on / APT",
        ),
        Kpi(
            "avg_cycle_s",
            "s",
            Text("Average cycle time", "平均节拍"),
            lambda s: ratio(s["reporting_apt_h"], s["reporting_pq"], 3600),
            "APT / PQ",
        ),
        Kpi(
            "cycle_deviation",
            "ratio",
            Text("Cycle time deviation", "节拍偏差"),
            _deviation,
            "(cnc_avg_cycle_s − ideal_cycle_s) / ideal_cycle_s",
        ),
        Kpi(
            "avg_spindle_load_pct",
            "%",
            Text("Average spindle load", "平均主轴负载"),
            lambda s: ratio(s["spindle_load_pct_int"], s["spindle_load_pct_ms"]),
            "Σ(load · dt) / Σ dt over the time a load value holds",
        ),
        Kpi(
            "tool_changes",
            "changes",
            Text("Tool changes", "换刀次数"),
            lambda s: s["tool_changes"],
            "Δ tool_changes",
        ),
    ),
    extras={"simulator": SIMULATOR},
)
