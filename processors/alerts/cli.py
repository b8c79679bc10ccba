"""`brain alerts`: evaluate the plant config's alert rules on the stream, emit to brain.alerts.

    brain alerts --config PLANT.yaml [--app-id ID] [--readings-topic T] [--kpis-topic T]
                 [--deadletter-topic T] [--output-topic T] [--tick-s S] [--from-beginning]

Run ONE worker per app id (docs/ALERTS.md says why). Deliver the events with `brain notify`.
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
from processors.alerts.app import AlertOptions

log = logging.getLogger("brain.alerts")


def configure(parser: argparse.ArgumentParser) -> None:
    d = AlertOptions()
    a = parser.add_argument
    a("--config", required=True, help="plant YAML with `alerts:` rules (docs/ALERTS.md)")
    a(
        "--app-id",
        default=d.app_id,
        help=f"Faust app id = consumer group and table names (default {d.app_id})",
    )
    a("--readings-topic", default=d.readings_topic)
    a("--kpis-topic", default=d.kpis_topic)
    a("--deadletter-topic", default=d.deadletter_topic)
    a("--output-topic", default=d.output_topic)
    a("--tick-s", type=float, default=d.tick_s, help="wall-clock timer period (silence, for-durations)")
    a("--from-beginning", action="store_true", help="a new app id reads the inputs from the start")
    a("--data-dir", type=Path, default=d.data_dir, help="Faust data dir")
    a("--store", default=d.store, help="table store: memory:// (default) or rocksdb://")
    a("--log-level", default="INFO")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        plant = load_plant(args.config)
        settings = Settings.from_env()
    except (PlantConfigError, SettingsError) as exc:
        print(f"brain alerts: {exc}", file=sys.stderr)
        return 2
    if not plant.alerts:
        print(f"brain alerts: {args.config}: no alert rules (`alerts:`)", file=sys.stderr)
        return 2
    opts = replace(
        AlertOptions(),
        app_id=args.app_id,
        readings_topic=args.readings_topic,
        kpis_topic=args.kpis_topic,
        deadletter_topic=args.deadletter_topic,
        output_topic=args.output_topic,
        tick_s=args.tick_s,
        store=args.store,
        data_dir=args.data_dir,
        offset_reset="earliest" if args.from_beginning else "latest",
    )
    from brain.stack.servers import ensure_topics
    from processors.alerts.app import build_app
    from processors.worker import run_worker

    _create_missing(settings.kafka_bootstrap, opts, ensure_topics, settings.kafka_kwargs())
    opts.data_dir.mkdir(parents=True, exist_ok=True)
    app = build_app(plant, settings, opts)
    logs.event(
        log, "alerts.start", app_id=opts.app_id, rules=len(plant.alerts), output=opts.output_topic,
        inputs=",".join((opts.readings_topic, opts.kpis_topic, opts.deadletter_topic)),
    )  # fmt: skip
    return run_worker(app, args.log_level)


def _create_missing(bootstrap: str, opts: AlertOptions, ensure_topics, client_kwargs: dict) -> None:
    """Create the output topic (3 partitions) and any missing input topic (1); never change an
    existing topic."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=15000, **client_kwargs)
    try:
        existing = consumer.topics()
    finally:
        consumer.close()
    wanted = {opts.output_topic: 3, opts.readings_topic: 1, opts.kpis_topic: 1, opts.deadletter_topic: 1}
    missing = {name: n for name, n in wanted.items() if name not in existing}
    if missing:
        ensure_topics(bootstrap, missing, client_kwargs)
