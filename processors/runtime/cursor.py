"""Where a worker is in its inputs: the one position protocol of every stream worker.

Per input topic partition the cursor keeps the last offset applied, durably, in the worker's own
state store: the **marker** `@in/{topic}/{partition}` → `{"off": N}`, in the store partition
the input belongs to. The worker pulls from marker + 1, so a restart or a rebalance resumes
exactly where the states it recovers were written (position and state travel together, in one
changelog partition):

1. `pull` — records after the marker; a record at or below it (a log that handed out older
   records) is skipped and counted `duplicates`; a jump past marker + 1 can only be records
   removed by retention before they were read: counted `unrecoverable`, logged
   `process.offset_gap`, never silent;
2. the worker applies them and sends what they produce (outbox, awaited);
3. it stages its changed states, then `stage` puts the markers LAST, and the store is flushed:
   a crash before the marker is durable re-reads the records (idempotent steps); after it, they
   are never read again;
4. `commit` hands the next offsets to the log as progress for lag tools (never the truth).

A worker older than these markers wrote `@{partition}` (machines, rollup): read once as a
fallback (`legacy_key`), so an upgrade resumes where it stopped.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence

from brain import logs
from processors.runtime.ports import InputLog, Pulled, StateStore

MARKER = "@in/"


def marker_key(topic: str, partition: int) -> str:
    """The store key of an input partition's marker (worker keys never start with '@')."""
    return f"{MARKER}{topic}/{partition}"


class Cursor:
    def __init__(
        self,
        log: InputLog,
        store: StateStore,
        *,
        agent: str,
        stats: Counter[str],
        logger: logging.Logger,
        legacy_key: Callable[[str, int], str] | None = None,
    ) -> None:
        self.log, self.store, self.agent, self.stats, self.logger = log, store, agent, stats, logger
        self.legacy_key = legacy_key
        self._pos: dict[tuple[str, int], int | None] = {}
        self._moved: dict[tuple[str, int], int] = {}  # (topic, partition) -> store partition

    def position(self, home: int, topic: str, partition: int) -> int | None:
        """The last offset applied (None: nothing yet — a new worker)."""
        key = (topic, partition)
        if key not in self._pos:
            raw = self.store.get(marker_key(topic, partition))
            if raw is None and self.legacy_key is not None:
                raw = self.store.get(self.legacy_key(topic, partition))
            self._pos[key] = None if raw is None else raw["off"]
        return self._pos[key]

    async def pull(
        self, sources: Sequence[tuple[int, str, int]], limit: int
    ) -> dict[tuple[str, int], Pulled]:
        """The records after the marker of each (home partition, topic, partition), in one round."""
        homes = {(topic, partition): home for home, topic, partition in sources}
        wants = [(t, p, self.position(h, t, p)) for (t, p), h in homes.items()]
        got = await self.log.pull(wants, limit)
        out: dict[tuple[str, int], Pulled] = {}
        for topic, partition, last in wants:
            pulled = got[(topic, partition)]
            records = []
            for r in pulled.records:
                if last is not None:
                    if r.offset <= last:
                        self.stats["duplicates"] += 1
                        continue
                    if r.offset > last + 1:
                        self._gap(topic, partition, last + 1, r.offset)
                records.append(r)
                last = r.offset
            if records:
                self._pos[(topic, partition)] = last
                self._moved[(topic, partition)] = homes[(topic, partition)]
            out[(topic, partition)] = Pulled(records, pulled.at_end)
        return out

    def _gap(self, topic: str, partition: int, expected: int, got: int) -> None:
        self.stats["offset_gaps"] += 1
        self.stats["unrecoverable"] += got - expected
        logs.event(self.logger, "process.offset_gap", logging.ERROR, agent=self.agent, topic=topic,
                   partition=partition, expected=expected, got=got, unrecoverable=got - expected)  # fmt: skip

    def stage(self, home: int) -> None:
        """Put the markers of `home`'s inputs that moved: after the states they cover."""
        for (topic, partition), h in self._moved.items():
            if h == home:
                self.store.put(home, marker_key(topic, partition), {"off": self._pos[(topic, partition)]})

    async def commit(self) -> None:
        """After the store's flush: the next offsets as progress (lag tools, a new worker's start)."""
        moved, self._moved = self._moved, {}
        progress = {tp: pos + 1 for tp in moved if (pos := self._pos.get(tp)) is not None}
        await self.log.commit(progress)

    def forget(self) -> None:
        """Partitions moved: positions are re-read from the (recovered) store."""
        self._pos.clear()
        self._moved.clear()
        self.log.forget()
