"""How the KPI core runs a pack's rows (brain/pack.py): its metrics' slots in the one-minute
buckets after the core's (the folding itself is in engine.py), its sums in the partials, its KPIs
in the records.

    layout = layout_of(machine)      # None for a machine without a pack
    layout.n                         # bucket length: the core's NSLOTS + the pack's sums + coverage
    layout.fields                    # ((partial key, slot), ...), e.g. ("smt:placements", 19)

Partial keys are `<pack>:<sum>` (never a KPI record field); `<pack>:n` is 1 when a pack metric
touched the window (its KPIs are null otherwise).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from brain.pack import Pack
from brain.pack_registry import get
from brain.plant import Machine
from brain.vocabulary import COUNTER, FLAG, GAUGE, SAMPLE
from processors.kpi.slots import NSLOTS

K_COUNTER, K_FLAG, K_GAUGE, K_SAMPLE = range(10, 14)  # after the core's kinds (engine.py)
_FINITE = sys.float_info.max
_KIND = {COUNTER: K_COUNTER, FLAG: K_FLAG, GAUGE: K_GAUGE, SAMPLE: K_SAMPLE}


@dataclass(frozen=True, slots=True)
class PackLayout:
    pack: Pack
    spec: dict[str, tuple[int, int, int, float, float]]  # metric -> (kind, first slot, coverage, lo, hi)
    fields: tuple[tuple[str, int], ...]  # (partial key, slot) of every folded sum
    coverage: int  # the coverage slot
    n: int  # bucket length

    @property
    def coverage_key(self) -> str:
        return f"{self.pack.id}:n"

    def key(self, name: str) -> str:
        return f"{self.pack.id}:{name}"


@lru_cache(maxsize=64)
def _layout(pack_id: str) -> PackLayout:
    pack = get(pack_id)
    slot = NSLOTS
    spec: dict[str, tuple[int, int, int, float, float]] = {}
    fields: list[tuple[str, int]] = []
    n_sums = sum(len(m.sums()) for m in pack.folded)
    coverage = NSLOTS + n_sums
    for m in pack.folded:
        lo = 0.0 if m.kind == COUNTER else (-_FINITE if m.minimum is None else m.minimum)
        hi = _FINITE if m.maximum is None else m.maximum
        spec[m.name] = (_KIND[m.kind], slot, coverage, lo, hi)  # outside [lo, hi] (or inf, NaN): bad
        for name in m.sums():
            fields.append((f"{pack.id}:{name}", slot))
            slot += 1
    return PackLayout(pack, spec, tuple(fields), coverage, coverage + 1)


def layout_of(machine: Machine) -> PackLayout | None:
    return None if machine.pack is None else _layout(machine.pack)


def pack_layouts(pack_ids: tuple[str, ...]) -> tuple[PackLayout, ...]:
    return tuple(_layout(p) for p in pack_ids)


def add_pack_sums(
    p: dict[str, Any], buckets: dict[int, list[float]], keys: list[int], lo: int, hi: int, layout: PackLayout
) -> None:
    """Sum the pack's slots of buckets keys[lo:hi] into the partial `p` (and its coverage)."""
    fields = layout.fields
    totals = [0.0] * len(fields)
    cov = layout.coverage
    covered = False
    for i in range(lo, hi):
        b = buckets[keys[i]]
        if b[cov]:
            covered = True
            for j, (_, slot) in enumerate(fields):
                totals[j] += b[slot]
    for (name, _), total in zip(fields, totals, strict=True):
        p[name] = total
    p[layout.coverage_key] = 1 if covered else 0


def add_derived(p: dict[str, Any], layout: PackLayout, config: Mapping[str, Any]) -> None:
    """The pack's derived sums of one machine window (after the core's time elements)."""
    pack = layout.pack
    if not pack.derived:
        return
    view = sums(p, pack)
    for d in pack.derived:
        value = d.fn(view, config)  # not gated on the span's pack data: see docs/PACKS.md
        p[layout.key(d.name)] = 0.0 if value is None else float(value)


def sums(p: Mapping[str, Any], pack: Pack) -> dict[str, Any]:
    """What a pack's KPIs and derived sums read: its sums without prefix, and the core's."""
    prefix = f"{pack.id}:"
    out: dict[str, Any] = {k[len(prefix) :]: v for k, v in p.items() if k.startswith(prefix)}
    timed = p["n_timed"] > 0
    out.update(
        apt_h=p["apt"] / 3_600_000 if timed else None,
        pot_h=p["pot"] / 3_600_000 if timed else None,
        pbt_h=p["pbt"] / 3_600_000 if timed else None,
        pbt_min=p["pbt"] / 60_000 if timed else None,
        pq=p["pq"] if p["n_count"] else None,
        sq=p["sq"] if p["n_count"] else None,
        gq=p["pq"] - p["sq"] if p["n_count"] else None,
        kwh=p["kwh"] if p["n_energy"] else None,
        ideal_s=p["ideal_s"] if p["n_pri"] else None,
        n_pri=p["n_pri"],
    )
    return out


def pack_fields(p: Mapping[str, Any], layouts: tuple[PackLayout, ...]) -> dict[str, Any]:
    """The `<pack>_<kpi>` fields of a record of scope partial `p`: for each pack one of whose
    machines is in the scope (its coverage key is in `p`), null without its metrics' data."""
    out: dict[str, Any] = {}
    for layout in layouts:
        if layout.coverage_key not in p:
            continue
        pack = layout.pack
        view = sums(p, pack) if p[layout.coverage_key] else None
        for kpi in pack.kpis:
            out[pack.field(kpi)] = None if view is None else kpi.fn(view)
    return out
