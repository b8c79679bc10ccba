"""`brain tls init`: a local CA and a server certificate for MQTT over TLS (`mqtts://`)."""

from __future__ import annotations

import argparse
import sys

from brain.stack import manager, security
from brain.stack.process import StackError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("init",))
    parser.add_argument(
        "--host",
        action="append",
        dest="hosts",
        help="server name or IP for the certificate (repeatable; default localhost, 127.0.0.1)",
    )
    parser.add_argument("--dir", help="stack directory (default .stack, env BRAIN_STACK_DIR)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    try:
        config = manager.default_config(root=Path(args.dir).resolve() if args.dir else None)
        files = security.tls_init(config.root / "tls", args.hosts or ["localhost", "127.0.0.1"])
    except StackError as exc:
        print(f"brain tls init: error: {exc}", file=sys.stderr)
        return 1
    print(f"CA certificate:     {files['ca.crt']}  (give this to clients: BRAIN_MQTT_CA_FILE)")
    print(f"server certificate: {files['server.crt']}")
    print(f"Start the broker with TLS: brain stack up --secure  (mqtts://127.0.0.1:{config.mqtt_tls_port})")
    return 0
