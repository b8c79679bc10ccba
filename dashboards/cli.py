"""`brain dashboards build|check|push`: render, verify offline, and upload the Grafana dashboards."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from dashboards.model import LANGUAGES


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    build = sub.add_parser("build", help="write dashboards/json/<lang>/*.json from the definitions")
    build.add_argument("--dir", type=Path, default=None, help="output directory (default: dashboards/json)")
    build.set_defaults(run=_build)

    check = sub.add_parser(
        "check", help="validate the JSON (schema, lint rules, both languages, up to date); offline"
    )
    check.add_argument("--dir", type=Path, default=None, help="directory of <lang>/*.json")
    check.add_argument(
        "--no-drift", action="store_true", help="do not compare with what the definitions render"
    )
    check.set_defaults(run=_check)

    push = sub.add_parser(
        "push", help="create or update the dashboards in a running Grafana (extra [grafana])"
    )
    push.add_argument("--url", default=os.environ.get("GRAFANA_URL", "http://localhost:3000"))
    push.add_argument(
        "--token",
        default=os.environ.get("GRAFANA_TOKEN", ""),
        help="service-account token (env GRAFANA_TOKEN)",
    )
    push.add_argument("--lang", choices=[*LANGUAGES, "all"], default="all")
    push.set_defaults(run=_push)


def _dir(args: argparse.Namespace) -> Path:
    from dashboards.build import JSON_DIR

    return args.dir or JSON_DIR


def _build(args: argparse.Namespace) -> int:
    from dashboards.build import write

    for path in write(_dir(args)):
        print(path)
    return 0


def _check(args: argparse.Namespace) -> int:
    from dashboards.check import check_directory

    problems = check_directory(_dir(args), drift=not args.no_drift)
    for problem in problems:
        print(problem, file=sys.stderr)
    files = len(list(_dir(args).glob("*/*.json")))
    print(f"{files} dashboard files, {len(problems)} problems")
    return 1 if problems else 0


def _push(args: argparse.Namespace) -> int:
    from dashboards.push import PushError, connect, push

    if not args.token:
        print("brain dashboards push: give --token or set GRAFANA_TOKEN", file=sys.stderr)
        return 2
    langs = LANGUAGES if args.lang == "all" else (args.lang,)
    try:
        uids = push(connect(args.url, args.token), langs)
    except PushError as exc:
        print(f"brain dashboards push: {exc}", file=sys.stderr)
        return 1
    for uid in uids:
        print(f"{args.url.rstrip('/')}/d/{uid}")
    return 0
