"""The end of `make demo`: the replayed morning's report for each site of the demo plant, from
InfluxDB (what the demo's sink wrote), and where it is. Never fails the demo: a problem is printed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

HOUR_MS = 3_600_000


def demo_report(config: str, start: dt.datetime, end: dt.datetime, out: Path) -> list[Path]:
    """Write the report of [start, end) (whole hours, the last one rounded up) for every site;
    print and return the report directories."""
    from brain.plant import load_plant
    from brain.report.build import make
    from brain.report.data import InfluxSource
    from brain.report.influx import InfluxReader
    from brain.report.period import Scope, range_period
    from brain.report.png import ChromiumError, chromium_path
    from brain.settings import Settings

    written = []
    try:
        plant = load_plant(config)
        a = int(start.timestamp() * 1000)
        b = int(end.timestamp() * 1000)
        b = a + -(-(b - a) // HOUR_MS) * HOUR_MS
        period = range_period(plant, a, b)
        try:
            chromium_path()
            with_png = True
        except ChromiumError as exc:
            print(f"demo: no report.png ({exc})")
            with_png = False
        source = InfluxSource(plant, InfluxReader(Settings.from_env()))
        for site in plant.sites:
            report = make(plant, period, Scope(site.id), source, out, lang="en", with_png=with_png)
            written.append(report.directory)
    except Exception as exc:  # the demo itself went well: say what failed and carry on
        print(f"demo: the report of the replayed morning could not be written: {type(exc).__name__}: {exc}")
        return written
    print("\nReport of the replayed morning (HTML with charts, PNG, XLSX, JSON):")
    for directory in written:
        print(f"  {directory / 'report.html'}")
    print("  `brain report --help` makes any shift, day or month report (docs/REPORTS.md).")
    return written
