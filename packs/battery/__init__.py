"""`battery` — lithium-ion cells (coating, formation and grading): yield, grade-A ratio, NG ppm,
energy per cell, and the coating weight's mean, standard deviation, Cp and Cpk from the additive
sample sums n, Σx, Σx² (README.md has every formula and source)."""

from __future__ import annotations

import math

from brain.pack import ConfigKey, Derived, Kpi, Metric, Pack, Sums, ratio
from brain.pack_sim import Count, Draw
from brain.text import Text
from brain.vocabulary import COUNTER, SAMPLE
from dashboards import flux
from dashboards.model import Panel

COAT = "coat_weight_gsm"
# Σx² − (Σx)²/n cancels: a variance below this fraction of the mean square is rounding, i.e. 0
_ROUNDING = 1e-12


def _limit(which: str):
    """A derived sum: the coating spec limit × n of a machine with limits (an n-weighted limit when
    machines of a scope differ; equal limits give the limit exactly)."""

    def fn(s: Sums, cfg) -> float | None:
        limits = cfg.get("coat_weight")
        return None if limits is None else limits[which] * s[f"{COAT}_n"]

    return fn


def _spec_n(s: Sums, cfg) -> float:  # samples that have spec limits: Cp needs them all to
    return s[f"{COAT}_n"] if cfg.get("coat_weight") is not None else 0.0


def _mean(s: Sums) -> float | None:
    return ratio(s[f"{COAT}_sum"], s[f"{COAT}_n"])


def _sd(s: Sums) -> float | None:
    """Sample standard deviation (n − 1) from n, Σx, Σx²: additive, so any split of the samples
    across windows or machines gives the same value."""
    n, total, sq = s[f"{COAT}_n"], s[f"{COAT}_sum"], s[f"{COAT}_sumsq"]
    if n < 2:
        return None
    var = (sq - total * total / n) / (n - 1)
    return 0.0 if var <= _ROUNDING * sq / n else math.sqrt(var)


def _spec(s: Sums) -> tuple[float, float, float, float] | None:
    """(mean, σ, LSL, USL) when Cp/Cpk are defined: n ≥ 2, σ > 0, every sample has limits."""
    n, sd = s[f"{COAT}_n"], _sd(s)
    if not sd or s["coat_spec_n"] != n:
        return None
    return s[f"{COAT}_sum"] / n, sd, s["coat_lsl_n"] / n, s["coat_usl_n"] / n


def _cp(s: Sums) -> float | None:
    spec = _spec(s)
    return None if spec is None else (spec[3] - spec[2]) / (6 * spec[1])


def _cpk(s: Sums) -> float | None:
    spec = _spec(s)
    if spec is None:
        return None
    mean, sd, lsl, usl = spec
    return min(usl - mean, mean - lsl) / (3 * sd)


GRADING = ("battery_yield", "battery_grade_a_ratio")
# A special panel of the pack's dashboard (dashboards/packs.py): yield and grade A side by side per shift.
GRADING_BY_SHIFT = Panel(
    "timeseries",
    Text("Grading yield and grade A ratio by shift on line ${line}", "产线 ${line} 各班次分选良率与 A 品率"),
    flux.kpi("battery", scope="line", window="shift", fields=GRADING, line=True)
    + "\n  |> group()"
    + flux.as_columns(("_time",), GRADING)
    + '\n  |> sort(columns: ["_time"])',
    "percentunit",
    w=24,
    h=8,
    decimals=1,
    names=(
        ("battery_yield", Text("Yield", "分选良率")),
        ("battery_grade_a_ratio", Text("Grade A", "A 品率")),
    ),
    custom={"drawStyle": "bars", "fillOpacity": 60},
)

