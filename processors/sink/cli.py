"""`brain sink`: Kafka (KPIs, alerts, optionally raw readings) -> InfluxDB. See docs/SCHEMA.md."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from brain import settings as _settings

DEFAULT_TOPICS = {
    "kpis": _settings.TOPIC_KPIS,
    "alerts": _settings.TOPIC_ALERTS,
    "readings": _settings.TOPIC_READINGS,
}


def parse_topics(specs: list[str], *, raw: bool) -> dict[str, str]:
    """["kpis", "alerts=my.alerts"] (+ readings with --raw) -> {topic: kind}."""
    chosen: dict[str, str] = {}
    for spec in specs:
        kind, _, topic = spec.partition("=")
        if kind not in DEFAULT_TOPICS:
            raise argparse.ArgumentTypeError(
                f"--topics {spec!r}: expected KIND or KIND=TOPIC with KIND one of kpis, alerts, readings"
            )
        chosen[kind] = topic or DEFAULT_TOPICS[kind]
    if raw:
        chosen.setdefault("readings", DEFAULT_TOPICS["readings"])
    topics = {topic: kind for kind, topic in chosen.items()}
    if len(topics) != len(chosen):
        raise argparse.ArgumentTypeError("--topics: two kinds on the same topic")
    return topics


def configure(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    parser.add_argument(
        "--topics",
        nargs="+",
        default=["kpis", "alerts"],
        metavar="KIND[=TOPIC]",
        help="what to write: kpis, alerts, readings, each optionally =TOPIC "
        f"(default: kpis={_settings.TOPIC_KPIS} alerts={_settings.TOPIC_ALERTS})",
    )
    parser.add_argument(
        "--raw",
        action="store_true",
        help=f"also write raw readings ({_settings.TOPIC_READINGS}) to {_settings.RAW_DATABASE}",
    )
    parser.add_argument(
        "--raw-every-s",
        type=float,
        default=None,
        metavar="S",
        help="downsample raw readings: last value per series per S seconds (default: every reading)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=int(env("BRAIN_SINK_BATCH_SIZE", "5000")),
        metavar="N",
        help="points per write (env BRAIN_SINK_BATCH_SIZE, default 5000)",
    )
    parser.add_argument(
        "--flush-ms",
        type=int,
        default=int(env("BRAIN_SINK_FLUSH_MS", "1000")),
        metavar="MS",
        help="longest wait before a partial batch is written (env BRAIN_SINK_FLUSH_MS, default 1000)",
    )
    parser.add_argument(
        "--group",
        default=env("BRAIN_SINK_GROUP", "brain-sink"),
        help="Kafka consumer group (env BRAIN_SINK_GROUP, default brain-sink)",
    )
    parser.add_argument("--deadletter-topic", default=_settings.TOPIC_DEADLETTER)
    parser.add_argument(
        "--kpi-bucket",
        default=env("BRAIN_INFLUX_KPI_BUCKET", _settings.KPI_DATABASE),
        help="KPIs and alerts: database[/rp] on 1.x, bucket on 2.x (env BRAIN_INFLUX_KPI_BUCKET)",
    )
    parser.add_argument(
        "--raw-bucket",
        default=env("BRAIN_INFLUX_RAW_BUCKET", _settings.RAW_DATABASE),
        help="raw readings: database[/rp] on 1.x, bucket on 2.x (env BRAIN_INFLUX_RAW_BUCKET)",
    )
    parser.add_argument(
        "--retry-max-s", type=float, default=10.0, help="longest backoff between write retries"
    )
    parser.add_argument(
        "--status-interval", type=float, default=10.0, metavar="S", help="seconds between sink.status lines"
    )
    parser.add_argument(
        "--influx-timeout-ms",
        type=int,
        default=10_000,
        metavar="MS",
        help="one write's timeout; a write that times out is retried (default 10000)",
    )
    parser.add_argument(
        "--session-timeout-ms",
        type=int,
        default=10_000,
        metavar="MS",
        help="Kafka group session timeout: a crashed sink's partitions move after this (default 10000)",
    )
    parser.add_argument("--log-level", default=env("BRAIN_LOG_LEVEL", "INFO"))
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from processors.sink.service import Sink, SinkOptions

    try:
        topics = parse_topics(args.topics, raw=args.raw)
    except argparse.ArgumentTypeError as exc:
        print(f"brain sink: error: {exc}", file=sys.stderr)
        return 2
    if args.batch_size < 1 or args.flush_ms < 1:
        print("brain sink: error: --batch-size and --flush-ms must be positive", file=sys.stderr)
        return 2
    options = SinkOptions(
        topics=topics,
        group=args.group,
        deadletter_topic=args.deadletter_topic,
        batch_size=args.batch_size,
        flush_ms=args.flush_ms,
        raw_every_ms=int(args.raw_every_s * 1000) if args.raw_every_s else None,
        kpi_bucket=args.kpi_bucket,
        raw_bucket=args.raw_bucket,
        retry_max_s=args.retry_max_s,
        status_interval_s=args.status_interval,
        influx_timeout_ms=args.influx_timeout_ms,
        session_timeout_ms=args.session_timeout_ms,
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    Sink(_settings.Settings.from_env(), options).run(stop)
    return 0
