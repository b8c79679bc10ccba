"""`brain process --consumer direct`: the machines agent pulls its readings itself.

Faust's event path costs ~90 % of a worker (docs/BENCHMARKS.md, "Processors": the batch handler
alone runs ~11-13x faster fed by aiokafka's `getmany`). In this mode the machines agent consumes
only its tick topic; on each tick of partition p it pulls input partition p with one plain
aiokafka consumer of its own (manual assignment, no group membership) from its last handled
offset, up to a bound, and hands the records to the same handler. Faust still owns the group,
the partition assignment (tick partition p and changelog partition p go together), the table
and its changelog, and the rollup.

The position is the `@p` marker the handler writes last with the machine states: a crash re-reads
from there (the same records again, idempotent by key), a rebalance hands the partition over with
its marker. Faust commits nothing for the input topic, so after each batch the reader commits the
next offset to a group of its own, `<app-id>-input` (progress for lag tools and `brain bench`,
and the start of a NEW app id: `--start-at latest` commits there first). No member ever joins
that group; its commits are never the source of truth.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from brain import logs
from processors.gaps import Fetched

log = logging.getLogger("brain.process")

PULL_TIMEOUT_S = 30.0  # one pull, Kafka unavailable: give up (nothing skipped, the next tick retries)
RETRY_S = 5.0  # after a failed pull, pulls return nothing this long (bounds one batch's wait)
COMMIT_TIMEOUT_S = 5.0  # progress commit: best effort, never holds a batch long


class InputReader:
    """Pulls ranges of one input topic's partitions for the machines agent (see module doc)."""

    def __init__(
        self,
        bootstrap: str,
        client_kwargs: dict[str, Any],
        topic: str,
        group: str,
        partitions: int,
        start_at: str = "earliest",
        fetch_timeout_ms: int = 100,
    ) -> None:
        self.bootstrap, self.client_kwargs = bootstrap, client_kwargs
        self.topic, self.group, self.partitions, self.start_at = topic, group, partitions, start_at
        self.fetch_timeout_ms = fetch_timeout_ms
        self._consumer: Any = None
        self._failed_at = -1e9  # loop time of the last failed pull
        self._next: dict[int, int] = {}  # partition -> the offset the consumer's position is at

    async def _ensure(self) -> Any:
        if self._consumer is None:
            from aiokafka import AIOKafkaConsumer, TopicPartition

            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap,
                group_id=self.group,
                enable_auto_commit=False,
                auto_offset_reset="earliest",  # below the log start (retention): from what is left
                max_partition_fetch_bytes=4 * 1024 * 1024,
                **self.client_kwargs,
            )
            await consumer.start()
            # Every partition assigned once, paused until pulled: changing a manual assignment
            # while aiokafka's group coordinator runs can crash its routine for good
            # ("Unexpected error during coordination AssertionError()" on every later call; seen
            # when a restarted worker took partitions 0 and 2 one after the other).
            tps = [TopicPartition(self.topic, p) for p in range(self.partitions)]
            consumer.assign(tps)
            consumer.pause(*tps)
            self._consumer = consumer
            self._next.clear()
        return self._consumer

    async def _reset(self) -> None:
        """A pull failed: start over with a new consumer next time (whatever state it was in)."""
        consumer, self._consumer = self._consumer, None
        self._next.clear()
        if consumer is not None:
            try:
                await asyncio.wait_for(consumer.stop(), COMMIT_TIMEOUT_S)
            except Exception as exc:  # Kafka unavailable: the old consumer is dropped anyway
                logs.event(log, "process.reader_stop_failed", logging.WARNING, error=repr(exc)[:200])

    async def _place(self, partition: int, last: int | None) -> Any:
        """Resume `partition` if paused and put the position right after `last`. None (nothing
        handled yet): where a new app id starts — the input group's committed offset, else
        `start_at` — once; then wherever the pulls got to."""
        from aiokafka import TopicPartition

        consumer = await self._ensure()
        tp = TopicPartition(self.topic, partition)
        if tp in consumer.paused():
            consumer.resume(tp)
        want = None if last is None else last + 1
        if partition in self._next and (want is None or self._next[partition] == want):
            return tp
        if want is not None:
            consumer.seek(tp, want)
        else:
            committed = await consumer.committed(tp)
            if committed is not None:
                consumer.seek(tp, committed)
            elif self.start_at == "latest":
                await consumer.seek_to_end(tp)
            else:
                await consumer.seek_to_beginning(tp)
        self._next[partition] = await consumer.position(tp)
        return tp

    async def pull(self, partition: int, last: int | None, limit: int) -> tuple[list[Fetched], bool]:
        """Up to `limit` records of `partition` after offset `last`, and whether that reaches
        the partition's end (what the idle timeout needs to know). Kafka unavailable: nothing
        this time (logged); the position is the caller's, so nothing is skipped. After a failed
        pull the others return nothing for RETRY_S, so one batch waits at most PULL_TIMEOUT_S
        however many partitions it has (a long batch would hold Faust's rebalance)."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._failed_at < RETRY_S:
            self._next.pop(partition, None)
            return [], False
        try:
            return await asyncio.wait_for(self._pull(partition, last, limit), PULL_TIMEOUT_S)
        except Exception as exc:
            self._failed_at = loop.time()
            await self._reset()
            logs.event(log, "process.pull_failed", logging.WARNING, topic=self.topic, partition=partition,
                       error=repr(exc)[:200])  # fmt: skip
            return [], False

    async def _pull(self, partition: int, last: int | None, limit: int) -> tuple[list[Fetched], bool]:
        consumer = await self._ensure()
        tp = await self._place(partition, last)
        out: list[Fetched] = []
        waited = False  # the fetcher prefetches: take what it has, wait once when it has nothing
        while len(out) < limit:
            timeout = self.fetch_timeout_ms if waited else 0
            got = await consumer.getmany(tp, timeout_ms=timeout, max_records=limit - len(out))
            records = got.get(tp, ())
            out.extend(Fetched(r.offset, r.value) for r in records)
            position = self._next[partition] = await consumer.position(tp)
            high = consumer.highwater(tp)
            at_end = high is not None and position >= high
            if records:
                waited = False
            elif at_end or waited:
                return out, at_end
            else:
                waited = True
        return out, False

    async def commit(self, offsets: dict[int, int]) -> None:
        """Progress for lag tools: the next offset per partition to `<app-id>-input` (best effort)."""
        if not offsets or self._consumer is None:
            return
        from aiokafka import TopicPartition

        try:
            commit = self._consumer.commit({TopicPartition(self.topic, p): o for p, o in offsets.items()})
            await asyncio.wait_for(commit, COMMIT_TIMEOUT_S)
        except Exception as exc:  # progress only: the `@p` markers are the truth
            logs.event(log, "process.input_commit_failed", logging.WARNING, error=repr(exc)[:200])

    def forget(self) -> None:
        """Partitions moved: pause them all (no fetching for partitions another worker may
        own now) and re-place each before its next pull."""
        self._next.clear()
        if self._consumer is not None:
            self._consumer.pause(*self._consumer.assignment())

    async def stop(self) -> None:
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await consumer.stop()
