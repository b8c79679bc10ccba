"""In-memory ports: the production workers without Kafka or Faust (tests, `run_processors`).

- `MemoryLog` is both an `InputLog` and an `Outbox`: topics of partitions of `(key, value)`
  records; a message without a partition goes to `crc32(key) % partitions` (one key, one
  partition, as in Kafka; not Kafka's hash — nothing here needs to agree with a broker).
  `flush` makes queued messages readable; `drop_unflushed` is a crash before the flush.
- `MemoryStore` keeps durable values per partition and the staged ones until `flush`;
  `crash()` loses what was staged, as a killed worker loses what it had not flushed. Values go
  through JSON on every write, like a changelog, so a state that does not survive JSON fails here.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from processors.runtime.ports import Fetched, Pulled, Want


class MemoryLog:
    def __init__(self, partitions: Mapping[str, int] | None = None, default_partitions: int = 3) -> None:
        self.default_partitions = default_partitions
        self.topics: dict[str, list[list[tuple[bytes, bytes | None]]]] = {}
        for name, n in (partitions or {}).items():
            self.create(name, n)
        self.queued: list[tuple[str, bytes, bytes | None, int | None]] = []
        self.progress: dict[tuple[str, int], int] = {}

    def create(self, topic: str, partitions: int) -> None:
        if topic not in self.topics:
            self.topics[topic] = [[] for _ in range(partitions)]

    def partitions(self, topic: str) -> int:
        self.create(topic, self.default_partitions)
        return len(self.topics[topic])

    def produce(self, topic: str, key: bytes, value: bytes | None, partition: int | None = None) -> int:
        """Append one record now; returns its partition."""
        n = self.partitions(topic)
        p = zlib.crc32(key) % n if partition is None else partition
        self.topics[topic][p].append((key, value))
        return p

    def records(self, topic: str) -> list[tuple[bytes, bytes | None]]:
        """Every record of `topic`, partition by partition."""
        return [r for part in self.topics.get(topic, []) for r in part]

    # --- Outbox ---
    def add(self, topic: str, key: bytes, value: bytes | None, partition: int | None = None) -> None:
        self.queued.append((topic, key, value, partition))

    async def flush(self) -> None:
        queued, self.queued = self.queued, []
        for item in queued:
            self.produce(*item)

    def drop_unflushed(self) -> None:
        self.queued.clear()

    # --- InputLog ---
    async def pull(self, wants: Sequence[Want], limit: int) -> dict[tuple[str, int], Pulled]:
        out = {}
        for topic, partition, after in wants:
            part = self.topics[topic][partition] if topic in self.topics else []
            start = after + 1 if after is not None else self.progress.get((topic, partition), 0)
            end = min(len(part), start + limit)
            out[(topic, partition)] = Pulled(
                [Fetched(o, part[o][1]) for o in range(start, end)], end >= len(part)
            )
        return out

    async def commit(self, progress: Mapping[tuple[str, int], int]) -> None:
        self.progress.update(progress)

    def forget(self) -> None:
        pass


class MemoryStore:
    def __init__(self) -> None:
        self.durable: dict[str, bytes] = {}
        self.staged: list[tuple[str, bytes | None]] = []
        self._view: dict[str, bytes | None] = {}
        self.writes = 0

    def get(self, key: str) -> dict[str, Any] | None:
        raw = self._view[key] if key in self._view else self.durable.get(key)
        return None if raw is None else orjson.loads(raw)

    def keys(self, partition: int) -> list[str]:
        keys = set(self.durable) | set(self._view)
        out = []
        for k in sorted(keys):
            v = self.get(k)
            if v is not None and v.get("p") == partition:
                out.append(k)
        return out

    def put(self, partition: int, key: str, value: dict[str, Any] | None) -> None:
        raw = None if value is None else orjson.dumps({**value, "p": partition})
        self.staged.append((key, raw))
        self._view[key] = raw

    async def flush(self) -> None:
        staged, self.staged = self.staged, []
        for key, raw in staged:
            self.writes += 1
            if raw is None:
                self.durable.pop(key, None)
            else:
                self.durable[key] = raw
        self._view.clear()

    def crash(self) -> None:
        """A worker killed before its flush: what was staged is lost."""
        self.staged.clear()
        self._view.clear()
