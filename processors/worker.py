"""Run a Faust app as a worker in this process: the one place `brain process` and `brain alerts`
start Faust (our logging stays in charge; the exit code comes back as an int)."""

from __future__ import annotations

from typing import Any


def run_worker(app: Any, log_level: str) -> int:
    from faust.worker import Worker

    worker = Worker(app, loglevel=log_level.upper(), quiet=True, override_logging=False)
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0
