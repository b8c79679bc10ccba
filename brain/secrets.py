"""`brain secrets init`: make the `.env` docker-compose.yml reads, with generated secrets.

Reads `.env.example`, keeps every value already in `.env`, fills each empty secret with a fresh
random value, and writes `.env` with mode 0600. Running it again changes nothing that is set.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import sys
import uuid
from collections.abc import Callable
from pathlib import Path


def _password() -> str:
    return secrets.token_urlsafe(24)


def _kafka_cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


GENERATORS: dict[str, Callable[[], str]] = {
    "GRAFANA_ADMIN_PASSWORD": _password,
    "BRAIN_MQTT_PASSWORD": _password,
    "INFLUXDB_ADMIN_PASSWORD": _password,
    "KAFKA_CLUSTER_ID": _kafka_cluster_id,
}


def _values(path: Path) -> dict[str, str]:
    out = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key, value = line.split("=", 1)
                out[key.strip()] = value.strip()
    return out


def render_env(template: str, existing: dict[str, str]) -> tuple[str, list[str]]:
    """The .env text from the template; returns it and the names that got a generated value."""
    lines, generated = [], []
    seen = set()
    for line in template.splitlines():
        if "=" not in line or line.lstrip().startswith("#"):
            lines.append(line)
            continue
        key, default = (part.strip() for part in line.split("=", 1))
        seen.add(key)
        value = existing.get(key, default)
        if not value and key in GENERATORS:
            value = GENERATORS[key]()
            generated.append(key)
        lines.append(f"{key}={value}")
    extra = [f"{k}={v}" for k, v in existing.items() if k not in seen]
    if extra:
        lines += ["", "# kept from the previous .env", *extra]
    return "\n".join(lines) + "\n", generated


def init(env_file: Path, example: Path) -> list[str]:
    """Write `env_file` from `example`; returns the generated names."""
    if not example.is_file():
        raise FileNotFoundError(
            f"{example}: template not found (run from the repository root or give --example)"
        )
    text, generated = render_env(example.read_text(encoding="utf-8"), _values(env_file))
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    env_file.chmod(0o600)
    return generated


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    cmd = sub.add_parser("init", help="write .env for docker compose, generating the missing secrets")
    cmd.add_argument("--env-file", type=Path, default=Path(".env"))
    cmd.add_argument("--example", type=Path, default=Path(".env.example"))
    cmd.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        generated = init(args.env_file, args.example)
    except FileNotFoundError as exc:
        print(f"brain secrets init: {exc}", file=sys.stderr)
        return 1
    what = ", ".join(generated) if generated else "nothing (all secrets were already set)"
    print(f"{args.env_file}: written (mode 0600); generated {what}")
    return 0
