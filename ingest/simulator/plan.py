"""A whole plant simulated: one MachineSim per configured machine, merged in time order. Pure.

    sim = Simulation(plant, seed=7, start=ts_ms, end=ts_ms + 8 * 3_600_000)
    for ts, index, metrics in sim.samples():       # one machine's readings at one instant
        site, line, machine = sim.keys[index]

`Simulation.readings()` flattens that into Reading v1 dicts; `jsonl_lines()` into the exact
bytes of the JSON Lines file (`--out`). The same seed, start, end, profile and periods give the
same samples, byte for byte: every machine draws from its own generator seeded with
`"{seed}/{site}/{line}/{machine}"`, so adding a machine does not change the others.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from typing import Any

import orjson

from brain.plant import Machine, Plant
from ingest.simulator.model import MachineSim
from ingest.simulator.packs import PackSim, rows_for
from ingest.simulator.params import DEFAULT_PERIODS, EMPTY_PROFILE, MachineParams, Profile
from ingest.simulator.schedule import segments

# Readings of one sample are written in this order (then any other metric, sorted).
METRIC_ORDER = ("state", "count_total", "count_scrap", "energy_kwh", "energy_kvarh", "power_kw", "power_kvar")
Sample = tuple[int, int, dict[str, Any]]  # ts, machine index, metrics


class Simulation:
    """Every machine of `plant` over [start, end) (epoch ms)."""

    def __init__(
        self,
        plant: Plant,
        *,
        seed: int,
        start: int,
        end: int,
        profile: Profile = EMPTY_PROFILE,
        periods: dict[str, float] | None = None,
    ) -> None:
        if end <= start:
            raise ValueError(f"empty simulation: end {end} <= start {start}")
        self.plant, self.seed, self.start, self.end = plant, seed, start, end
        self.periods = dict(DEFAULT_PERIODS)
        self.periods.update(profile.periods or {})
        self.periods.update(periods or {})
        self.keys: list[tuple[str, str, str]] = []
        self.machines: list[Machine] = []
        self.params: list[MachineParams] = []
        for site, line, machine in plant.machines():
            self.keys.append((site.id, line.id, machine.id))
            self.machines.append(machine)
            self.params.append(profile.params(site.id, line.id, machine.id))
        self.segments = segments(plant, start, end)
        self.sims: list[MachineSim] = []

    def rng(self, purpose: str) -> random.Random:
        """An independent generator for `purpose` (a machine key, "forms", "bad", ...)."""
        return random.Random(f"{self.seed}/{purpose}")

    def pack_sim(self, key: tuple[str, str, str], machine: Machine) -> PackSim | None:
        """The machine's pack metrics (its pack's simulator rows), drawn from a generator of their own."""
        if machine.pack is None or machine.kind == "meter":
            return None
        from brain.pack_registry import get

        rows = rows_for(machine, get(machine.pack))
        if not rows:
            return None
        return PackSim(rows, machine.pack_config, self.rng("/".join(key) + "/pack"), self.start)

    def samples(self) -> Iterator[Sample]:
        """All machines' samples, ordered by (ts, machine index). Restartable: each call starts over."""
        self.sims = [
            MachineSim(
                m,
                p,
                self.segments,
                self.start,
                self.end,
                self.periods,
                self.rng("/".join(k)),
                self.pack_sim(k, m),
            )
            for k, m, p in zip(self.keys, self.machines, self.params, strict=True)
        ]
        streams = [_tagged(i, sim.samples()) for i, sim in enumerate(self.sims)]
        return heapq.merge(*streams, key=_order)

    def readings(self) -> Iterator[dict[str, Any]]:
        """Reading v1 dicts (site, line, machine, metric, value, ts)."""
        keys = self.keys
        for ts, i, metrics in self.samples():
            site, line, machine = keys[i]
            for metric, value in ordered(metrics):
                yield {
                    "site": site,
                    "line": line,
                    "machine": machine,
                    "metric": metric,
                    "value": value,
                    "ts": ts,
                }

    def jsonl_lines(self) -> Iterator[bytes]:
        writer = JsonlWriter(self.keys)
        for sample in self.samples():
            yield writer.lines(sample)


def _order(sample: Sample) -> tuple[int, int]:
    return sample[0], sample[1]


def _tagged(index: int, stream: Iterator[tuple[int, dict[str, Any]]]) -> Iterator[Sample]:
    for ts, metrics in stream:
        yield ts, index, metrics


def ordered(metrics: dict[str, Any]) -> list[tuple[str, Any]]:
    known = [(m, metrics[m]) for m in METRIC_ORDER if m in metrics]
    if len(known) == len(metrics):
        return known
    return known + sorted((m, v) for m, v in metrics.items() if m not in METRIC_ORDER)


class JsonlWriter:
    """Reading v1 JSON Lines for samples, fast: a per-machine prefix, orjson for values."""

    def __init__(self, keys: list[tuple[str, str, str]]) -> None:
        self.prefixes = [
            orjson.dumps({"site": s, "line": ln, "machine": m})[:-1] + b',"metric":"' for s, ln, m in keys
        ]

    def lines(self, sample: Sample) -> bytes:
        ts, i, metrics = sample
        prefix = self.prefixes[i]
        tail = b',"ts":' + str(ts).encode() + b"}\n"
        dumps = orjson.dumps
        return b"".join(
            prefix + metric.encode() + b'","value":' + dumps(value) + tail
            for metric, value in ordered(metrics)
        )
