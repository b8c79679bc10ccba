"""What a pack tells the simulator (`brain simulate`): one row per metric, in `Pack.extras["simulator"]`.

    extras={"simulator": (
        Count("placements", of="units", per=200, machines=("mounter*",)),   # 200 per board
        Count("pickup_errors", of="placements", per=0.0008, machines=("mounter*",)),
        Flag("spindle_on", duty=0.85),
        Level("spindle_load_pct", mean=55, sd=12, when="spindle_on"),
        Draw("coat_weight_gsm", mean=200, sd=2, every_s=30, limits="coat_weight"),
    )}

One generic function (ingest/simulator/packs.py) runs the rows of a machine's pack next to the
core's state machine: counts follow the machine's units (its `count_total`), good units, scrap or
an earlier count of the pack; flags and levels follow its state; draws come while it runs. Rows
are plain data here (no import of the simulator), so loading a pack stays cheap. `machines` are
`fnmatch` globs on the machine id: which machines of the pack report the metric.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL = ("*",)
BASES = ("units", "good", "scrap")  # what a Count may follow besides an earlier count of the pack


@dataclass(frozen=True, slots=True)
class Count:
    """A counter: `per` of each new unit of `of` (minus the new units of `minus`). per ≤ 1: each
    counts with probability `per`; per > 1: n × per (× N(1, jitter)), rounded at random."""

    metric: str
    of: str = "units"  # units | good | scrap | an earlier Count's metric
    per: float = 1.0
    minus: tuple[str, ...] = ()
    jitter: float = 0.0
    machines: tuple[str, ...] = ALL


@dataclass(frozen=True, slots=True)
class Flag:
    """A flag: true while the machine runs, for `duty` of its running time (redrawn each counter
    sample), false otherwise."""

    metric: str
    duty: float = 1.0
    machines: tuple[str, ...] = ALL


@dataclass(frozen=True, slots=True)
class Level:
    """A gauge: while the machine runs (and flag `when`, if given, is true) mean + N(0, sd) +
    rate_scale × its current rate (units/s: 60 turns picks/s into rpm); `off` otherwise."""

    metric: str
    mean: float = 0.0
    sd: float = 0.0
    rate_scale: float = 0.0
    when: str | None = None
    off: float = 0.0
    machines: tuple[str, ...] = ALL


@dataclass(frozen=True, slots=True)
class Draw:
    """A sample: one value N(mean, sd) per `every_s` of running time. With `limits` (a pack config
    key of kind limits) set on the machine, centred between them (+ shift × half the tolerance)
    with sd = (usl − lsl) / (6 cp) instead."""

    metric: str
    mean: float
    sd: float
    every_s: float = 60.0
    limits: str | None = None
    cp: float = 1.6
    shift: float = 0.1
    machines: tuple[str, ...] = ALL


@dataclass(frozen=True, slots=True)
class Constant:
    """A text metric: the same value at each counter sample (a part program, a recipe)."""

    metric: str
    value: str
    machines: tuple[str, ...] = ALL


Row = Count | Flag | Level | Draw | Constant
