"""A step stuck on an await is reported with where it waits (`process.batch_slow`): a rebalance
waits for the step in hand, and the report must say where that step waits."""

from __future__ import annotations

import asyncio
import logging

import pytest

from processors.runtime.watch import slow_step_watch


async def _stuck_in_a_read(never: asyncio.Event) -> None:
    await asyncio.wait_for(never.wait(), 10)


async def _handler(never: asyncio.Event) -> None:
    with slow_step_watch("machines", 0.05):
        await _stuck_in_a_read(never)


def test_a_slow_batch_is_reported_with_its_await_chain(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        never = asyncio.Event()
        task = asyncio.create_task(_handler(never))
        await asyncio.sleep(0.13)  # two reports
        never.set()
        await task
        await asyncio.sleep(0.1)  # done: no report after the batch

    with caplog.at_level(logging.WARNING, logger="brain.process"):
        asyncio.run(main())
    reports = [r for r in caplog.records if r.getMessage() == "process.batch_slow"]
    assert len(reports) == 2
    fields = reports[0].fields  # type: ignore[attr-defined]
    assert fields["agent"] == "machines" and fields["seconds"] >= 0.05
    assert "_stuck_in_a_read" in fields["waiting_in"] and "_handler" in fields["waiting_in"]
    assert "wait_for" in fields["waiting_in"]
