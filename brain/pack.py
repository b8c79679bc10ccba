"""The industry pack contract (shared/PACKS.md, contract v2): a pack declares rows, the core runs them.

    PACK = Pack(
        id="smt", title=Text("Electronics SMT", "电子SMT"),
        metrics=(Metric("placements", COUNTER), ...),
        config=(ConfigKey("rated_cph", "positive"), ...),
        derived=(Derived("rated_placements", lambda s, cfg: cfg["rated_cph"] * s["apt_h"]), ...),
        kpis=(Kpi("cph", "1/h", Text(...), lambda s: ratio(s["placements"], s["apt_h"])), ...),
    )

and registers it under the entry-point group `brain.packs` (name = pack id). What the core does
with the rows:

- **metrics** are folded per one-minute bucket by kind (processors/kpi/engine.py): a `counter`
  gives its increase (`<metric>`; resets and wraps as the core's counters), a `flag` the time it
  was true in scheduled time (`<metric>_ms`), a `gauge` Σ value·dt and Σ dt over the time a value
  holds (`<metric>_int`, `<metric>_ms`; at most the machine's `power_max_gap_s` after a reading),
  a `sample` n, Σx, Σx² (`<metric>_n`, `_sum`, `_sumsq`); `text` is telemetry only. Every sum is
  additive, so a longer window or a larger scope is the sum of its parts (never averaged ratios).
- **derived** sums are computed per machine and window from its sums and its config (e.g. rated
  capacity × running time) and then summed like the others: config enters the KPIs additively.
- **kpis** are pure functions of the summed fields of the scope (`Sums`: the pack's sums without
  prefix, plus the core's `apt_h`, `pot_h`, `pbt_h`, `pbt_min`, `pq`, `sq`, `gq`, `kwh`, `ideal_s`,
  `n_pri`), in records as `<pack>_<kpi>`; None where undefined (use `ratio`).
- **config** keys live under the pack's name at a line (defaults for its machines) or a machine.

A machine's pack metrics are validated at the bridge by kind and bounds: a bad value goes to the
dead-letter topic naming the metric and the pack; the message's other metrics survive.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from brain.text import Text
from brain.vocabulary import CORE_METRICS, COUNTER, FLAG, GAUGE, METRIC_KINDS, SAMPLE, TEXT

PACK_ID = re.compile(r"^[a-z][a-z0-9_]*$")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
CONFIG_KINDS = ("positive", "number", "limits", "text")  # limits: {lsl, usl} with lsl < usl
CORE_SUMS = ("apt_h", "pot_h", "pbt_h", "pbt_min", "pq", "sq", "gq", "kwh", "ideal_s", "n_pri")

Sums = Mapping[str, Any]  # what a KPI or a derived sum reads (module doc)


def ratio(a: float | None, b: float | None, scale: float = 1.0) -> float | None:
    """a / b × scale, or None when either is missing or b is 0: a KPI never divides by zero."""
    if a is None or b is None or b == 0:
        return None
    return a / b * scale


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    kind: str  # counter | gauge | flag | sample | text (brain.vocabulary.METRIC_KINDS)
    unit: str = ""
    label: Text | None = None
    minimum: float | None = None  # gauges and samples: the valid range (counters are >= 0)
    maximum: float | None = None
    values: tuple[str, ...] = ()  # text: the allowed values (empty: any)

    def sums(self) -> tuple[str, ...]:
        """The additive sums this metric gives, in bucket-slot order."""
        return {
            COUNTER: (self.name,),
            FLAG: (f"{self.name}_ms",),
            GAUGE: (f"{self.name}_int", f"{self.name}_ms"),
            SAMPLE: (f"{self.name}_n", f"{self.name}_sum", f"{self.name}_sumsq"),
            TEXT: (),
        }[self.kind]


@dataclass(frozen=True, slots=True)
class ConfigKey:
    name: str
    kind: str  # CONFIG_KINDS
    levels: tuple[str, ...] = ("machine",)  # where it may be set: "line" (a default) and/or "machine"
    required: bool = False  # a machine of the pack must have it (set on it or on its line)
    help: str = ""


@dataclass(frozen=True, slots=True)
class Derived:
    name: str
    fn: Callable[[Sums, Mapping[str, Any]], float | None]  # (machine's sums, its config) -> amount
    help: str = ""


@dataclass(frozen=True, slots=True)
class Kpi:
    name: str
    unit: str
    label: Text
    fn: Callable[[Sums], float | None]
    formula: str = ""  # as the README writes it


@dataclass(frozen=True)
class Pack:
    id: str
    title: Text
    metrics: tuple[Metric, ...]
    kpis: tuple[Kpi, ...]
    config: tuple[ConfigKey, ...] = ()
    derived: tuple[Derived, ...] = ()
    alert_presets: tuple[dict[str, Any], ...] = ()  # alert rules in plant-config form
    reasons: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # code -> {en, zh, category}
    extras: Mapping[str, Any] = field(default_factory=dict)  # panels, simulator profile, ...

    def __post_init__(self) -> None:
        where = f"pack {self.id!r}"
        if not PACK_ID.match(self.id):
            raise ValueError(f"{where}: id must match [a-z][a-z0-9_]*")
        names = [m.name for m in self.metrics]
        for m in self.metrics:
            if not NAME.match(m.name) or m.kind not in METRIC_KINDS:
                raise ValueError(f"{where}: metric {m.name!r}: a name [a-z][a-z0-9_]* and a kind of "
                                 f"{', '.join(METRIC_KINDS)} (found kind {m.kind!r})")  # fmt: skip
            if m.name in CORE_METRICS:
                raise ValueError(f"{where}: metric {m.name!r} is a core metric")
        sums = [s for m in self.metrics for s in m.sums()] + [d.name for d in self.derived]
        for what, items in (("metric", names), ("sum", sums), ("kpi", [k.name for k in self.kpis]),
                            ("config key", [c.name for c in self.config])):  # fmt: skip
            dup = {x for x in items if items.count(x) > 1}
            if dup:
                raise ValueError(f"{where}: {what} {sorted(dup)[0]!r} declared twice")
        clash = set(sums) & set(CORE_SUMS)
        if clash:
            raise ValueError(f"{where}: sum {sorted(clash)[0]!r} has the name of a core sum")
        for c in self.config:
            if c.kind not in CONFIG_KINDS or not set(c.levels) <= {"line", "machine"} or not c.levels:
                raise ValueError(f"{where}: config key {c.name!r}: kind one of {', '.join(CONFIG_KINDS)}, "
                                 "levels among line, machine")  # fmt: skip

    @property
    def folded(self) -> tuple[Metric, ...]:
        """The metrics the core folds (all but text)."""
        return tuple(m for m in self.metrics if m.kind != TEXT)

    @property
    def sum_names(self) -> tuple[str, ...]:
        """Every sum of the pack: the metrics', then the derived ones."""
        return tuple(s for m in self.folded for s in m.sums()) + tuple(d.name for d in self.derived)

    def field(self, kpi: Kpi) -> str:
        """The KPI record field: `<pack>_<kpi>`."""
        return f"{self.id}_{kpi.name}"

    def metric(self, name: str) -> Metric | None:
        for m in self.metrics:
            if m.name == name:
                return m
        return None
