"""`brain users add|remove|list`: MQTT credentials per factory (user name = site id) for a secure stack."""

from __future__ import annotations

import argparse
import sys

from brain.stack import manager, security
from brain.stack.process import StackError
from brain.stack.servers import Mosquitto


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("add", "remove", "list"))
    parser.add_argument(
        "names", nargs="*", help="site ids (factories) or service users: " + ", ".join(security.SERVICE_USERS)
    )
    parser.add_argument("--password", help="set this password instead of generating one (one name only)")
    parser.add_argument("--dir", help="stack directory (default .stack, env BRAIN_STACK_DIR)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    try:
        config = manager.default_config(root=Path(args.dir).resolve() if args.dir else None)
        broker = Mosquitto(config)
        if args.action == "list":
            for name in security.list_users(broker.passwd_file):
                print(name)
            return 0
        if not args.names:
            raise StackError(f"`brain users {args.action}` needs at least one name")
        if args.password and len(args.names) != 1:
            raise StackError("--password goes with exactly one name")
        creds_dir = config.root / "credentials"
        for name in args.names:
            if args.action == "add":
                password = security.add_user(broker.passwd_file, name, args.password)
                creds_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
                env_file = creds_dir / f"{name}.env"
                env_file.write_text(f"BRAIN_MQTT_USERNAME={name}\nBRAIN_MQTT_PASSWORD={password}\n")
                env_file.chmod(0o600)
                print(f"{name}: added; credentials in {env_file} (shown once here, keep them safe)")
                print(f"  BRAIN_MQTT_USERNAME={name}\n  BRAIN_MQTT_PASSWORD={password}")
            else:
                removed = security.remove_user(broker.passwd_file, name)
                (creds_dir / f"{name}.env").unlink(missing_ok=True)
                print(f"{name}: {'removed' if removed else 'no such user'}")
        print(f"mosquitto: {manager.reload(broker)}")
    except StackError as exc:
        print(f"brain users {args.action}: error: {exc}", file=sys.stderr)
        return 1
    return 0
