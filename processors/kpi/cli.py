"""`brain kpi`: KPI records from a file of readings, with the same code the stream runs.

    brain kpi --config PLANT.yaml --input READINGS.jsonl|.csv --window 1m|15m|1h|shift|day|all
              [--from T --to T] [--format jsonl|table] [--skip-bad]

Bad input lines stop the command with `file:line: reason` (exit 2) unless `--skip-bad`, which
skips them and reports how many on stderr. Readings of machines not in the config are skipped
and counted (a warning names them).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from brain import logs
from brain.plant import PlantConfigError, load_plant
from brain.records import Reading, RecordError
from brain.vocabulary import WINDOW_KINDS
from processors.kpi.batch import BatchStats, Row, compute_records

log = logging.getLogger("brain.kpi")
CSV_HEADER = ["site", "line", "machine", "metric", "value", "ts"]
TABLE_COLUMNS = (
    "scope",
    "site",
    "line",
    "machine",
    "window",
    "start",
    "shift",
    "availability",
    "performance",
    "quality",
    "oee",
    "pq",
    "energy_kwh",
    "peak_demand_kw",
    "cost",
)
PROGRESS_EVERY = 100_000


class InputError(ValueError):
    """A bad line of the readings file: the message is `file:line: reason`."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="plant YAML (see docs/CONFIG.md)")
    parser.add_argument(
        "--input",
        required=True,
        help="readings: .jsonl (Reading v1 per line) or .csv "
        "(header site,line,machine,metric,value,ts); '-' reads JSON Lines from stdin",
    )
    parser.add_argument("--window", required=True, choices=WINDOW_KINDS)
    parser.add_argument(
        "--from", dest="start", help="RFC 3339 time or epoch ms (naive times are plant-local)"
    )
    parser.add_argument("--to", dest="end", help="RFC 3339 time or epoch ms, exclusive")
    parser.add_argument("--format", choices=("jsonl", "table"), default="jsonl")
    parser.add_argument(
        "--skip-bad", action="store_true", help="skip bad input lines (counted) instead of failing"
    )
    parser.add_argument("--log-level", default="INFO")
    parser.set_defaults(run=run)


