"""`brain alerts`: evaluate the plant config's alert rules on the stream, emit to brain.alerts.

    brain alerts --config PLANT.yaml [--app-id ID] [--readings-topic T] [--kpis-topic T]
                 [--deadletter-topic T] [--output-topic T] [--tick-s S] [--from-beginning]

One process of an app id owns the alert states; more with the same app id wait as hot standbys
(docs/ALERTS.md). Deliver the events with `brain notify`.
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
from processors.alerts.options import AlertOptions

log = logging.getLogger("brain.alerts")


def configure(parser: argparse.ArgumentParser) -> None:
    d = AlertOptions()
    a = parser.add_argument
    a("--config", required=True, help="plant YAML with `alerts:` rules (docs/ALERTS.md)")
    a("--app-id", default=d.app_id, help=f"app id = consumer group and table names (default {d.app_id})")
    a("--readings-topic", default=d.readings_topic)
    a("--kpis-topic", default=d.kpis_topic)
    a("--deadletter-topic", default=d.deadletter_topic)
    a("--output-topic", default=d.output_topic)
    a("--tick-s", type=float, default=d.tick_s, help="wall-clock timer period (silence, for-durations)")
    a("--from-beginning", action="store_true", help="a new app id reads the inputs from the start")
    a("--data-dir", type=Path, default=d.data_dir, help="Faust data dir")
    a("--stats-interval-s", type=float, default=d.stats_interval_s, help="how often a stats line is logged")
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
        data_dir=args.data_dir,
        stats_interval_s=args.stats_interval_s,
        start_at="earliest" if args.from_beginning else "latest",
    )
    try:
        partitions = prepare_topics(settings, opts)
    except ValueError as exc:
        print(f"brain alerts: {exc}", file=sys.stderr)
        return 2
    if opts.start_at == "latest":  # exact, where auto.offset.reset=latest would race the producers
        from brain.kafka_offsets import start_new_group_at_end

        start_new_group_at_end(settings, opts.input_group, list(opts.inputs))
    from processors.alerts.app import run as run_alerts

    opts.data_dir.mkdir(parents=True, exist_ok=True)
    logs.event(log, "alerts.start", app_id=opts.app_id, rules=len(plant.alerts), output=opts.output_topic,
               inputs=",".join(opts.inputs), start_at=opts.start_at)  # fmt: skip
    return run_alerts(plant, settings, opts, partitions=partitions, log_level=args.log_level)


def prepare_topics(settings: Settings, opts: AlertOptions) -> dict[str, int]:
    """The partition count of each input; creates the output topic (3 partitions), any missing
    input (1), the assignment topic and the table's changelog (1, compacted). Never changes an
    existing topic."""
    from brain.kafka_admin import KafkaAdminError, TopicSpec, admin_client, ensure_topics, partition_count
    from processors.alerts.app import TABLE
    from processors.runtime.faust_app import runtime_topics

    admin = admin_client(settings)
    try:
        have = {t: partition_count(settings, t, admin=admin) for t in (*opts.inputs, opts.output_topic)}
        wanted: dict[str, int | TopicSpec] = {
            t: (3 if t == opts.output_topic else 1) for t, n in have.items() if not n
        }
        wanted.update(runtime_topics(opts.app_id, 1, (TABLE,)))
        ensure_topics(settings, wanted, admin=admin)
        return {t: have[t] or 1 for t in opts.inputs}
    except KafkaAdminError as exc:
        raise ValueError(str(exc)) from None
    finally:
        admin.close()
