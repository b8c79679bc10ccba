"""The ports a stream worker runs on: where its input comes from, where its output goes, where
its state lives. Three small protocols, no framework: the Faust adapter (`faust_app.py`) and the
Kafka edges (`kafka.py`) implement them for the service, `memory.py` for tests and
`run_processors`.

    log.pull(topic, partition, after, limit) -> Pulled   # records after offset `after`, in order
    outbox.add(topic, key, value); await outbox.flush()  # durable (acknowledged) when it returns
    store.put(partition, key, state); await store.flush()  # likewise, in the order of the puts

State values are JSON-able dicts. A store keeps, per partition, what its worker wrote for the
keys of that partition; the key `p` inside a value is the store's (the partition it belongs to).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol


class Fetched(NamedTuple):
    """One input record: its offset in its partition and its value."""

    offset: int
    value: bytes | None


class Pulled(NamedTuple):
    """What one pull got, and whether it reached the partition's end (an empty, caught-up pull:
    `Pulled([], True)`). Only a caught-up partition lets a worker take silence for real."""

    records: list[Fetched]
    at_end: bool


Want = tuple[str, int, int | None]  # (topic, partition, the last offset applied or None)


class InputLog(Protocol):
    async def pull(self, wants: Sequence[Want], limit: int) -> dict[tuple[str, int], Pulled]:
        """For each (topic, partition, after): about `limit` records with offsets above `after`
        (None: where a new consumer starts — the progress committed before, else the earliest),
        all in one round (one wait at most, however many partitions). A log that cannot answer
        now gives `Pulled([], False)`: the caller keeps its position."""
        ...

    async def commit(self, progress: Mapping[tuple[str, int], int]) -> None:
        """Progress for people and tools (the next offset per topic partition); never the truth."""
        ...

    def forget(self) -> None:
        """Partitions moved: forget any cached positions."""
        ...


class Outbox(Protocol):
    def add(self, topic: str, key: bytes, value: bytes | None, partition: int | None = None) -> None:
        """Queue one message (partition None: by key)."""
        ...

    async def flush(self) -> None:
        """Return once every queued message is acknowledged; retry what is not."""
        ...


class StateStore(Protocol):
    def get(self, key: str) -> dict[str, Any] | None:
        """The latest value put for `key` (staged or durable), or None."""
        ...

    def keys(self, partition: int) -> list[str]:
        """The keys holding a value for `partition` (after a restart or a rebalance: recovered)."""
        ...

    def put(self, partition: int, key: str, value: dict[str, Any] | None) -> None:
        """Stage a value (None: delete) for `key` in `partition`; visible to `get` at once."""
        ...

    async def flush(self) -> None:
        """Return once every staged write is durable, in the order they were put."""
        ...