def parse_time(text: str, tz: ZoneInfo) -> int:
    """RFC 3339 (or ISO 8601; naive = plant-local) or integer epoch milliseconds -> epoch ms."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        when = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as exc:
        raise ValueError(f"expected RFC 3339 time or epoch ms, found {text!r}") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    return int(when.timestamp() * 1000)


def run(args: argparse.Namespace) -> int:
    try:
        plant = load_plant(args.config)
    except PlantConfigError as exc:
        print(f"brain kpi: {exc}", file=sys.stderr)
        return 2
    if plant.tariff and plant.tariff.prices_are_example:
        logs.event(
            log,
            "kpi.example_prices",
            logging.WARNING,
            note="cost uses the config's EXAMPLE prices, not your contract's",
        )
    tz = ZoneInfo(plant.timezone)
    try:
        start = parse_time(args.start, tz) if args.start else None
        end = parse_time(args.end, tz) if args.end else None
    except ValueError as exc:
        print(f"brain kpi: --from/--to: {exc}", file=sys.stderr)
        return 2
    if args.window == "shift" and not plant.shifts:
        print("brain kpi: --window shift needs `shifts:` in the plant config", file=sys.stderr)
        return 2
    skipped: list[str] = []
    stats = BatchStats()
    try:
        with _open(args.input) as fh:
            rows = list(_progress(read_rows(fh, args.input, tz, skipped if args.skip_bad else None)))
        records = compute_records(plant, rows, args.window, start, end, stats=stats)
    except InputError as exc:
        print(f"brain kpi: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"brain kpi: cannot read {args.input}: {exc}", file=sys.stderr)
        return 2
    if skipped:
        logs.event(log, "kpi.skipped_bad_lines", logging.WARNING, count=len(skipped), first=skipped[0])
    for name, count in sorted(stats.unknown_machine.items()):
        logs.event(log, "kpi.unknown_machine", logging.WARNING, machine=name, readings=count)
    if stats.bad_values:
        logs.event(
            log,
            "kpi.bad_values",
            logging.WARNING,
            count=stats.bad_values,
            note="state values not in the vocabulary or state_codes, or non-numeric counters",
        )
    for rec in records:
        if rec["performance_suspect"]:
            logs.event(
                log,
                "kpi.performance_over_105",
                logging.WARNING,
                scope=rec["scope"],
                site=rec["site"],
                line=rec["line"],
                machine=rec["machine"],
                start=rec["start"],
                performance=round(rec["performance"], 4),
            )
    out = sys.stdout
    if args.format == "table":
        _table(records, out)
    else:
        for rec in records:
            out.write(json.dumps(rec, separators=(",", ":"), ensure_ascii=False))
            out.write("\n")
    return 0


def _open(path: str) -> TextIO:
    if path == "-":
        return _NoClose(sys.stdin)  # type: ignore[return-value]
    return open(path, encoding="utf-8", newline="")


class _NoClose:
    def __init__(self, fh: TextIO) -> None:
        self.fh = fh

    def __enter__(self) -> TextIO:
        return self.fh

    def __exit__(self, *exc: object) -> None:
        return None


def read_rows(fh: TextIO, name: str, tz: ZoneInfo, skipped: list[str] | None = None) -> Iterator[Row]:
    """Rows (site, line, machine, metric, value, ts) from JSON Lines or CSV; InputError names file:line."""
    if name.lower().endswith(".csv"):
        yield from _csv_rows(fh, name, tz, skipped)
        return
    for n, text in enumerate(fh, 1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
            r = Reading.from_dict(data)
        except (ValueError, RecordError) as exc:
            _bad(f"{name}:{n}: {_reason(exc)}", skipped)
            continue
        yield (r.site, r.line, r.machine, r.metric, r.value, r.ts)


def _csv_rows(fh: TextIO, name: str, tz: ZoneInfo, skipped: list[str] | None) -> Iterator[Row]:
    reader = csv.reader(fh)
    header = next(reader, None)
    if header is None or [h.strip() for h in header] != CSV_HEADER:
        raise InputError(
            f"{name}:1: expected the header {','.join(CSV_HEADER)}, found {','.join(header or [])!r}"
        )
    for row in reader:
        n = reader.line_num
        if not row or not "".join(row).strip():
            continue
        if len(row) != 6:
            _bad(f"{name}:{n}: expected 6 columns, found {len(row)}", skipped)
            continue
        site, line, machine, metric, raw, ts_text = (c.strip() for c in row)
        try:
            ts = parse_time(ts_text, tz)
            data = {
                "site": site,
                "line": line,
                "machine": machine,
                "metric": metric,
                "value": _csv_value(raw),
                "ts": ts,
            }
            r = Reading.from_dict(data)
        except (ValueError, RecordError) as exc:
            _bad(f"{name}:{n}: {_reason(exc)}", skipped)
            continue
        yield (r.site, r.line, r.machine, r.metric, r.value, r.ts)


def _csv_value(raw: str) -> Any:
    for conv in (int, float):
        try:
            return conv(raw)
        except ValueError:
            pass
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    return raw


def _reason(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON ({exc.msg} at column {exc.colno})"
    return str(exc)


def _bad(message: str, skipped: list[str] | None) -> None:
    if skipped is None:
        raise InputError(message)
    skipped.append(message)


def _progress(rows: Iterator[Row]) -> Iterator[Row]:
    tty = sys.stderr.isatty()
    t0 = time.monotonic()
    n = 0
    for n, row in enumerate(rows, 1):
        if n % PROGRESS_EVERY == 0:
            rate = n / max(time.monotonic() - t0, 1e-9)
            if tty:
                sys.stderr.write(f"\rbrain kpi: read {n:,} readings ({rate:,.0f}/s)")
                sys.stderr.flush()
            elif n % (10 * PROGRESS_EVERY) == 0:
                logs.event(log, "kpi.progress", readings=n, per_s=int(rate))
        yield row
    if tty and n >= PROGRESS_EVERY:
        sys.stderr.write("\n")


def _table(records: list[dict[str, Any]], out: TextIO) -> None:
    def cell(v: Any) -> str:
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.4f}"
        return str(v)

    rows = [[cell(r[c]) for c in TABLE_COLUMNS] for r in records]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(TABLE_COLUMNS)]
    out.write("  ".join(c.ljust(w) for c, w in zip(TABLE_COLUMNS, widths, strict=True)).rstrip() + "\n")
    for r in rows:
        out.write("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n")
