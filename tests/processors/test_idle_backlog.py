"""The idle timeout waits while the worker is still reading a backlog of its input partition.

Found by the end-to-end benchmark: with a backlog, a machine whose readings were still queued
was taken as silent by the wall-clock idle timeout, its watermark moved on, and 68,554 of its
queued readings then arrived too late — KPIs under-counted. Only a caught-up partition may time
a machine out.
"""

from __future__ import annotations

import asyncio

import orjson

from processors.machines import MachineWorker
from processors.options import ProcessorOptions
from processors.runtime.memory import MemoryLog, MemoryStore
from tests.processors import data


class Clock:
    t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


def _worker(pull_max: int) -> tuple[MachineWorker, MemoryLog, Clock]:
    opts = ProcessorOptions(app_id="t", pull_max=pull_max, idle_timeout_ms=60_000)
    log = MemoryLog({opts.input_topic: 1, opts.partials: 1})
    clock = Clock()
    return (
        MachineWorker(data.plant(), opts, log=log, store=MemoryStore(), outbox=log, clock=clock),
        log,
        clock,
    )


def _produce(log: MemoryLog, n: int, minutes: float = 0) -> None:
    for i in range(n):
        r = {"site": "s1", "line": "l1", "machine": "m1", "metric": "count_total", "value": i,
             "ts": data.START + int(minutes * 60_000) + i * 1_000}  # fmt: skip
        log.produce("brain.readings", b"s1/l1/m1", orjson.dumps(r), partition=0)


def test_backlog_defers_the_idle_timeout() -> None:
    worker, log, clock = _worker(pull_max=100)
    _produce(log, 500)
    asyncio.run(worker.step([0]))  # 100 of 500 read: a backlog
    clock.t += 120  # two idle timeouts of wall clock pass while the backlog is read
    asyncio.run(worker.step([0]))
    ms = worker.cache["s1/l1/m1"]
    assert ms.wm == data.START + 199_000 and not ms.is_idle  # not moved on with the clock
    assert worker.stats["idle_deferred"] >= 1
    for _ in range(3):
        asyncio.run(worker.step([0]))
    clock.t += 61  # read to the end, then silent for an idle timeout: that silence is real
    asyncio.run(worker.step([0]))
    assert ms.is_idle and ms.wm > data.START + 499_000
    assert worker.stats["late"] == 0


def test_a_caught_up_partition_times_a_silent_machine_out() -> None:
    worker, log, clock = _worker(pull_max=1000)
    _produce(log, 10)
    asyncio.run(worker.step([0]))
    clock.t += 61
    asyncio.run(worker.step([0]))
    assert worker.cache["s1/l1/m1"].is_idle
