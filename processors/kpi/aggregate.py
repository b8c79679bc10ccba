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
from processors.kpi.packs import PackLayout, add_derived, add_pack_sums, layout_of, pack_layouts
from processors.kpi.tariff import Tou
from processors.kpi.timeline import FAULT, IDLE, SETUP
from processors.kpi.timeline import PLANNED_STOP as PLANNED
from processors.kpi.timeline import RUNNING as RUN

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
_CORE_LEN = len(SUM_KEYS) + 1  # a partial's keys without packs: the sums and `blocks`
INT_KEYS = frozenset((*TIME_KEYS, "fe", "apt_pri", "n_timed", "n_pri", "n_count", "n_energy", "n_kvar"))


@dataclass(frozen=True, slots=True)
class Context:
    """What finalizing needs besides the sums: calendar, tariff, emission factor."""

    cal: Calendar
    tou: Tou
    grid_factor: float
    packs: tuple[PackLayout, ...] = ()  # the plant's packs, for their record fields

    @classmethod
    def from_plant(cls, plant: Plant) -> Context:
        return cls(
            Calendar.from_plant(plant),
            Tou(plant.timezone, plant.tariff),
            plant.grid_emission_factor_kg_per_kwh,
            pack_layouts(plant.packs),
        )


def empty() -> dict[str, Any]:
    """The identity of merge (initialize)."""
    p: dict[str, Any] = {k: (0 if k in INT_KEYS else 0.0) for k in SUM_KEYS}
    p["blocks"] = {}
    return p


def merge(into: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Add `other` into `into` (agg) and return `into`. Pack sums (`<pack>:<sum>`, beyond the
    core's keys) are summed by name."""
    for k in SUM_KEYS:
        into[k] += other[k]
    blocks = into["blocks"]
    for k, v in other["blocks"].items():
        blocks[k] = blocks.get(k, 0.0) + v
    if len(other) > _CORE_LEN:
        for k, v in other.items():
            if ":" in k:
                into[k] = into.get(k, 0) + v
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
    lo, hi = bisect_left(keys, start), bisect_left(keys, end)
    apt = aust = adet = adot = pdot = fe = 0.0  # ms in each state, failure events
    counted = metered = reactive = False  # did a counter / an energy source / a kvar source report
    pq = sq = pq_off = sq_off = kwh_all = kvarh = cost = 0.0
    by_period = [0.0, 0.0, 0.0]
    for i in range(lo, hi):
        key = keys[i]
        b = buckets[key]
        apt += b[RUN]
        aust += b[SETUP]
        adet += b[FAULT]
        adot += b[IDLE]
        pdot += b[PLANNED]
        fe += b[FE]
        if b[C_CNT]:
            counted = True
        pq += b[PQ]
        sq += b[SQ]
        pq_off += b[PQ_OFF]
        sq_off += b[SQ_OFF]
        if b[C_EM] or b[C_EP]:
            kwh = b[EM] if b[C_EM] else b[EP]
            metered = True
            kwh_all += kwh
            period = tou.period(key - key % MINUTE)
            by_period[period] += kwh
            if prices:
                cost += kwh * prices[period]
            blk = str(block_start(cal, key))
            blocks[blk] = blocks.get(blk, 0.0) + kwh
        if b[C_QM] or b[C_QP]:
            reactive = True
            kvarh += b[QM] if b[C_QM] else b[QP]
    p.update(pq=pq, sq=sq, pq_off=pq_off, sq_off=sq_off, kwh=kwh_all, kvarh=kvarh, cost=cost)
    p["kwh_peak"], p["kwh_flat"], p["kwh_valley"] = by_period
    p["n_count"] = 1 if counted else 0
    p["n_energy"] = 1 if metered else 0
    p["n_kvar"] = 1 if reactive else 0
    layout = layout_of(machine)
    if layout is not None:
        add_pack_sums(p, buckets, keys, lo, hi, layout)
    if machine.kind == "meter":
        if layout is not None:
            add_derived(p, layout, machine.pack_config)
        return p
    pot, brk = cal.scheduled_ms(start, end)
    apt, aust, adet, adot = int(apt), int(aust), int(adet), int(adot)
    pdot = int(pdot) + brk
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
        fe=int(fe),
        n_timed=1,
    )
    if machine.ideal_cycle_s is not None:
        p["n_pri"] = 1
        p["apt_pri"] = apt
        p["ideal_s"] = machine.ideal_cycle_s * p["pq"]
        p["ideal_good_s"] = machine.ideal_cycle_s * (p["pq"] - p["sq"])
    if layout is not None:
        add_derived(p, layout, machine.pack_config)
    return p


def window_partials(
    buckets: dict[int, list[float]], windows: list[Window], machine: Machine, ctx: Context
) -> list[dict[str, Any]]:
    """One partial per window for one machine (sorts the bucket keys once)."""
    keys = sorted(buckets)
    return [machine_partial(buckets, keys, w.start, w.end, machine, ctx) for w in windows]


__all__ = ["BLOCK", "Context", "empty", "machine_partial", "merge", "merge_all", "window_partials"]
