"""Run a Faust app as a worker in this process: the one place `brain process` and `brain alerts`
start Faust (our logging stays in charge; the exit code comes back as an int)."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, NoReturn

from brain import logs

log = logging.getLogger("brain.process")

EXIT_HANDLER_FAILED = 70  # EX_SOFTWARE


def die(agent: str, exc: BaseException) -> NoReturn:
    """A handler failed (a bug, never bad input: that is counted and skipped). Exit at once, as
    a SIGKILL would: Faust would otherwise restart the agent after acking — and committing — the
    batch that failed, and the worker would run on without it. Restarted, the worker resumes from
    its durable state and offset marker (processors/gaps.py), so nothing is lost; the supervisor
    (or `brain demo`) sees the exit."""
    logs.event(log, "process.handler_failed", logging.CRITICAL, agent=agent, error=repr(exc)[:500],
               exit_code=EXIT_HANDLER_FAILED)  # fmt: skip
    logging.exception("traceback of the failure")
    sys.stderr.flush()
    os._exit(EXIT_HANDLER_FAILED)


def run_worker(app: Any, log_level: str) -> int:
    from faust.worker import Worker

    worker = Worker(app, loglevel=log_level.upper(), quiet=True, override_logging=False)
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0
