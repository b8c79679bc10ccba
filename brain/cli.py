"""The `brain` command: one console script, one subcommand per component.

Each subcommand lives in its own module with `configure(parser)`; only the chosen one is
imported, so `brain stack status` does not pay for importing faust.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from brain import __version__

# name -> (module with configure(parser), one-line help). Add a line to add a command.
COMMANDS: dict[str, tuple[str, str]] = {
    "stack": (
        "brain.stack.cli",
        "run the real servers (Mosquitto, Kafka, InfluxDB) locally: up|down|status|logs",
    ),
    "users": ("brain.stack.users_cli", "MQTT credentials per factory for a secure stack: add|remove|list"),
    "tls": ("brain.stack.tls_cli", "make a local CA and server certificate for mqtts://"),
    "demo": ("brain.demo.cli", "bring the stack up and run the main job"),
    "bench": ("brain.bench.cli", "end-to-end benchmark: throughput, latency, loss, double counts"),
    "report": (
        "brain.report.cli",
        "a shift, day or month report: HTML, PNG, XLSX, JSON (InfluxDB or a file)",
    ),
    "reports": (
        "brain.report.service_cli",
        "service: each shift's report once final, to chat robots and e-mail",
    ),
    "packs": ("brain.packs_cli", "industry packs: list the installed ones, scaffold a new one (new NAME)"),
    "city": (
        "brain.city.cli",
        "the city's per-mu evaluation, sector benchmarks and park roll-ups from a file of exports",
    ),
    "mirror": (
        "brain.mirror",
        "Kafka MirrorMaker 2: the factories' brain.export to the city cluster (<enterprise>.brain.export)",
    ),
    "export": (
        "processors.export.cli",
        "the plant's export allowlist: final site/line KPI records -> brain.export, for the city",
    ),
    "kpi": ("processors.kpi.cli", "compute KPI records from a file of readings (same code as the stream)"),
    "bridge": ("ingest.bridge_cli", "MQTT -> Kafka bridge: JSON v1 and Sparkplug B to brain.readings"),
    "alerts": ("processors.alerts.cli", "alert rules of the plant config on the stream -> brain.alerts"),
    "notify": ("processors.notify.cli", "deliver brain.alerts: MQTT, DingTalk, WeCom, Feishu, webhooks"),
    "process": ("processors.cli", "stream processors: readings -> KPI records (machine, line, site)"),
    "dashboards": ("dashboards.cli", "Grafana dashboards: build, check (offline), push to a Grafana"),
    "simulate": ("ingest.simulator.cli", "deterministic simulated factory: MQTT (JSON, Sparkplug B), JSONL"),
    "sink": ("processors.sink.cli", "Kafka -> InfluxDB: KPIs, alerts (and raw readings with --raw)"),
    "influx": ("processors.sink.influx_init", "influx init: create the databases/buckets and retention"),
    "kafka": (
        "brain.kafka_cli",
        "kafka init|describe: the platform's topics on your own cluster (RF, min ISR)",
    ),
    "secrets": ("brain.secrets", "secrets init: write .env for docker compose with generated passwords"),
}


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="brain",
        description="Industrial Brain 1+N: factory telemetry to KPIs, energy and alerts.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="commands:\n" + "\n".join(f"  {name:<12}{text}" for name, (_, text) in COMMANDS.items()),
    )
    parser.add_argument("--version", action="version", version=f"brain {__version__}")
    parser.add_argument("command", nargs="?", choices=sorted(COMMANDS), metavar="COMMAND")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    top = _top_parser()
    if not argv or argv[0].startswith("-"):
        top.parse_args(argv)
        top.print_help()
        return 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        top.error(f"unknown command {name!r}; choose from: {', '.join(sorted(COMMANDS))}")
    module_name, text = COMMANDS[name]
    parser = argparse.ArgumentParser(prog=f"brain {name}", description=text)
    importlib.import_module(module_name).configure(parser)
    args = parser.parse_args(rest)
    from brain import logs

    logs.setup(getattr(args, "log_level", "INFO"))
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
