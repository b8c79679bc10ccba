"""The step every stream worker runs (machines, rollup, alerts), over its ports.

    more = await worker.step(partitions)   # the partitions this process owns now

For each owned partition: pull each of its inputs from the cursor's markers and `apply` the
records, then `settle` (timers: idle timeouts, emission, alert ticks). Then:

1. `outbox.flush()` — every record, partial, event is acknowledged (a state is never ahead of
   what was emitted);
2. `stage` the changed states, then the cursor's markers, and `store.flush()`;
3. progress to the input log.

A crash anywhere re-runs the step from the last durable markers and states: the same records
again, the same outputs (idempotent by key). Nothing in here knows Faust or Kafka; a subclass
decides what a record means. `step` returns True when an input had more than `limit` waiting
(the runtime steps again at once instead of waiting for the next tick).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence

from brain import logs
from processors.runtime.cursor import Cursor
from processors.runtime.ports import Fetched, InputLog, Outbox, StateStore

Clock = Callable[[], float]  # wall clock, seconds (time.time); tests pass their own


class PartitionWorker:
    agent = "worker"
    logger = logging.getLogger("brain.process")

    def __init__(
        self,
        *,
        log: InputLog,
        store: StateStore,
        outbox: Outbox,
        limit: int,
        stats_interval_s: float = 10.0,
        clock: Clock | None = None,
        stats: Counter[str] | None = None,
        legacy_key: Callable[[str, int], str] | None = None,
    ) -> None:
        """`stats`: the counters (shared with the ports' own, e.g. an outbox's send retries)."""
        self.store, self.outbox, self.limit = store, outbox, limit
        self.clock = clock or time.time
        self.stats: Counter[str] = stats if stats is not None else Counter()
        self.timing: Counter[str] = Counter()  # seconds in step(): compute, send+wait, state+wait
        self.cursor = Cursor(log, store, agent=self.agent, stats=self.stats, logger=self.logger,
                             legacy_key=legacy_key)  # fmt: skip
        self.stats_interval_s = stats_interval_s
        self._stats_at = time.monotonic()

    # --- what a subclass defines ---
    def sources(self, partition: int) -> Sequence[tuple[str, int]]:
        """The input topic partitions read for owned `partition`."""
        raise NotImplementedError

    def apply(self, partition: int, topic: str, records: list[Fetched], now_ms: float) -> None:
        """Apply records of one input, in offset order; queue what they produce in the outbox."""
        raise NotImplementedError

    def settle(self, partition: int, caught_up: bool, now_ms: float) -> None:
        """After the pulls of `partition`: timers and emission (`caught_up`: every input read to
        its end, so silence is real)."""

    def stage(self, partition: int) -> None:
        """Put the changed states of `partition` into the store (the markers follow)."""

    def reset(self) -> None:
        """Partitions moved: drop what is cached (the store is the truth)."""
        self.cursor.forget()

    # --- the protocol ---
    async def step(self, partitions: Sequence[int]) -> bool:
        t0 = time.perf_counter()
        now = self.clock() * 1000
        more = False
        wanted = {p: self.sources(p) for p in partitions}
        got = await self.cursor.pull([(p, t, q) for p, srcs in wanted.items() for t, q in srcs], self.limit)
        for partition, sources in wanted.items():
            caught_up = True
            for topic, q in sources:
                pulled = got[(topic, q)]
                if pulled.records:
                    self.apply(partition, topic, pulled.records, now)
                    more = more or (not pulled.at_end and len(pulled.records) >= self.limit)
                caught_up = caught_up and pulled.at_end
            self.settle(partition, caught_up, now)
        t1 = time.perf_counter()
        await self.outbox.flush()
        t2 = time.perf_counter()
        for partition in partitions:
            self.stage(partition)
            self.cursor.stage(partition)
        await self.store.flush()
        await self.cursor.commit()
        t3 = time.perf_counter()
        self.stats["batches"] += 1
        self.timing["compute_s"] += t1 - t0
        self.timing["send_s"] += t2 - t1
        self.timing["state_s"] += t3 - t2
        self._log_stats()
        return more

    def _log_stats(self) -> None:
        t = time.monotonic()
        if t - self._stats_at >= self.stats_interval_s:
            self._stats_at = t
            timing = {k: round(v, 3) for k, v in self.timing.items()}
            logs.event(self.logger, "process.stats", agent=self.agent, t=round(t, 3), **dict(self.stats),
                       **timing)  # fmt: skip
