"""Partials: the additive sums of one scope over one window, and how they merge.

A partial is a plain dict (JSON-able). Every field is summed when partials merge — machine ->
line -> site, 1m -> 15m -> 1h -> shift -> day — and `blocks` (kWh per 15-minute demand block)
is summed per key. KPIs are only ever computed from a partial (finalize.py), never averaged.
Time fields are integer milliseconds, so time elements sum exactly.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from typing import Any

from brain.plant import Machine, Plant
from processors.kpi.calendar import MINUTE, Calendar, Window
from processors.kpi.demand import BLOCK, block_start
from processors.kpi.engine import C_CNT, C_EM, C_EP, C_QM, C_QP, EM, EP, FE, PQ, PQ_OFF, QM, QP, SQ, SQ_OFF
from processors.kpi.tariff import Tou
from processors.kpi.timeline import ADET_SLOT, ADOT_SLOT, APT_SLOT, AUST_SLOT, PDOT_SLOT

TIME_KEYS = ("pot", "pdot", "pbt", "apt", "aust", "adet", "adot", "unknown")
SUM_KEYS = (
    *TIME_KEYS,
    "fe",
    "pq",
    "sq",
    "pq_off",
    "sq_off",
    "ideal_s",
    "ideal_good_s",
    "apt_pri",
    "n_timed",
    "n_pri",
    "n_count",
    "kwh",
    "kvarh",
    "n_energy",
    "n_kvar",
    "kwh_peak",
    "kwh_flat",
    "kwh_valley",
    "cost",
)
INT_KEYS = frozenset((*TIME_KEYS, "fe", "apt_pri", "n_timed", "n_pri", "n_count", "n_energy", "n_kvar"))


@dataclass(frozen=True, slots=True)
class Context:
    """What finalizing needs besides the sums: calendar, tariff, emission factor."""

    cal: Calendar
    tou: Tou
    grid_factor: float

    @classmethod
    def from_plant(cls, plant: Plant) -> Context:
        return cls(
            Calendar.from_plant(plant),
            Tou(plant.timezone, plant.tariff),
            plant.grid_emission_factor_kg_per_kwh,
        )


def empty() -> dict[str, Any]:
    """The identity of merge (initialize)."""
    p: dict[str, Any] = {k: (0 if k in INT_KEYS else 0.0) for k in SUM_KEYS}
    p["blocks"] = {}
    return p


def merge(into: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Add `other` into `into` (agg) and return `into`."""
    for k in SUM_KEYS:
        into[k] += other[k]
    blocks = into["blocks"]
    for k, v in other["blocks"].items():
        blocks[k] = blocks.get(k, 0.0) + v
    return into


def merge_all(partials: list[dict[str, Any]]) -> dict[str, Any]:
    out = empty()
    for p in partials:
        merge(out, p)
    return out


def machine_partial(
    buckets: dict[int, list[float]], keys: list[int], start: int, end: int, machine: Machine, ctx: Context
) -> dict[str, Any]:
    """The partial of one machine over [start, end) from its buckets (`keys`: sorted bucket keys)."""
    p = empty()
    tou, cal = ctx.tou, ctx.cal
    prices = tou.prices
    blocks = p["blocks"]
    acc = [0.0] * 11
    for i in range(bisect_left(keys, start), bisect_left(keys, end)):
        key = keys[i]
        b = buckets[key]
        acc[0] += b[APT_SLOT]
        acc[1] += b[AUST_SLOT]
        acc[2] += b[ADET_SLOT]
        acc[3] += b[ADOT_SLOT]
        acc[4] += b[PDOT_SLOT]
        acc[5] += b[FE]
        if b[C_CNT]:
            acc[6] += 1
        p["pq"] += b[PQ]
        p["sq"] += b[SQ]
        p["pq_off"] += b[PQ_OFF]
        p["sq_off"] += b[SQ_OFF]
        has_e = b[C_EM] or b[C_EP]
        if has_e:
            kwh = b[EM] if b[C_EM] else b[EP]
            acc[7] += 1
            p["kwh"] += kwh
            minute = key - key % MINUTE
            period = tou.period(minute)
            p[("kwh_peak", "kwh_flat", "kwh_valley")[period]] += kwh
            if prices:
                p["cost"] += kwh * prices[period]
            blk = str(block_start(cal, key))
            blocks[blk] = blocks.get(blk, 0.0) + kwh
        if b[C_QM] or b[C_QP]:
            acc[8] += 1
            p["kvarh"] += b[QM] if b[C_QM] else b[QP]
    p["n_count"] = 1 if acc[6] else 0
    p["n_energy"] = 1 if acc[7] else 0
    p["n_kvar"] = 1 if acc[8] else 0
    if machine.kind == "meter":
        return p
    pot, brk = cal.scheduled_ms(start, end)
    apt, aust, adet, adot = int(acc[0]), int(acc[1]), int(acc[2]), int(acc[3])
    pdot = int(acc[4]) + brk
    unknown = max(0, pot - (apt + aust + adet + adot + pdot))
    p.update(
        pot=pot,
        pdot=pdot,
        apt=apt,
        aust=aust,
        adet=adet,
        adot=adot,
        unknown=unknown,
        pbt=pot - pdot - (unknown if machine.unknown_as == "planned" else 0),
        fe=int(acc[5]),
        n_timed=1,
    )
    if machine.ideal_cycle_s is not None:
        p["n_pri"] = 1
        p["apt_pri"] = apt
        p["ideal_s"] = machine.ideal_cycle_s * p["pq"]
        p["ideal_good_s"] = machine.ideal_cycle_s * (p["pq"] - p["sq"])
    return p


def window_partials(
    buckets: dict[int, list[float]], windows: list[Window], machine: Machine, ctx: Context
) -> list[dict[str, Any]]:
    """One partial per window for one machine (sorts the bucket keys once)."""
    keys = sorted(buckets)
    return [machine_partial(buckets, keys, w.start, w.end, machine, ctx) for w in windows]


__all__ = ["BLOCK", "Context", "empty", "machine_partial", "merge", "merge_all", "window_partials"]
