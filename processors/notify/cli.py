"""`brain notify --config NOTIFY.yaml`: deliver `brain.alerts` to MQTT and webhooks (docs/ALERTS.md)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from dataclasses import replace

from processors.notify.service import NotifyOptions


def configure(parser: argparse.ArgumentParser) -> None:
    d = NotifyOptions()
    a = parser.add_argument
    a("--config", required=True, help="NOTIFY.yaml: mqtt, receivers (secrets from env), routes")
    a("--topic", default=d.topic, help=f"alerts topic (default {d.topic})")
    a("--deadletter-topic", default=d.deadletter_topic)
    a("--group", default=d.group, help=f"Kafka consumer group (default {d.group})")
    a("--from-beginning", action="store_true", help="a new group starts at the oldest alert, not the newest")
    a("--log-level", default="INFO")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from brain.settings import Settings, SettingsError
    from processors.notify.config import NotifyConfigError, load_notify
    from processors.notify.service import Notifier

    try:
        config = load_notify(args.config)
        config.check_env()
        settings = Settings.from_env()
    except (NotifyConfigError, SettingsError) as exc:
        print(f"brain notify: {exc}", file=sys.stderr)
        return 2
    opts = replace(
        NotifyOptions(),
        topic=args.topic,
        deadletter_topic=args.deadletter_topic,
        group=args.group,
        offset_reset="earliest" if args.from_beginning else "latest",
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    Notifier(config, settings, opts).run(stop)
    return 0
