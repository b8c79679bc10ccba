"""`brain process`: run a stream processor worker (readings -> KPI records, machine/line/site).

    brain process --config PLANT.yaml [--workers N] [--app-id ID] [--grace-s S] [--idle-timeout-s S]
                  [--emit-interval-ms MS] [--input-topic T] [--output-topic T] [--late-topic T]
                  [--partials-topic T] [--data-dir DIR] [--pull-max N]

Workers with the same app id share the input partitions (start more of them, or `--workers N`).
docs/PROCESSORS.md describes what it does.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

from brain import logs
from brain.plant import PlantConfigError, load_plant
from brain.settings import Settings, SettingsError
from brain.vocabulary import WINDOWS
from processors.options import ProcessorOptions

log = logging.getLogger("brain.process")


def configure(parser: argparse.ArgumentParser) -> None:
    d = ProcessorOptions()
    a = parser.add_argument
    a("--config", required=True, help="plant YAML (see docs/CONFIG.md)")
    a("--workers", type=int, default=1, help="worker processes to run here (same app id); default 1")
    a("--app-id", default=d.app_id, help=f"app id = consumer group and table names (default {d.app_id})")
    a("--grace-s", type=float, default=d.grace_ms / 1000, help="allowed lateness, seconds (default 30)")
    a(
        "--idle-timeout-s",
        type=float,
        default=d.idle_timeout_ms / 1000,
        help="a machine silent this long (wall clock) has its windows closed; default 60",
    )
    a(
        "--emit-interval-ms",
        type=int,
        default=d.emit_interval_ms,
        help="provisional records of one key at most this often (finals at once); default 1000",
    )
    a("--input-topic", default=d.input_topic)
    a("--output-topic", default=d.output_topic)
    a("--late-topic", default=d.late_topic)
    a(
        "--partials-topic",
        default=d.partials_topic,
        help="machine partials for the rollup (default <app-id>-partials)",
    )
    a(
        "--start-at",
        choices=("earliest", "latest"),
        default=d.start_at,
        help="where a NEW app id starts reading the input: oldest or newest readings (default earliest)",
    )
    a("--windows", default=",".join(d.windows), help=f"comma-separated, from {','.join(WINDOWS)}")
    a("--data-dir", type=Path, default=d.data_dir, help="Faust data dir")
    a(
        "--session-timeout-s",
        type=float,
        default=d.session_timeout_s,
        help="Kafka group session timeout: a dead worker's partitions move after this (default 30)",
    )
    a(
        "--send-timeout-s",
        type=float,
        default=d.send_timeout_s,
        help="Kafka produce request timeout; a batch's unacked sends are retried after it (default 30)",
    )
    a(
        "--pull-max",
        type=int,
        default=d.pull_max,
        help=f"readings per partition per step (default {d.pull_max})",
    )
    a("--stats-interval-s", type=float, default=d.stats_interval_s)
    a("--log-level", default="INFO")
    parser.set_defaults(run=run)


def options(args: argparse.Namespace) -> ProcessorOptions:
    if args.pull_max < 1:
        raise ValueError(f"--pull-max: expected a positive number of readings, got {args.pull_max}")
    windows = tuple(w.strip() for w in args.windows.split(",") if w.strip())
    bad = [w for w in windows if w not in WINDOWS]
    if bad:
        raise ValueError(f"--windows: unknown window {bad[0]!r}; choose from {', '.join(WINDOWS)}")
    return replace(
        ProcessorOptions(),
        app_id=args.app_id,
        input_topic=args.input_topic,
        output_topic=args.output_topic,
        late_topic=args.late_topic,
        partials_topic=args.partials_topic,
        start_at=args.start_at,
        grace_ms=int(args.grace_s * 1000),
        idle_timeout_ms=int(args.idle_timeout_s * 1000),
        emit_interval_ms=args.emit_interval_ms,
        windows=windows,
        data_dir=args.data_dir,
        pull_max=args.pull_max,
        stats_interval_s=args.stats_interval_s,
        session_timeout_s=args.session_timeout_s,
        send_timeout_s=args.send_timeout_s,
    )


def prepare_topics(settings: Settings, opts: ProcessorOptions) -> int:
    """Partition count of the input topic; creates the output, late, partials and assignment
    topics and the tables' changelogs (compacted) when missing, with the settings' replication
    (never changes existing ones). Raises ValueError when they cannot work together."""
    from brain.kafka_admin import KafkaAdminError, admin_client, ensure_topics, partition_count
    from processors.app import TABLES
    from processors.runtime.faust_app import runtime_topics

    admin = admin_client(settings)
    try:
        n = partition_count(settings, opts.input_topic, admin=admin)
        if n == 0:
            raise ValueError(f"input topic {opts.input_topic!r} does not exist")
        internal = {opts.partials: n, **runtime_topics(opts.app_id, n, TABLES)}
        ensure_topics(settings, {opts.output_topic: n, opts.late_topic: n, **internal}, admin=admin)
        for name, spec in internal.items():  # co-partitioned with the input: same count
            if (spec if isinstance(spec, int) else spec.partitions) != n:
                continue  # Faust's leader topic has one partition
            have = partition_count(settings, name, admin=admin)
            if have != n:
                raise ValueError(
                    f"topic {name!r} has {have} partitions, the input topic {n}: they must match"
                )
    except KafkaAdminError as exc:
        raise ValueError(str(exc)) from None
    finally:
        admin.close()
    return n


def run(args: argparse.Namespace) -> int:
    try:
        plant = load_plant(args.config)
        settings = Settings.from_env()
        opts = options(args)
    except (PlantConfigError, SettingsError, ValueError) as exc:
        print(f"brain process: {exc}", file=sys.stderr)
        return 2
    if args.workers > 1:
        return _run_many(args)
    try:
        partitions = prepare_topics(settings, opts)
    except ValueError as exc:
        print(f"brain process: {exc}", file=sys.stderr)
        return 2
    if opts.start_at == "latest":
        from brain.kafka_offsets import start_new_group_at_end

        started = start_new_group_at_end(settings, opts.input_group, [opts.input_topic])
        logs.event(log, "process.start_at", start_at="latest", new_group=started)
    from processors.app import run as run_processors

    opts.data_dir.mkdir(parents=True, exist_ok=True)
    logs.event(
        log,
        "process.start",
        app_id=opts.app_id,
        input=opts.input_topic,
        output=opts.output_topic,
        partitions=partitions,
        grace_ms=opts.grace_ms,
        replication_factor=settings.kafka_replication_factor,
    )
    return run_processors(plant, settings, opts, partitions=partitions, log_level=args.log_level)


def _run_many(args: argparse.Namespace) -> int:
    """`--workers N`: N worker processes of this command, restarted when one exits (supervise.py)."""
    from processors.supervise import Supervisor

    argv = [a for a in sys.argv[1:]]
    if "--workers" in argv:
        i = argv.index("--workers")
        del argv[i : i + 2]
    argv = [a for a in argv if not a.startswith("--workers=")]
    if argv and argv[0] != "process":
        argv.insert(0, "process")
    return Supervisor([sys.executable, "-m", "brain.cli", *argv, "--workers", "1"], args.workers).run()
