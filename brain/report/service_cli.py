"""`brain reports --config PLANT.yaml --notify NOTIFY.yaml`: the shift-end report service.

See docs/REPORTS.md."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from brain.report.service import ServiceOptions


def configure(parser: argparse.ArgumentParser) -> None:
    d = ServiceOptions()
    a = parser.add_argument
    a("--config", required=True, help="plant config YAML")
    a("--notify", required=True, help="NOTIFY.yaml: receivers (secrets from env) and reports.subscriptions")
    a("--out", default=str(d.out), help=f"where the reports are written (default ./{d.out})")
    a("--kpis-topic", default=d.kpis_topic)
    a(
        "--state-topic",
        default=d.state_topic,
        help=f"compacted topic of delivered reports (default {d.state_topic})",
    )
    a("--deadletter-topic", default=d.deadletter_topic)
    a("--group", default=d.group, help=f"Kafka consumer group (default {d.group})")
    a("--from-beginning", action="store_true", help="a new group starts at the oldest KPI record")
    a(
        "--settle-s",
        type=float,
        default=d.settle_s,
        help="longest wait for InfluxDB to hold the final records",
    )
    a("--no-png", action="store_true", help="skip report.png (no image for the chat robots)")
    a("--log-level", default="INFO")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from brain.plant import PlantConfigError, load_plant
    from brain.report.service import ReportService
    from brain.settings import Settings, SettingsError
    from processors.notify.config import NotifyConfigError, load_notify

    try:
        plant = load_plant(args.config)
        config = load_notify(args.notify)
        config.check_env()
        settings = Settings.from_env()
    except (PlantConfigError, NotifyConfigError, SettingsError) as exc:
        print(f"brain reports: {exc}", file=sys.stderr)
        return 2
    if not config.reports.subscriptions:
        print(
            f"brain reports: {args.notify}: reports.subscriptions: expected at least one, found none",
            file=sys.stderr,
        )
        return 2
    opts = ServiceOptions(
        kpis_topic=args.kpis_topic,
        state_topic=args.state_topic,
        deadletter_topic=args.deadletter_topic,
        group=args.group,
        out=Path(args.out),
        settle_s=args.settle_s,
        offset_reset="earliest" if args.from_beginning else "latest",
        with_png=not args.no_png,
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    ReportService(plant, config, settings, opts).run(stop)
    return 0
