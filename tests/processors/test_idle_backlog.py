"""The idle timeout waits while the worker is still reading a backlog of its input partition.

Found by the end-to-end benchmark: with a backlog, a machine whose readings were still queued
was taken as silent by the wall-clock idle timeout, its watermark moved on, and 68,554 of its
queued readings then arrived too late — KPIs under-counted. Only a caught-up partition may time
a machine out.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from processors.machine_agent import MachineWorker
from processors.options import ProcessorOptions
from tests.processors import data


class _Consumer:
    def __init__(self, high: int | None, position: int | None) -> None:
        self.high, self.pos = high, position

    def highwater(self, tp: Any) -> int | None:
        return self.high

    async def position(self, tp: Any) -> int | None:
        return self.pos


def _worker(consumer: _Consumer) -> MachineWorker:
    topic = SimpleNamespace(get_topic_name=lambda: "t")
    app = SimpleNamespace(consumer=consumer)
    return MachineWorker(
        app,
        data.plant(),
        ProcessorOptions(),
        table={},
        topics={"out": topic, "late": topic, "partials": topic},
        read_range=_no_reads,
    )


async def _no_reads(topic: str, partition: int, start: int, end: int) -> list:
    raise AssertionError("no gap here")


def test_backlog_defers_the_idle_timeout() -> None:
    worker = _worker(_Consumer(high=1_000, position=1_000))
    worker.read_offset[0] = 499  # handled up to 499, the partition ends at 1,000: a backlog
    assert asyncio.run(worker._caught_up(0)) is False
    assert worker.stats["idle_deferred"] == 1
    worker.read_offset[0] = 999  # read to the end: silence is real now
    assert asyncio.run(worker._caught_up(0)) is True


def test_nothing_read_yet_uses_the_fetch_position() -> None:
    assert asyncio.run(_worker(_Consumer(high=50, position=10))._caught_up(3)) is False
    assert asyncio.run(_worker(_Consumer(high=50, position=50))._caught_up(3)) is True  # restart, no new data


def test_unknown_highwater_keeps_the_timeout() -> None:
    assert asyncio.run(_worker(_Consumer(high=None, position=None))._caught_up(0)) is True
