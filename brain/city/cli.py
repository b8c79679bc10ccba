"""`brain city`: the city's evaluation from a file of export records, with the same code the city
stream service runs (brain/city/evaluate.py) - recompute, audit.

    brain city --register REGISTER.yaml --input EXPORTS.jsonl --year 2026 [--month 2026-03]
               [--output F] [--skip-bad]
    brain city --register REGISTER.yaml [--interval-s 5] [--group brain-city]   (the service)

Without `--input` it is the city stream service (brain/city/service.py): the city cluster's
`<enterprise>.brain.export` topics -> the same ledger -> the city InfluxDB (BRAIN_* settings).

Output: JSON Lines, one record per enterprise and period, then per sector and enterprise, then per
park, told apart by `kind` (enterprise | sector | park). A line that is not a JSON object stops
the command with `file:line: reason` (exit 2) unless `--skip-bad` (skipped, counted). A record the
city rejects (bad field, enterprise not in the register) is reported as `file:line: reason` on
stderr and counted, as the stream dead-letters it; the evaluation goes on.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from brain.city.ledger import Ledger
from brain.city.register import RegisterError, load_register


class InputError(ValueError):
    """A bad line of the exports file: the message is `file:line: reason`."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--register", required=True, help="enterprise register YAML (docs/CITY.md)")
    parser.add_argument("--input", help="export records, JSON Lines ('-' = stdin); without it: the service")
    parser.add_argument("--year", type=int, help="the evaluation year, e.g. 2026 (batch: required)")
    parser.add_argument("--interval-s", type=float, default=5.0, help="service: evaluate at most this often")
    parser.add_argument("--group", default="brain-city", help="service: the Kafka consumer group")
    parser.add_argument("--month", help="evaluate one month YYYY-MM of the year instead of the year")
    parser.add_argument("--output", help="write the JSON Lines here instead of stdout")
    parser.add_argument(
        "--skip-bad", action="store_true", help="skip lines that are not JSON objects, counted"
    )
    parser.set_defaults(run=run)


def read_exports(fh: TextIO, name: str, skip_bad: bool, counts: dict[str, int]) -> Iterator[tuple[int, Any]]:
    """(line number, decoded object) per non-blank line; a bad line raises or is counted."""
    for number, text in enumerate(fh, start=1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
            if not isinstance(obj, dict):
                raise ValueError(f"a JSON object expected, found {type(obj).__name__}")
        except ValueError as exc:
            reason = f"{name}:{number}: not a JSON object: {exc}"
            if not skip_bad:
                raise InputError(reason) from exc
            counts["bad_lines"] += 1
            print(reason, file=sys.stderr)
            continue
        yield number, obj


def run(args: argparse.Namespace) -> int:
    try:
        register = load_register(args.register)
    except RegisterError as exc:
        print(f"brain city: {exc}", file=sys.stderr)
        return 2
    if args.input is None:
        from brain.city.service import serve
        from brain.settings import Settings

        print("brain city: " + json.dumps(serve(register, Settings.from_env(), interval_s=args.interval_s,
                                                group=args.group)), file=sys.stderr)  # fmt: skip
        return 0
    if args.year is None:
        print("brain city: --year is required with --input", file=sys.stderr)
        return 2
    counts = {"bad_lines": 0}
    ledger = Ledger(register, keep_rejected=False)
    fh = sys.stdin if args.input == "-" else open(args.input, encoding="utf-8")  # noqa: SIM115
    try:
        for number, obj in read_exports(fh, args.input, args.skip_bad, counts):
            reason = ledger.add(obj)
            if reason is not None:
                print(f"{args.input}:{number}: {reason}", file=sys.stderr)
        result = ledger.evaluate(args.year, args.month)
    except (InputError, RegisterError) as exc:
        print(f"brain city: {exc}", file=sys.stderr)
        return 2
    finally:
        if fh is not sys.stdin:
            fh.close()
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    try:
        for row in result.rows():
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    summary = {**result.counters, **counts}
    print("brain city: " + ", ".join(f"{k} {v}" for k, v in summary.items()), file=sys.stderr)
    return 0
