"""Watching a worker's step: a failed step ends the process at once (`die`), a slow one is
reported with where it waits (`slow_step_watch`)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

from brain import logs

log = logging.getLogger("brain.process")

EXIT_HANDLER_FAILED = 70  # EX_SOFTWARE
SLOW_STEP_S = 45.0  # a step may wait out a 30 s broker freeze plus a send timeout; longer is news


def die(agent: str, exc: BaseException, logger: logging.Logger = log) -> NoReturn:
    """A step failed (a bug, never bad input: that is counted and skipped). Exit at once, as a
    SIGKILL would, rather than run on in an unknown state. Restarted, the worker resumes from its
    durable states and markers (processors/runtime/cursor.py), so nothing is lost; the
    supervisor (or `brain demo`) sees the exit."""
    logs.event(logger, "process.handler_failed", logging.CRITICAL, agent=agent, error=repr(exc)[:500],
               exit_code=EXIT_HANDLER_FAILED)  # fmt: skip
    logging.exception("traceback of the failure")
    sys.stderr.flush()
    os._exit(EXIT_HANDLER_FAILED)


def await_chain(task: asyncio.Task) -> list[str]:
    """Where a suspended task waits: `file:line function` of each coroutine on its await chain,
    down into awaited tasks (Task.get_stack shows only the outermost frame)."""
    out: list[str] = []
    obj: Any = task.get_coro()
    seen = 0
    while obj is not None and seen < 64:
        seen += 1
        frame = (
            getattr(obj, "cr_frame", None) or getattr(obj, "gi_frame", None) or getattr(obj, "ag_frame", None)
        )
        if frame is not None:
            out.append(
                f"{frame.f_code.co_filename.rsplit('/', 2)[-1]}:{frame.f_lineno} {frame.f_code.co_name}"
            )
        nxt = (
            getattr(obj, "cr_await", None)
            or getattr(obj, "gi_yieldfrom", None)
            or getattr(obj, "ag_await", None)
        )
        if nxt is None and isinstance(obj, asyncio.Task):
            nxt = obj.get_coro()
        elif nxt is None and isinstance(obj, asyncio.Future):
            out.append(f"future {obj!r}"[:200])
        obj = nxt
    return out


@contextmanager
def slow_step_watch(agent: str, after_s: float, logger: logging.Logger = log) -> Iterator[None]:
    """Log `process.batch_slow` (with where the step waits) when one step takes longer than
    `after_s`, and again every `after_s` while it lasts: a step stuck on an await must show where
    (a rebalance waits for it)."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    started = loop.time()
    handle: asyncio.TimerHandle | None = None

    def report() -> None:
        nonlocal handle
        where = " <- ".join(reversed(await_chain(task))) if task is not None else ""
        logs.event(logger, "process.batch_slow", logging.WARNING, agent=agent,
                   seconds=round(loop.time() - started, 1), waiting_in=where[:2000])  # fmt: skip
        handle = loop.call_later(after_s, report)

    handle = loop.call_later(after_s, report)
    try:
        yield
    finally:
        handle.cancel()
