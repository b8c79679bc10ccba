"""The production stream workers on in-memory ports: `run_processors(plant, readings) -> Run`.

    run = run_processors(plant, readings)           # machines + rollup, as `brain process` wires them
    run.records                                     # every KPI record emitted, in order per key
    run.latest_final()                              # {(scope, site, line, machine, window, start): record}

The readings are "produced" to an in-memory input topic a chunk at a time, and the REAL
`MachineWorker`, `RollupWorker` (and, with `alerts=`, `AlertWorker`) step over every partition
in turn on a fake wall clock, exactly as the Faust runtime steps them — so a test of stream =
batch checks the code that runs, not a copy. `restart_every=N` starts fresh workers on the same
store and log every N steps (a restart or a rebalance: caches gone, markers and states
recovered); `crash_every=N` kills a worker in mid-step every N steps — alternately before its
outbox flush and between the outbox flush and the state flush — and restarts it: the records a
crash re-emits are the same records again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from brain.plant import Plant
from processors.alerts.engine import AlertEngine
from processors.alerts.options import AlertOptions
from processors.alerts.worker import AlertWorker
from processors.machines import MachineWorker
from processors.options import ProcessorOptions
from processors.rollup import RollupWorker
from processors.runtime.memory import MemoryLog, MemoryStore
from processors.runtime.worker import PartitionWorker

__all__ = ["Run", "run_processors"]


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class _Crash(Exception):
    pass


class _CrashingStore:
    """A `MemoryStore` whose next flush can be made to fail after losing what was staged."""

    def __init__(self, inner: MemoryStore) -> None:
        self.inner, self.armed = inner, False

    def get(self, key: str) -> Any:
        return self.inner.get(key)

    def keys(self, partition: int) -> list[str]:
        return self.inner.keys(partition)

    def put(self, partition: int, key: str, value: Any) -> None:
        self.inner.put(partition, key, value)

    async def flush(self) -> None:
        if self.armed:
            self.armed = False
            self.inner.crash()
            raise _Crash
        await self.inner.flush()


class _CrashingLog(MemoryLog):
    """The shared log; `arm()` makes the next outbox flush fail and lose what was queued."""

    armed = False

    async def flush(self) -> None:
        if self.armed:
            self.armed = False
            self.drop_unflushed()
            raise _Crash
        await super().flush()


@dataclass
class Run:
    log: MemoryLog
    opts: ProcessorOptions
    workers: list[PartitionWorker]
    stats: dict[str, int] = field(default_factory=dict)

    def _values(self, topic: str) -> list[dict[str, Any]]:
        return [orjson.loads(v) for _, v in self.log.records(topic) if v is not None]

    @property
    def records(self) -> list[dict[str, Any]]:
        """Every KPI record on the output topic (machine, line, site), in order per key."""
        return self._values(self.opts.output_topic)

    @property
    def late(self) -> list[dict[str, Any]]:
        return self._values(self.opts.late_topic)

    @property
    def alerts(self) -> list[dict[str, Any]]:
        return self._values(AlertOptions().output_topic)

    def latest_final(self) -> dict[tuple[Any, ...], dict[str, Any]]:
        out = {}
        for r in self.records:
            if r["final"]:
                out[(r["scope"], r["site"], r["line"], r["machine"], r["window"], r["start"])] = r
        return out


def run_processors(
    plant: Plant,
    readings: Iterable[Mapping[str, Any]],
    *,
    opts: ProcessorOptions | None = None,
    partitions: int = 3,
    chunk: int = 100,
    step_s: float = 0.2,
    settle_steps: int = 6,
    settle_step_s: float = 20.0,
    restart_every: int | None = None,
    crash_every: int | None = None,
    alerts: bool = False,
    clock_start: float = 1_800_000_000.0,
) -> Run:
    """Feed `readings` (Reading v1 dicts, in arrival order) through the production workers,
    `chunk` per step with the wall clock `step_s` on per step; then step `settle_steps` more
    times, `settle_step_s` apart — long enough for the wall-clock waits (idle timeouts, a line
    window waiting for a machine that never sent) to pass, so windows after the last readings
    close too (module doc)."""
    opts = replace(opts or ProcessorOptions(app_id="harness"), stats_interval_s=1e9)
    harness = _Harness(plant, opts, partitions, alerts, FakeClock(clock_start), restart_every, crash_every)
    return asyncio.run(harness.run(list(readings), chunk, step_s, settle_steps, settle_step_s))


class _Harness:
    def __init__(
        self,
        plant: Plant,
        opts: ProcessorOptions,
        partitions: int,
        alerts: bool,
        clock: FakeClock,
        restart_every: int | None,
        crash_every: int | None,
    ) -> None:
        self.plant, self.opts, self.clock = plant, opts, clock
        self.restart_every, self.crash_every = restart_every, crash_every
        self.a_opts = AlertOptions()
        self.log = _CrashingLog({opts.input_topic: partitions, opts.partials: partitions})
        for topic in self.a_opts.inputs:
            self.log.create(topic, partitions)
        self.stores = {name: _CrashingStore(MemoryStore()) for name in ("machines", "rollup", "alerts")}
        self.engine = AlertEngine.from_plant(plant) if alerts else None
        self.owned = list(range(partitions))
        self.steps = self.crashes = self.restarts = 0
        self.workers = self._build()

    def _build(self) -> list[PartitionWorker]:
        log, stores, clock = self.log, self.stores, self.clock
        workers: list[PartitionWorker] = [
            MachineWorker(self.plant, self.opts, log=log, store=stores["machines"], outbox=log, clock=clock),
            RollupWorker(self.plant, self.opts, log=log, store=stores["rollup"], outbox=log, clock=clock),
        ]
        if self.engine is not None:
            counts = {t: log.partitions(t) for t in self.a_opts.inputs}
            workers.append(AlertWorker(self.engine, self.a_opts, counts, log=log, store=stores["alerts"],
                                       outbox=log, clock=clock))  # fmt: skip
        return workers

    async def _step_all(self) -> None:
        for w in self.workers:
            await w.step([0] if isinstance(w, AlertWorker) else self.owned)

    async def step(self) -> None:
        self.steps += 1
        n = self.steps
        if self.crash_every and n % self.crash_every == 0:
            k = n // self.crash_every
            if k % 2:  # before an outbox flush: nothing of the step went out
                self.log.armed = True
            else:  # after the outbox flush, before the states: the outputs go out again later
                self.stores[("machines", "rollup", "alerts")[k % len(self.workers)]].armed = True
            try:
                await self._step_all()
            except _Crash:
                self.crashes += 1
                self.workers = self._build()
            self.log.armed = False
            for store in self.stores.values():
                store.armed = False
            return
        await self._step_all()
        if self.restart_every and n % self.restart_every == 0:
            self.restarts += 1
            self.workers = self._build()

    async def run(
        self,
        readings: list[Mapping[str, Any]],
        chunk: int,
        step_s: float,
        settle_steps: int,
        settle_step_s: float,
    ) -> Run:
        topic = self.opts.input_topic
        for i in range(0, len(readings), chunk):
            for r in readings[i : i + chunk]:
                self.log.produce(topic, f"{r['site']}/{r['line']}/{r['machine']}".encode(), orjson.dumps(r))
            await self.step()
            self.clock.t += step_s
        for _ in range(settle_steps):
            self.clock.t += settle_step_s
            await self.step()
        stats = {"steps": self.steps, "crashes": self.crashes, "restarts": self.restarts}
        return Run(self.log, self.opts, self.workers, stats)