# What `brain simulate` produces (brain/pack_sim.py): formation/grading grades every cell (its
# scrap is NG, ~93 % of the good ones grade A, the rest B); the coater's coating weight is sampled
# every 30 s of running, centred in its spec (if set) with Cp 1.6.
GRADERS = ("formation*", "grader*")
SIMULATOR = (
    Count("cells_graded", of="units", machines=GRADERS),
    Count("cells_ng", of="scrap", machines=GRADERS),
    Count("cells_grade_a", of="good", per=0.93, machines=GRADERS),
    Count("cells_grade_b", of="good", minus=("cells_grade_a",), machines=GRADERS),
    Draw(COAT, mean=200, sd=2, every_s=30, limits="coat_weight", machines=("coater*",)),
)

PACK = Pack(
    id="battery",
    title=Text("Lithium-ion cells", "锂电池电芯"),
    metrics=(
        Metric("cells_graded", COUNTER, "cells", Text("Cells graded", "分容分选电芯数")),
        Metric("cells_grade_a", COUNTER, "cells", Text("Grade A cells", "A 品电芯数")),
        Metric("cells_grade_b", COUNTER, "cells", Text("Grade B cells", "B 品电芯数")),
        Metric("cells_ng", COUNTER, "cells", Text("NG cells", "不良电芯数 (NG)")),
        Metric(COAT, SAMPLE, "g/m²", Text("Coating weight", "涂布面密度"), minimum=0, maximum=1000),
    ),
    config=(
        ConfigKey(
            "coat_weight", "limits", ("line", "machine"), help="coating weight spec limits {lsl, usl}, g/m²"
        ),
    ),
    derived=(
        Derived("coat_lsl_n", _limit("lsl"), "LSL x samples"),
        Derived("coat_usl_n", _limit("usl"), "USL x samples"),
        Derived("coat_spec_n", _spec_n, "samples of machines with coat_weight limits"),
    ),
    kpis=(
        Kpi(
            "yield",
            "ratio",
            Text("Grading yield", "分选良率"),
            lambda s: ratio(s["cells_grade_a"] + s["cells_grade_b"], s["cells_graded"]),
            "(grade_a + grade_b) / cells_graded",
        ),
        Kpi(
            "grade_a_ratio",
            "ratio",
            Text("Grade A ratio", "A 品率"),
            lambda s: ratio(s["cells_grade_a"], s["cells_graded"]),
            "grade_a / cells_graded",
        ),
        Kpi(
            "ng_ppm",
            "ppm",
            Text("NG cells", "不良率 (ppm)"),
            lambda s: ratio(s["cells_ng"], s["cells_graded"], 1e6),
            "cells_ng / cells_graded x 10^6",
        ),
        Kpi(
            "kwh_per_cell",
            "kWh/cell",
            Text("Energy per cell", "单电芯能耗"),
            lambda s: ratio(s["kwh"], s["cells_graded"]),
            "energy_kwh / cells_graded",
        ),
        Kpi("coat_mean", "g/m²", Text("Coating weight, mean", "面密度均值"), _mean, "Σx / n"),
        Kpi(
            "coat_sd",
            "g/m²",
            Text("Coating weight, standard deviation", "面密度标准差"),
            _sd,
            "√((Σx² − (Σx)²/n) / (n − 1))",
        ),
        Kpi("coat_cp", "", Text("Coating Cp", "面密度 Cp"), _cp, "(USL − LSL) / (6 σ)"),
        Kpi(
            "coat_cpk",
            "",
            Text("Coating Cpk", "面密度 Cpk"),
            _cpk,
            "min(USL − μ, μ − LSL) / (3 σ); null when n < 2 or σ = 0",
        ),
    ),
    alert_presets=(
        {
            "id": "battery-coat-cpk",
            "type": "kpi",
            "field": "battery_coat_cpk",
            "window": "shift",
            "level": "machine",
            "below": 1.33,
            "severity": "warning",
            "description": "coating weight Cpk below 1.33 for a shift (the usual capability minimum)",
        },
    ),
    extras={"panels": (GRADING_BY_SHIFT,), "simulator": SIMULATOR},
)
