"""`brain stack`: run Mosquitto, Kafka and InfluxDB as local processes (no Docker needed)."""

from __future__ import annotations

import argparse
import sys

from brain.stack import manager
from brain.stack.process import StackError, tail

_ACTIONS = ("up", "down", "status", "logs", "install", "start", "stop", "kill", "freeze", "thaw")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=_ACTIONS,
        help=(
            "up: install check, start and wait until healthy, create topics and databases; "
            "down: stop what up started; status; logs; install: fetch/build the servers into the cache; "
            "start/stop/kill/freeze/thaw SERVER: one server "
            "(kill = SIGKILL, freeze = SIGSTOP, for fault tests)"
        ),
    )
    parser.add_argument(
        "servers",
        nargs="*",
        help="mosquitto, kafka, influxdb (default: all); on a cluster kafka-1, kafka-2, ... (kafka: all)",
    )
    parser.add_argument("--dir", help="state directory (default .stack, env BRAIN_STACK_DIR)")
    parser.add_argument("--mqtt-port", type=int, help="default 1883 (env BRAIN_STACK_MQTT_PORT)")
    parser.add_argument("--kafka-port", type=int, help="default 9092 (env BRAIN_STACK_KAFKA_PORT)")
    parser.add_argument("--influx-port", type=int, help="default 8086 (env BRAIN_STACK_INFLUX_PORT)")
    parser.add_argument(
        "--kafka-brokers",
        type=int,
        help=(
            "1 (default) or N: a KRaft cluster of N nodes kafka-1..N on ports KAFKA_PORT + 2(i-1) "
            "(env BRAIN_STACK_KAFKA_BROKERS, BRAIN_STACK_KAFKA_PORTS=p1,p2,p3 and "
            "BRAIN_STACK_KAFKA_CONTROLLER_PORTS to choose them); sticks until --kafka-brokers 1"
        ),
    )
    parser.add_argument(
        "--secure",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=(
            "MQTT with a user per factory and an ACL (and TLS on --mqtt-tls-port after `brain tls init`); "
            "sticks until --no-secure (env BRAIN_STACK_SECURE)"
        ),
    )
    parser.add_argument("--mqtt-tls-port", type=int, help="default 8883 (env BRAIN_STACK_MQTT_TLS_PORT)")
    parser.add_argument("-n", "--lines", type=int, default=30, help="logs: lines per server")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import logging
    from pathlib import Path

    # kafka-python logs every refused connection at ERROR; probing a node that is down (status,
    # a cluster with a broker killed) is expected here, and the table says it
    logging.getLogger("kafka").setLevel(logging.CRITICAL)

    try:
        config = manager.default_config(
            root=Path(args.dir).resolve() if args.dir else None,
            mqtt_port=args.mqtt_port,
            kafka_port=args.kafka_port,
            influx_port=args.influx_port,
            mqtt_tls_port=args.mqtt_tls_port,
            secure=args.secure,
            kafka_brokers=args.kafka_brokers,
        )
        names = args.servers or None
        if args.action == "up":
            manager.up(config, names)
            _print_status(config)
            if config.kafka_brokers > 1:
                _print_client_env(config)
        elif args.action == "down":
            manager.down(config, names)
        elif args.action == "status":
            return _print_status(config)
        elif args.action == "logs":
            for server in manager.select(config, names):
                print(f"==> {server.log_file} <==")
                print(tail(server.log_file, args.lines))
        elif args.action == "install":
            manager.install(config)
        else:
            if not names:
                kafka = "kafka-1..N (kafka: all nodes)" if config.kafka_brokers > 1 else "kafka"
                raise StackError(
                    f"`brain stack {args.action}` needs a server name: mosquitto, {kafka} or influxdb"
                )
            selected = manager.select(config, names)
            if args.action == "stop":  # together: a cluster's last node would hang alone
                for name, result in manager.stop_many(selected).items():
                    print(f"{name}: {result}")
                return 0
            action = {
                "start": manager.start,
                "kill": manager.kill,
                "freeze": manager.freeze,
                "thaw": lambda s: manager.freeze(s, resume=True),
            }[args.action]
            if args.action == "start" and len(selected) > 1:
                for name, result in manager.start_many(selected).items():
                    print(f"{name}: {result}")
                return 0
            for server in selected:
                print(f"{server.name}: {action(server)}")
    except StackError as exc:
        print(f"brain stack {args.action}: error: {exc}", file=sys.stderr)
        return 1
    return 0


def _print_client_env(config: manager.StackConfig) -> None:
    """What a client of the cluster needs (also in <root>/client.env)."""
    where = config.root / "client.env"
    print(f"\nKafka cluster of {config.kafka_brokers} nodes; clients need (also in {where}):")
    for key, value in manager.client_env(config).items():
        if key.startswith("BRAIN_KAFKA"):
            print(f"  export {key}={value}")


def _print_status(config: manager.StackConfig) -> int:
    rows = manager.status(config)
    header = ("SERVER", "STATE", "VERSION", "ADDRESS", "PID", "DATA DIR")
    table = [header] + [
        (s.name, s.state, s.version, s.address, str(s.pid or "-"), str(s.data_dir)) for s in rows
    ]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0 if all(s.state == "healthy" for s in rows) else 1
