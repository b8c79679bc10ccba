"""The glue between Faust and the alert engine (no Faust import here): decode each input
record, apply it once, evaluate, send the events. `processors/alerts/app.py` wires it to Faust.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from brain import logs
from processors.alerts.engine import AlertEngine
from processors.alerts.events import AlertEvent
from processors.gaps import ReadRange, TailWatch, fill_gap

log = logging.getLogger("brain.alerts")


def now_ms() -> int:
    return int(time.time() * 1000)


MARKER = "@in/"
GAP_CHUNK = 10_000  # records read again per request when Faust skipped some


def marker_key(topic: str, partition: int) -> str:
    """The table key of an input partition's marker (alert ids never start with '@')."""
    return f"{MARKER}{topic}/{partition}"


class AlertWorker:
    """The glue between Faust and the engine: decode, evaluate, send. No Faust import here.

    Each input record is applied once (but for a batch cut short by a crash: at least once).
    Next to the alert states the table keeps, per input topic partition, the last offset applied
    (`@in/{topic}/{partition}`: `{"off": N}`), written after the states of the batch: the
    changelog has one partition, so the marker is never ahead of the states it covers, and after
    a crash both come back together. A record at or below the marker is a re-delivery — a
    rebalance re-reads from the last commit (Kafka frozen for 30 s meant 30 s of KPI records
    again) — and is skipped: evaluated again, an old breach would fire an episode that had
    resolved since. A record past the marker's next offset means Faust skipped some
    (processors/gaps.py): they are read again, `GAP_CHUNK` at a time, and applied first; records
    lost at a partition's end are read on the timer's ticks (`read_tails`). One lock orders the
    agent's batches, the tail reads and the ticks: a tick never sees half a re-read range, and
    one alert's events go out in the order they were decided."""

    def __init__(
        self, engine: AlertEngine, table: Any, out: Any, kinds: dict[str, str], read_range: ReadRange
    ) -> None:
        self.engine, self.table, self.out, self.kinds = engine, table, out, kinds
        self.read_range = read_range
        self.tail = TailWatch(read_range, "alerts")
        self._lock = asyncio.Lock()
        # in, bad, out, redelivered, offset_gaps, refetched, unrecoverable
        self.counts: Counter[str] = Counter()

    async def handle_batch(self, records: Iterable[tuple[str, int, int, bytes | None]]) -> None:
        """Apply input records `(topic, partition, offset, value)` in order, each once."""
        async with self._lock:
            await self._apply(records)

    async def read_tails(self, high: Callable[[str, int], int | None]) -> None:
        """Records lost at the END of a partition (no later record shows the jump; seen in the
        processors, gaps.py `TailWatch`): on each tick, a partition whose marker has not moved
        for 3 ticks while its log (`high(topic, partition)`, the consumer's high-water mark) is
        longer is read to the end directly. A false alarm costs a read: Faust's copies of
        those records come later and are skipped as re-deliveries."""
        for key in [k for k in list(self.table.keys()) if isinstance(k, str) and k.startswith(MARKER)]:
            topic, _, part = key[len(MARKER) :].rpartition("/")
            partition = int(part)
            last = self._marker(topic, partition)
            found = await self.tail.check(topic, partition, last, high(topic, partition), self.counts)
            if found:  # holes in it (retention) are counted by the check: not read again
                async with self._lock:
                    await self._apply(((topic, partition, r.offset, r.value) for r in found), refill=False)

    async def _apply(
        self, records: Iterable[tuple[str, int, int, bytes | None]], refill: bool = True
    ) -> None:
        marks: dict[tuple[str, int], int] = {}
        skipped: Counter[tuple[str, int]] = Counter()
        for topic, partition, offset, value in records:
            tp = (topic, partition)
            last = marks[tp] if tp in marks else self._marker(topic, partition)
            if last is not None and offset <= last:
                skipped[tp] += 1
                continue
            if refill and last is not None and offset > last + 1:
                await self._refill(topic, partition, last + 1, offset)
            await self.handle(topic, value)
            marks[tp] = offset
        for (topic, partition), offset in marks.items():  # last: after the states they cover
            self.table[marker_key(topic, partition)] = {"off": offset}
        for (topic, partition), n in skipped.items():
            self.counts["redelivered"] += n
            logs.event(log, "alerts.redelivered", topic=topic, partition=partition, skipped=n,
                       marker=self._marker(topic, partition))  # fmt: skip

    async def _refill(self, topic: str, partition: int, start: int, end: int) -> None:
        """Apply the records [start, end) read again, at most `GAP_CHUNK` in memory at a time."""
        while start < end:
            stop = min(end, start + GAP_CHUNK)
            for m in await fill_gap(self.read_range, topic, partition, start, stop, self.counts, "alerts"):
                await self.handle(topic, m.value)
            start = stop

    def _marker(self, topic: str, partition: int) -> int | None:
        """The last offset applied (None: nothing yet, e.g. a new app id starting at the end)."""
        raw = self.table.get(marker_key(topic, partition))
        return raw.get("off") if isinstance(raw, dict) else None

    async def handle(self, topic: str, value: bytes | None) -> None:
        self.counts["in"] += 1
        try:
            data = orjson.loads(value or b"null")
        except orjson.JSONDecodeError:
            self.counts["bad"] += 1
            return
        if not isinstance(data, dict):
            self.counts["bad"] += 1
            return
        await self.send(self.engine.process(self.kinds[topic], data, self.table, now_ms()))

    async def tick(self) -> None:
        async with self._lock:
            await self.send(self.engine.tick(self.table, now_ms()))

    async def send(self, events: list[AlertEvent]) -> None:
        for event in events:
            await self.out.send(key=event.id.encode(), value=orjson.dumps(event.to_dict()))
            self.counts["out"] += 1
            logs.event(
                log, "alerts.event", id=event.id, state=event.state, severity=event.severity,
                value=event.value, notification=event.notification,
            )  # fmt: skip
