"""Run the platform's services (bridge, processors, sink, alerts, notifier) as child processes.

    pipe = build_pipeline(run_dir, config, bridges=[Bridge("demo-bridge")],
                          processors=Processors("demo-app", start_at="latest"),
                          sink=Sink("demo-sink", start_at_end=settings), ...)

`build_pipeline` is the one place a pipeline is assembled from its services' rows — `brain demo`,
`brain bench`, the end-to-end tests and the fault-injection suite all call it; `Pipeline` is the
supervisor: start the services in order, stop them cleanly (SIGTERM, then SIGKILL), kill or
restart one on purpose, and keep each one's log in a file of the run directory.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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


# ------------------------------------------------------------------------------ the builder


def _flags(**values: Any) -> list[str]:
    """`--name value` for every value that is not None (True: a bare flag; False: left out)."""
    out: list[str] = []
    for name, value in values.items():
        if value is None or value is False:
            continue
        out.append("--" + name.replace("_", "-"))
        if value is not True:
            out.append(f"{value:g}" if isinstance(value, float) else str(value))
    return out


@dataclass(frozen=True, slots=True)
class Bridge:
    """`brain bridge`. `site`: subscribe to that site's v1 topics and Sparkplug group only."""

    client_id: str
    site: str | None = None
    sparkplug: bool = True
    session_expiry_s: int | None = None
    status_interval_s: float | None = 5.0
    shared_group: str | None = None
    metrics_port: int | None = None
    name: str = "bridge"

    def argv(self, config: Path) -> list[str]:
        topics: list[str] = []
        if self.site:
            topics = ["--topic", f"brain/v1/{self.site}/#"]
            if self.sparkplug:
                topics += ["--sparkplug-topic", f"spBv1.0/{self.site}/#"]
        flags = _flags(
            client_id=self.client_id,
            no_sparkplug=not self.sparkplug,
            session_expiry=self.session_expiry_s,
            status_interval=self.status_interval_s,
            shared_group=self.shared_group,
            metrics_port=self.metrics_port,
        )
        return ["bridge", "--config", str(config), *topics, *flags]


@dataclass(frozen=True, slots=True)
class Processors:
    """`brain process`. `start_at="latest"`: a new app id starts at the input's end — committed
    for its progress group by `build_pipeline` before anything starts (so no reading published
    between the start of the services and the worker's first step is skipped)."""

    app_id: str
    start_at: str | None = None
    grace_s: float | None = None
    idle_timeout_s: float | None = None
    windows: Sequence[str] | None = None
    output_topic: str | None = None
    late_topic: str | None = None
    partials_topic: str | None = None
    session_timeout_s: float | None = None
    workers: int | None = None
    stats_interval_s: float | None = 5.0
    extra: Sequence[str] = ()

    def argv(self, config: Path, run_dir: Path) -> list[str]:
        windows = ",".join(self.windows) if self.windows else None
        flags = _flags(
            app_id=self.app_id,
            start_at=self.start_at,
            grace_s=self.grace_s,
            idle_timeout_s=self.idle_timeout_s,
            windows=windows,
            output_topic=self.output_topic,
            late_topic=self.late_topic,
            partials_topic=self.partials_topic,
            session_timeout_s=self.session_timeout_s,
            workers=self.workers,
            stats_interval_s=self.stats_interval_s,
        )
        data = ["--data-dir", str(run_dir / "processors-data")]
        return ["process", "--config", str(config), *data, *flags, *self.extra]


@dataclass(frozen=True, slots=True)
class Alerts:
    """`brain alerts`."""

    app_id: str
    from_beginning: bool = False
    extra: Sequence[str] = ()

    def argv(self, config: Path, run_dir: Path) -> list[str]:
        data = str(run_dir / "alerts-data")
        return ["alerts", "--config", str(config), "--data-dir", data,
                *_flags(app_id=self.app_id, from_beginning=self.from_beginning), *self.extra]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Sink:
    """`brain sink`. `topics`: `kind=topic` pairs (default: the sink's own); `start_at_end`: commit
    the group's offsets at the end of its topics first (a new group reads only what comes next)."""

    group: str
    topics: Sequence[str] = ()
    raw: bool = False
    raw_every_s: float | None = None
    flush_ms: int | None = None
    influx_timeout_ms: int | None = None
    status_interval_s: float | None = 5.0
    start_at_end: Sequence[str] = ()  # topic names whose end the group starts at

    def argv(self) -> list[str]:
        topics = ["--topics", *self.topics] if self.topics else []
        flags = _flags(
            group=self.group,
            raw=self.raw,
            raw_every_s=self.raw_every_s,
            flush_ms=self.flush_ms,
            influx_timeout_ms=self.influx_timeout_ms,
            status_interval=self.status_interval_s,
        )
        return ["sink", *flags, *topics]


@dataclass(frozen=True, slots=True)
class Export:
    """`brain export` (the plant config's `export` allowlist, brain.kpis -> brain.export).
    `start_at_end`: commit the group at the end of brain.kpis first (a new group exports only
    what comes next, not every final record the topic still holds)."""

    group: str
    status_interval_s: float | None = None
    start_at_end: bool = False

    def argv(self, config: Path) -> list[str]:
        flags = _flags(group=self.group, status_interval=self.status_interval_s)
        return ["export", "--config", str(config), *flags]


def build_pipeline(
    run_dir: Path,
    config: Path | str,
    *,
    bridges: Sequence[Bridge] = (),
    processors: Processors | None = None,
    alerts: Alerts | None = None,
    sink: Sink | None = None,
    export: Export | None = None,
    simulator: Sequence[str] | None = None,
    settings: Any = None,
    env: Mapping[str, str] | None = None,
) -> Pipeline:
    """The platform's services for one plant config, in start order (bridges, processors, alerts,
    sink, export, simulator: `simulate` flags after `--config`), not started. `settings`
    (brain.settings.Settings) is needed when the sink or the export starts at the end of its topics."""
    config = Path(config)
    pipe = Pipeline(run_dir, env=None if env is None else dict(env))
    for bridge in bridges:
        pipe.add(bridge.name, bridge.argv(config))
    if processors is not None:
        if processors.start_at == "latest":
            from brain.kafka_offsets import start_new_group_at_end
            from brain.settings import TOPIC_READINGS
            from processors.options import ProcessorOptions

            if settings is None:
                raise ValueError("build_pipeline: processors that start at the end need `settings`")
            group = ProcessorOptions(app_id=processors.app_id).input_group
            start_new_group_at_end(settings, group, [TOPIC_READINGS])
        pipe.add("processors", processors.argv(config, run_dir))
    if alerts is not None:
        pipe.add("alerts", alerts.argv(config, run_dir))
    if sink is not None:
        if sink.start_at_end:
            from brain.kafka_offsets import start_new_group_at_end

            if settings is None:
                raise ValueError("build_pipeline: a sink that starts at the end needs `settings`")
            start_new_group_at_end(settings, sink.group, list(sink.start_at_end))
        pipe.add("sink", sink.argv())
    if export is not None:
        if export.start_at_end:
            from brain.kafka_offsets import start_new_group_at_end
            from brain.settings import TOPIC_KPIS

            if settings is None:
                raise ValueError("build_pipeline: an export that starts at the end needs `settings`")
            start_new_group_at_end(settings, export.group, [TOPIC_KPIS])
        pipe.add("export", export.argv(config))
    if simulator is not None:
        pipe.add("simulator", ["simulate", "--config", str(config), *simulator])
    return pipe
