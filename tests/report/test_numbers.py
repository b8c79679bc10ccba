"""The numbers of report.json equal `brain kpi` for the same period: from a readings file (the KPI
core) and from InfluxDB (records written by the sink's own mapping and writer), for a night shift
across midnight, a day that is an adjusted workday (调休), a shift on that day, an hour range and
a month (both merged from shorter records on the InfluxDB path)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from brain.plant import load_plant
from brain.settings import Settings
from processors.kpi import compute_records
from processors.kpi.cli import read_rows
from tests.report.helpers import (
    brain,
    brain_kpi,
    differences,
    key,
    report_json,
    simulate,
    write_plant,
)

# (brain report arguments, brain kpi window, from, to, directory name)
PERIODS = [
    (["--shift", "2026-02-13/night"], "shift", "2026-02-13T20:00", "2026-02-14T08:00", "2026-02-13_night"),
    (["--day", "2026-02-14"], "day", "2026-02-14T00:00", "2026-02-15T00:00", "2026-02-14"),
    (["--shift", "2026-02-14/night"], "shift", "2026-02-14T20:00", "2026-02-15T08:00", "2026-02-14_night"),
    (
        ["--from", "2026-02-14T08:00", "--to", "2026-02-14T20:00"],
        "all",
        "2026-02-14T08:00",
        "2026-02-14T20:00",
        "2026-02-14T0800_2026-02-14T2000",
    ),
]
MONTH = (["--month", "2026-02"], "all", "2026-02-01T00:00", "2026-03-01T00:00", "2026-02")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("report-numbers")
    site = f"r{uuid.uuid4().hex[:8]}"
    config = write_plant(root, site)
    readings = simulate(config, root / "readings.jsonl")
    return {"root": root, "site": site, "config": config, "readings": readings}


def _check(report: dict, kpi: list[dict], *, exact: bool) -> None:
    used = {key(r): r for r in report["records"]}
    assert kpi, "brain kpi printed nothing"
    for want in kpi:
        got = used.get(key(want))
        assert got is not None, f"report.json lacks the record {key(want)}"
        diff = differences(got, want, exact=exact)
        assert not diff, f"{key(want)}:\n  " + "\n  ".join(diff)


def _tiles_show_the_scope_record(report: dict, kpi: list[dict], site: str) -> None:
    (rec,) = [r for r in kpi if r["scope"] == "site" and r["site"] == site]
    tiles = {t["key"]: t for t in report["report"]["tiles"]}
    for tile, field in (
        ("oee", "oee"),
        ("output", "pq"),
        ("good", "gq"),
        ("kwh", "energy_kwh"),
        ("sec", "sec_kwh_per_unit"),
        ("demand", "peak_demand_kw"),
        ("cost", "cost"),
        ("co2", "co2_kg"),
    ):
        assert tiles[tile]["value"] == pytest.approx(rec[field], rel=1e-9), tile
    parts = {p["label"]: p["value"] for p in tiles["oee"]["parts"]}
    assert list(parts.values()) == pytest.approx([rec["availability"], rec["performance"], rec["quality"]])
    assert rec["oee"] > 0 and rec["pot_s"] > 0


@pytest.mark.parametrize(("args", "window", "start", "end", "name"), [*PERIODS, MONTH], ids=lambda v: str(v))
def test_file_report_equals_brain_kpi(world: dict, args, window, start, end, name) -> None:
    out = world["root"] / "file"
    code, text = brain(
        "report",
        "--config",
        str(world["config"]),
        "--input",
        str(world["readings"]),
        "--out",
        str(out),
        "--no-png",
        *args,
    )
    assert code == 0, text
    report = report_json(out / world["site"] / name)
    kpi = brain_kpi(world["config"], world["readings"], window, start, end)
    _check(report, kpi, exact=True)
    _tiles_show_the_scope_record(report, kpi, world["site"])
    if window != "all" or args[0] == "--from":
        hours = brain_kpi(world["config"], world["readings"], "1h", start, end)
        _check(report, [r for r in hours if r["scope"] == "site"], exact=True)


def test_adjusted_workday_is_scheduled(world: dict) -> None:
    """2026-02-14 is a Saturday worked for Spring Festival: 24 h scheduled (no calendar: only the
    tail of Friday's night shift)."""
    kpi = brain_kpi(world["config"], world["readings"], "day", "2026-02-14T00:00", "2026-02-15T00:00")
    (site,) = [r for r in kpi if r["scope"] == "site"]
    machines = sum(1 for r in kpi if r["scope"] == "machine" and r["pot_s"] is not None)
    assert site["pot_s"] == 24 * 3600 * machines


@pytest.fixture(scope="module")
def in_influx(world: dict) -> dict:
    """The records the stream would write for these days, written by the sink's mapping and writer."""
    from processors.sink.mapping import kpi_points
    from processors.sink.writer import InfluxWriter

    settings = Settings.from_env()
    plant = load_plant(str(world["config"]))
    with open(world["readings"], encoding="utf-8") as fh:
        rows = list(read_rows(fh, str(world["readings"]), plant.tz))
    records = []
    t0, t3 = 1_770_912_000_000, 1_771_171_200_000  # 2026-02-13 00:00 .. 2026-02-16 00:00 +08:00
    feb, mar = 1_769_875_200_000, 1_772_294_400_000  # 2026-02-01 .. 2026-03-01 +08:00
    for window, a, b in (("shift", t0, t3), ("1h", t0, t3), ("15m", feb, mar), ("day", feb, mar)):
        records += compute_records(plant, rows, window, a, b)
    writer = InfluxWriter(
        url=settings.influx_url,
        token=settings.influx_token,
        org=settings.influx_org,
        buckets={"kpi": "brain_kpi"},
    )
    try:
        points = [p for r in records for p in kpi_points(r)]
        for i in range(0, len(points), 5000):
            assert writer.write(points[i : i + 5000]) == []
    finally:
        writer.close()
    return world


@pytest.mark.parametrize(("args", "window", "start", "end", "name"), [*PERIODS, MONTH], ids=lambda v: str(v))
def test_influx_report_equals_brain_kpi(
    stack: Settings, in_influx: dict, args, window, start, end, name
) -> None:
    world = in_influx
    out = world["root"] / "influx"
    code, text = brain("report", "--config", str(world["config"]), "--out", str(out), "--no-png", *args)
    assert code == 0, text
    report = report_json(out / world["site"] / name)
    assert report["report"]["source"] == "influxdb" and report["report"]["quality"]["deadletters"] == 0
    kpi = brain_kpi(world["config"], world["readings"], window, start, end)
    # shift and day records come back from InfluxDB bit for bit; a month or an hour range is
    # merged from days or hours (sums in another order than brain kpi's minutes: 1e-9)
    _check(report, kpi, exact=window != "all")
    _tiles_show_the_scope_record(report, kpi, world["site"])


def test_unknown_shift_and_a_day_without_it(world: dict, capsys: pytest.CaptureFixture) -> None:
    base = ["report", "--config", str(world["config"]), "--input", str(world["readings"]), "--no-png"]
    code, _ = brain(*base, "--shift", "2026-02-14/evening")
    err = capsys.readouterr().err
    assert code == 2 and "unknown shift 'evening': the plant's shifts are day, night" in err
    code, _ = brain(*base, "--shift", "2026-02-08/day")  # an ordinary Sunday
    err = capsys.readouterr().err
    assert code == 2 and "shift 'day' does not run on 2026-02-08" in err and "not sun" in err
    assert "shifts starting that day: none" in err
    code, _ = brain(*base, "--shift", "2026-10-01/day")  # National Day
    assert code == 2 and "(a holiday)" in capsys.readouterr().err


def test_no_data_says_so(world: dict, tmp_path: Path) -> None:
    """A period without records: a report that says which data is missing, not a crash."""
    code, text = brain(
        "report",
        "--config",
        str(world["config"]),
        "--input",
        str(world["readings"]),
        "--out",
        str(tmp_path),
        "--no-png",
        "--day",
        "2026-01-10",
    )
    assert code == 0, text
    report = report_json(tmp_path / world["site"] / "2026-01-10")
    # brain kpi gives records for every configured machine even without readings (all unknown):
    # the report says that no machine sent anything, and which
    model = report["report"]
    assert model["empty"] and "no state, counter or energy readings from " in model["no_data"]
    assert all(m in model["no_data"] for m in ("smt1/printer", "smt1/reflow", "cnc1/vmc1", "cnc1/main_meter"))
    assert model["quality"]["unknown_h"] == pytest.approx(7.5 * 4)  # Friday night's tail, less its break
    html = (tmp_path / world["site"] / "2026-01-10" / "report.html").read_text(encoding="utf-8")
    assert "No data for this period" in html and "smt1/printer" in html
