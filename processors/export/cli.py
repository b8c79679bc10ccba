"""`brain export --config PLANT.yaml`: the plant's export allowlist on brain.kpis -> brain.export."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from brain import settings as _settings


def configure(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    parser.add_argument("--config", required=True, metavar="PLANT.yaml", help="plant config with `export`")
    parser.add_argument("--input-topic", default=_settings.TOPIC_KPIS)
    parser.add_argument("--output-topic", default=_settings.TOPIC_EXPORT)
    parser.add_argument("--deadletter-topic", default=_settings.TOPIC_DEADLETTER)
    parser.add_argument(
        "--group",
        default=env("BRAIN_EXPORT_GROUP", "brain-export"),
        help="Kafka consumer group (env BRAIN_EXPORT_GROUP, default brain-export)",
    )
    parser.add_argument("--batch-size", type=int, default=1000, metavar="N", help="records per poll")
    parser.add_argument(
        "--status-interval", type=float, default=10.0, metavar="S", help="seconds between export.status lines"
    )
    parser.add_argument("--log-level", default=env("BRAIN_LOG_LEVEL", "INFO"))
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from brain.plant import PlantConfigError, load_plant
    from processors.export.service import Exporter, ExportOptions

    try:
        plant = load_plant(args.config)
    except PlantConfigError as exc:
        print(f"brain export: error: {exc}", file=sys.stderr)
        return 2
    if plant.export is None:
        print(
            f"brain export: error: {args.config}: export: expected a mapping (the export allowlist, "
            "docs/CONFIG.md), found nothing: this plant exports nothing",
            file=sys.stderr,
        )
        return 2
    if args.batch_size < 1:
        print("brain export: error: --batch-size must be positive", file=sys.stderr)
        return 2
    options = ExportOptions(
        input_topic=args.input_topic,
        output_topic=args.output_topic,
        deadletter_topic=args.deadletter_topic,
        group=args.group,
        batch_size=args.batch_size,
        status_interval_s=args.status_interval,
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    Exporter(_settings.Settings.from_env(), plant.export, options).run(stop)
    return 0
