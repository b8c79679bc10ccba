"""Run the platform's services (bridge, processors, sink, alerts, notifier) as child processes.

One supervisor used by `brain demo`, `brain bench`, the end-to-end tests and the fault-injection
suite: start them in order, stop them cleanly (SIGTERM, then SIGKILL), kill or restart one of
them on purpose, and keep each one's log in a file of the run directory.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Service:
    """One `brain` subcommand run as a child process."""

    name: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    log_file: Path | None = None
    starts: int = 0

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None


class Pipeline:
    """A set of services with their logs under `run_dir`. Use as a context manager."""

    def __init__(self, run_dir: Path, *, env: dict[str, str] | None = None) -> None:
        self.run_dir = run_dir
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.env = dict(os.environ if env is None else env)
        self.services: dict[str, Service] = {}

    def add(self, name: str, args: Sequence[str], env: dict[str, str] | None = None) -> Service:
        service = Service(name, list(args), dict(env or {}))
        self.services[name] = service
        return service

    def start(self, name: str) -> Service:
        service = self.services[name]
        if service.alive:
            return service
        service.starts += 1
        service.log_file = self.run_dir / f"{name}.log"
        with open(service.log_file, "ab") as log:
            log.write(f"--- start #{service.starts}: brain {' '.join(service.args)}\n".encode())
            log.flush()
            service.proc = subprocess.Popen(
                [sys.executable, "-m", "brain.cli", *service.args],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**self.env, **service.env},
                start_new_session=True,  # Ctrl-C in a terminal reaches us, and we stop them in order
            )
        return service

    def start_all(self) -> None:
        for name in self.services:
            self.start(name)

    def stop(self, name: str, *, timeout_s: float = 20.0) -> int | None:
        """SIGTERM (the services flush and commit on it), SIGKILL after `timeout_s`."""
        service = self.services[name]
        if service.proc is None:
            return None
        if service.alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(service.proc.pid, signal.SIGTERM)
            try:
                service.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(service.proc.pid, signal.SIGKILL)
                service.proc.wait(10)
        return service.proc.returncode

    def kill(self, name: str) -> None:
        """SIGKILL without warning: a crash, for fault-injection tests."""
        service = self.services[name]
        if service.alive and service.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(service.proc.pid, signal.SIGKILL)
            service.proc.wait(10)

    def restart(self, name: str) -> Service:
        self.stop(name)
        return self.start(name)

    def stop_all(self) -> None:
        # Reverse order: the front door first, so nothing new enters while the rest drains.
        for name in reversed(list(self.services)):
            self.stop(name)

    def dead(self) -> list[str]:
        """Services that exited although nobody stopped them, with the tail of their logs."""
        out = []
        for service in self.services.values():
            if service.proc is not None and not service.alive:
                tail = ""
                if service.log_file and service.log_file.exists():
                    tail = "\n".join(service.log_file.read_text(errors="replace").splitlines()[-15:])
                out.append(
                    f"{service.name} exited with {service.proc.returncode}; {service.log_file}:\n{tail}"
                )
        return out

    def wait_for_log(self, name: str, text: str, timeout_s: float = 60.0) -> bool:
        """Wait until a service's log contains `text` (e.g. its ready line)."""
        deadline = time.monotonic() + timeout_s
        service = self.services[name]
        while time.monotonic() < deadline:
            if (
                service.log_file
                and service.log_file.exists()
                and text in service.log_file.read_text(errors="replace")
            ):
                return True
            if not service.alive:
                return False
            time.sleep(0.2)
        return False

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()


@contextlib.contextmanager
def running(pipeline: Pipeline) -> Iterator[Pipeline]:
    """Start every service; stop them all on the way out, whatever happened."""
    try:
        pipeline.start_all()
        yield pipeline
    finally:
        pipeline.stop_all()
