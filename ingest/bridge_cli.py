"""`brain bridge`: run the MQTT -> Kafka bridge (see ingest/bridge.py and docs/INGEST.md)."""

from __future__ import annotations

import argparse
import os
import signal
import threading
from dataclasses import replace


def configure(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    parser.add_argument(
        "--config", default=env("BRAIN_PLANT_CONFIG"),
        help="plant config YAML: state code maps, sparkplug mapping (env BRAIN_PLANT_CONFIG)",
    )  # fmt: skip
    parser.add_argument(
        "--client-id",
        default=env("BRAIN_BRIDGE_CLIENT_ID", "brain-bridge"),
        help="MQTT client id; the persistent session is tied to it (env BRAIN_BRIDGE_CLIENT_ID)",
    )
    parser.add_argument(
        "--shared-group",
        default=env("BRAIN_BRIDGE_SHARED_GROUP"),
        help="subscribe $share/GROUP/brain/v1/# so several bridges split the load "
        "(each needs its own --client-id)",
    )
    parser.add_argument(
        "--no-sparkplug",
        dest="sparkplug",
        action="store_false",
        help="do not subscribe spBv1.0/# (run Sparkplug on exactly one bridge)",
    )
    parser.add_argument(
        "--topic",
        action="append",
        dest="topics",
        metavar="FILTER",
        help="JSON v1 topic filter instead of brain/v1/# (repeatable)",
    )
    parser.add_argument(
        "--sparkplug-topic",
        action="append",
        dest="sparkplug_topics",
        metavar="FILTER",
        help="Sparkplug topic filter instead of spBv1.0/# (repeatable)",
    )
    parser.add_argument(
        "--session-expiry",
        type=int,
        default=86_400,
        metavar="S",
        help="seconds the broker keeps the session and queues messages while we are away",
    )
    parser.add_argument(
        "--receive-maximum",
        type=int,
        default=1000,
        metavar="N",
        help="QoS 1 messages held unacknowledged at most (MQTT 5 Receive Maximum)",
    )
    parser.add_argument(
        "--status-interval",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds between bridge.status log lines",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        metavar="PORT",
        help="serve Prometheus text on http://HOST:PORT/metrics (off by default)",
    )
    parser.add_argument("--metrics-host", default="127.0.0.1")
    parser.add_argument(
        "--backfill", action="store_true", help="accept event times older than --max-age (replaying old data)"
    )
    parser.add_argument("--max-age-days", type=float, default=7.0, help="oldest event time accepted")
    parser.add_argument("--max-future-s", type=float, default=300.0, help="how far ahead of receive time")
    parser.add_argument("--log-level", default=env("BRAIN_LOG_LEVEL", "INFO"))
    parser.set_defaults(run=run)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from brain.settings import Settings
    from ingest.bridge import Bridge, BridgeOptions
    from ingest.config import IngestConfig

    base = IngestConfig(
        backfill=args.backfill,
        max_past_ms=int(args.max_age_days * 86_400_000),
        max_future_ms=int(args.max_future_s * 1000),
    )
    if args.config:
        from ingest import plantconfig

        config = plantconfig.load(args.config, base)
    else:
        config = base
    options = replace(
        BridgeOptions(),
        client_id=args.client_id,
        shared_group=args.shared_group,
        sparkplug=args.sparkplug,
        v1_filters=tuple(args.topics or BridgeOptions().v1_filters),
        sparkplug_filters=tuple(args.sparkplug_topics or BridgeOptions().sparkplug_filters),
        session_expiry_s=args.session_expiry,
        receive_maximum=args.receive_maximum,
        status_interval_s=args.status_interval,
        metrics_port=args.metrics_port,
        metrics_host=args.metrics_host,
    )
    bridge = Bridge(Settings.from_env(), config, options)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    bridge.run(stop)
    return 0
