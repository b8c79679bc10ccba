"""The pack metrics of one simulated machine, from its pack's rows (brain/pack_sim.py). Pure.

`rows_for(machine, pack)` picks the rows whose `machines` globs match the machine and checks them
against the pack (each row names a metric of the pack of the matching kind). `PackSim.sample` is
called by the machine's state machine (model.py) at each counter sample and state change, with the
machine's state, rate and cumulative units/scrap; it adds the pack's readings to that sample.
Draws come from the machine's own pack generator, so the core's readings do not change.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

from brain.pack import Pack
from brain.pack_sim import BASES, Constant, Count, Draw, Flag, Level, Row
from brain.plant import Machine
from brain.vocabulary import COUNTER, FLAG, GAUGE, SAMPLE, TEXT

KIND = {Count: COUNTER, Flag: FLAG, Level: GAUGE, Draw: SAMPLE, Constant: TEXT}


def check_rows(pack: Pack) -> tuple[Row, ...]:
    """The pack's simulator rows, each naming a metric of the pack of its kind (ValueError otherwise)."""
    rows = tuple(pack.extras.get("simulator", ()))
    earlier: set[str] = set()
    for i, row in enumerate(rows):
        where = f"pack {pack.id!r}: extras['simulator'][{i}]"
        kind = KIND.get(type(row))
        if kind is None:
            raise ValueError(f"{where}: expected a row of brain.pack_sim, found {type(row).__name__}")
        metric = pack.metric(row.metric)
        if metric is None or metric.kind != kind:
            found = "not a metric of the pack" if metric is None else f"a {metric.kind}"
            raise ValueError(f"{where}: {row.metric!r}: expected a {kind} metric of the pack, found {found}")
        if isinstance(row, Count):
            for name in (row.of, *row.minus):
                if name not in BASES and name not in earlier:
                    raise ValueError(
                        f"{where}: {row.metric!r}: expected to follow {', '.join(BASES)} or an earlier "
                        f"count, found {name!r}"
                    )
            earlier.add(row.metric)
        if isinstance(row, Level) and row.when is not None and pack.metric(row.when) is None:
            raise ValueError(f"{where}: when: expected a flag of the pack, found {row.when!r}")
    return rows


def rows_for(machine: Machine, pack: Pack) -> tuple[Row, ...]:
    """The rows that apply to this machine of the pack."""
    return tuple(
        r for r in check_rows(pack) if any(fnmatchcase(machine.id, pattern) for pattern in r.machines)
    )


def _round_random(rng: random.Random, x: float) -> int:
    """x rounded down or up at random, so that the expected value is x."""
    base = math.floor(x)
    return base + (1 if rng.random() < x - base else 0)


def _binomial(rng: random.Random, n: int, p: float) -> int:
    """Binomial(n, p): exact for small n, Poisson for rare events (a loom's stops: n p ≪ 1, where
    a rounded normal would always give 0), normal otherwise."""
    if p <= 0 or n <= 0:
        return 0
    if n < 40:
        return sum(1 for _ in range(n) if rng.random() < p)
    mean = n * p
    if mean < 30:
        k, limit, prod = 0, math.exp(-mean), rng.random()
        while prod > limit:
            k += 1
            prod *= rng.random()
        return min(k, n)
    return min(max(round(rng.gauss(mean, math.sqrt(mean * (1 - p)))), 0), n)


class PackSim:
    """One machine's pack readings. State: cumulative counts, flag values, running time per draw."""

    def __init__(
        self, rows: tuple[Row, ...], config: Mapping[str, Any], rng: random.Random, start: int
    ) -> None:
        self.rows, self.rng = rows, rng
        self.counts = {r.metric: 0 for r in rows if isinstance(r, Count)}
        self.flags = {r.metric: False for r in rows if isinstance(r, Flag)}
        self.draw_ms = {r.metric: 0 for r in rows if isinstance(r, Draw)}
        self.dist = {r.metric: self._dist(r, config) for r in rows if isinstance(r, Draw)}
        self.last_t, self.running = start, False
        self.units = self.scrap = 0

    @staticmethod
    def _dist(row: Draw, config: Mapping[str, Any]) -> tuple[float, float]:
        limits = config.get(row.limits) if row.limits else None
        if not limits:
            return row.mean, row.sd
        lsl, usl = limits["lsl"], limits["usl"]
        return (lsl + usl) / 2 + row.shift * (usl - lsl) / 2, (usl - lsl) / (6 * row.cp)

    def sample(
        self, t: int, out: dict[str, Any], *, running: bool, rate: float, units: int, scrap: int, tick: bool
    ) -> None:
        """Add the pack readings at `t` to `out`. `tick`: a counter sample (counts, draws, texts);
        otherwise a state change (flags and levels follow the new state)."""
        rng = self.rng
        ran_ms = t - self.last_t if self.running else 0
        self.last_t, self.running = t, running
        if tick:
            new = {"units": units - self.units, "scrap": scrap - self.scrap}
            new["good"] = new["units"] - new["scrap"]
            self.units, self.scrap = units, scrap
        for row in self.rows:
            if isinstance(row, Count):
                if not tick:
                    continue
                n = new[row.of] - sum(new[m] for m in row.minus)
                if row.per == 1:
                    k = n
                elif row.per < 1:
                    k = _binomial(rng, n, row.per)
                else:
                    k = _round_random(rng, n * row.per * (rng.gauss(1.0, row.jitter) if row.jitter else 1.0))
                new[row.metric] = max(k, 0)
                self.counts[row.metric] += new[row.metric]
                out[row.metric] = self.counts[row.metric]
            elif isinstance(row, Flag):
                on = running and (row.duty >= 1 or rng.random() < row.duty)
                self.flags[row.metric] = on
                out[row.metric] = on
            elif isinstance(row, Level):
                active = running and (row.when is None or self.flags.get(row.when, False))
                value = row.mean + (rng.gauss(0.0, row.sd) if row.sd else 0.0) + row.rate_scale * rate
                out[row.metric] = round(max(value, 0.0), 2) if active else row.off
            elif isinstance(row, Draw):
                self.draw_ms[row.metric] += ran_ms
                if tick and self.draw_ms[row.metric] >= row.every_s * 1000:
                    self.draw_ms[row.metric] %= round(row.every_s * 1000)
                    mean, sd = self.dist[row.metric]
                    out[row.metric] = round(rng.gauss(mean, sd), 3)
            elif tick:  # Constant
                out[row.metric] = row.value
