"""`brain report`: one shift, day or month report (or an hour range) for a site or a line.

    brain report --config PLANT.yaml --shift 2026-12-01/night [--line L] [--lang zh] --out DIR
    brain report --config PLANT.yaml --day 2026-12-01 --input READINGS.jsonl --out DIR

From InfluxDB (what the dashboards show) by default; `--input` computes the records from a file
of readings with the KPI core, as `brain kpi` does. Writes report.html, report.png, report.xlsx
and report.json into `DIR/<site>[-<line>]/<period>/` and prints where.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from brain import logs

log = logging.getLogger("brain.report")


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("--config", required=True, help="plant config YAML")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--shift", metavar="DATE/SHIFT", help="the shift starting on DATE, e.g. 2026-12-01/night"
    )
    which.add_argument("--day", metavar="DATE", help="a day, local midnight to midnight")
    which.add_argument("--month", metavar="YYYY-MM", help="a calendar month")
    which.add_argument(
        "--from", dest="start", metavar="T", help="with --to: whole hours [T, T2) (plant-local)"
    )
    a("--to", dest="end", metavar="T2")
    a("--site", help="site id (default: the plant's only site)")
    a("--line", help="a line of the site (default: the whole site)")
    a("--lang", choices=("en", "zh"), default="en")
    a("--input", help="readings file (JSON Lines or CSV): compute the records offline instead of InfluxDB")
    a("--out", default="reports", help="output directory (default ./reports)")
    a("--no-png", action="store_true", help="skip report.png (no Chromium needed)")
    a("--no-deadletters", action="store_true", help="do not count dead letters in Kafka")
    a("--log-level", default="INFO")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from brain.plant import PlantConfigError, load_plant
    from brain.report.build import make
    from brain.report.period import (
        PeriodError,
        day_period,
        month_period,
        range_period,
        resolve_scope,
        shift_period,
    )
    from brain.report.png import ChromiumError
    from processors.kpi.cli import parse_time

    try:
        plant = load_plant(args.config)
        scope = resolve_scope(plant, args.site, args.line)
        if args.shift:
            period = shift_period(plant, args.shift)
        elif args.day:
            period = day_period(plant, args.day)
        elif args.month:
            period = month_period(plant, args.month)
        else:
            if not args.end:
                raise PeriodError("--from needs --to")
            tz = ZoneInfo(plant.timezone)
            period = range_period(plant, parse_time(args.start, tz), parse_time(args.end, tz))
    except (PlantConfigError, PeriodError, ValueError) as exc:
        print(f"brain report: {exc}", file=sys.stderr)
        return 2
    try:
        source, deadletters = _source(args, plant, scope, period)
    except (OSError, ValueError) as exc:
        print(f"brain report: {exc}", file=sys.stderr)
        return 2
    from brain.report.influx import InfluxUnavailable

    try:
        written = make(
            plant,
            period,
            scope,
            source,
            Path(args.out),
            lang=args.lang,
            deadletters=deadletters,
            with_png=not args.no_png,
        )
    except InfluxUnavailable as exc:
        print(f"brain report: {exc}", file=sys.stderr)
        return 1
    except ChromiumError as exc:
        print(f"brain report: {exc} (or use --no-png)", file=sys.stderr)
        return 1
    logs.event(
        log,
        "report.written",
        period=period.label,
        scope=scope.label,
        dir=str(written.directory),
        records=len(written.records),
        empty=written.model["empty"],
    )
    print(f"report {period.label} {scope.label}: {written.directory}/")
    for name in ("report.html", "report.png", "report.xlsx", "report.json"):
        if written.path(name).exists():
            print(f"  {written.path(name)}")
    return 0


def _source(args: argparse.Namespace, plant, scope, period):
    """The records' source, and the dead letters of the period (None: not counted)."""
    from brain.report.data import InfluxSource, ReadingsSource
    from brain.report.influx import InfluxReader
    from brain.settings import Settings

    if args.input:
        from processors.kpi.cli import InputError, read_rows

        tz = plant.tz
        try:
            with open(args.input, encoding="utf-8", newline="") as fh:
                rows = list(read_rows(fh, args.input, tz))
        except InputError as exc:
            raise ValueError(str(exc)) from None
        return ReadingsSource(plant, rows, name="file"), None
    settings = Settings.from_env()
    deadletters = None
    if not args.no_deadletters:
        from brain.report.deadletters import count_deadletters

        try:
            deadletters = count_deadletters(
                settings, scope.site, period.start, period.end, sparkplug=plant.sparkplug, timeout_s=15
            )
        except Exception as exc:  # Kafka down: the report says "not counted" instead of failing
            logs.event(log, "report.deadletters_unavailable", logging.WARNING, error=repr(exc)[:200])
    return InfluxSource(plant, InfluxReader(settings)), deadletters
