"""Every query of every pack dashboard, run against the REAL InfluxDB, returns the pack points written.

One synchronous write, for a fresh site, of points in the agreed per-pack schema (measurement = pack
id, fields `<pack>_<kpi>` + `final`, the tags of `oee`): for each pack a line `l1` with machines
`m1`, `m2`, its day windows (the newer must win), hourly windows of the line and machines, and
shift windows. The values are drawn from a seeded generator; each panel must return exactly them.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from brain.pack import Pack
from brain.pack_registry import available
from brain.settings import KPI_DATABASE, Settings
from dashboards import packs as pack_dashboards
from dashboards import queries
from dashboards.build import DASHBOARDS, PACK_DASHBOARDS

pytestmark = pytest.mark.stack

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
START = NOW - timedelta(days=2)
STOP = NOW + timedelta(minutes=5)
LINE, MACHINES = "l1", ("m1", "m2")
HOURS = (3, 2, 1)  # hourly windows, hours before NOW
DAYS = (30, 10)  # day windows, hours before NOW: the 30 h one is outside "today"
SHIFTS = (20, 12)  # shift windows


def _value(rng: random.Random, unit: str) -> float:
    return round(rng.uniform(0.5, 0.99), 4) if unit == "ratio" else round(rng.uniform(1, 5000), 3)


def _written(pack: Pack, seed: int) -> list[dict[str, Any]]:
    """The points of one pack as dicts: time, tags, fields (every KPI a value)."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []

    def add(hours_ago: int, window: str, scope: str, **tags: str) -> None:
        fields = {pack.field(k): _value(rng, k.unit) for k in pack.kpis}
        time = NOW - timedelta(hours=hours_ago)
        out.append({"time": time, "window": window, "scope": scope, "tags": tags, "fields": fields})

    for h in DAYS:
        add(h, "day", "line", line=LINE)
        for m in MACHINES:
            add(h, "day", "machine", line=LINE, machine=m)
    for h in HOURS:
        add(h, "1h", "line", line=LINE, shift="morning")
        for m in MACHINES:
            add(h, "1h", "machine", line=LINE, machine=m, shift="morning")
    for h, shift in zip(SHIFTS, ("night", "morning"), strict=True):
        add(h, "shift", "line", line=LINE, shift=shift)
    add(1, "1h", "line", line="l2", shift="morning")  # another line: never in l1's panels
    return out


def _points(pack: Pack, site: str, written: list[dict[str, Any]]) -> list:
    from influxdb_client import Point

    points = []
    for w in written:
        p = (
            Point(pack.id)
            .time(w["time"])
            .tag("scope", w["scope"])
            .tag("site", site)
            .tag("window", w["window"])
        )
        for key, value in w["tags"].items():
            p = p.tag(key, value)
        p = p.field("final", True)
        for key, value in w["fields"].items():
            p = p.field(key, value)
        points.append(p)
    return points


def _alert(site: str):
    """A firing alert on a pack KPI: the dashboards' "Alerts firing" annotation shows it."""
    from influxdb_client import Point

    p = Point("alert").time(NOW - timedelta(hours=1)).tag("rule", "pack-kpi").tag("severity", "warning")
    p = p.tag("scope", "line").tag("site", site).tag("state", "firing").tag("line", LINE)
    return p.field("id", f"pack-kpi/{site}/{LINE}").field("value", 1.0).field("message", "pack KPI")


PACKS = sorted(available().values(), key=lambda p: p.id)


@pytest.fixture(scope="module")
def results(stack: Settings) -> dict[str, Any]:
    """Every pack dashboard query's rows after one write; plus what was written, per pack."""
    from influxdb_client import InfluxDBClient, WritePrecision
    from influxdb_client.client.write_api import SYNCHRONOUS
    from influxdb_client.rest import ApiException

    site = f"t{uuid.uuid4().hex[:10]}"
    written = {p.id: _written(p, seed=i) for i, p in enumerate(PACKS)}
    out: dict[str, Any] = {"__site__": site, "__written__": written}
    variables = {"site": site, "line": LINE}
    with InfluxDBClient(
        url=stack.influx_url, token=stack.influx_token or "x:x", org=stack.influx_org
    ) as client:
        points = [pt for p in PACKS for pt in _points(p, site, written[p.id])] + [_alert(site)]
        client.write_api(write_options=SYNCHRONOUS).write(
            bucket=KPI_DATABASE, record=points, write_precision=WritePrecision.MS
        )
        api = client.query_api()
        for d in PACK_DASHBOARDS:
            for name, query in queries.all_queries(d):
                flux = queries.substitute(query, variables=variables, start=START, stop=STOP)
                try:
                    tables = api.query(flux, org=stack.influx_org)
                except ApiException as exc:
                    out[name] = [{"error": exc.body}]
                    continue
                out[name] = [dict(r.values) for t in tables for r in t.records]
    return out


def test_every_installed_pack_has_a_dashboard() -> None:
    assert {d.key for d in PACK_DASHBOARDS} == {f"pack-{p.id}" for p in PACKS}
    assert DASHBOARDS[-len(PACK_DASHBOARDS) :] == PACK_DASHBOARDS


NAMES = [name for d in PACK_DASHBOARDS for name, _ in queries.all_queries(d)]


@pytest.mark.parametrize("name", NAMES)
def test_every_pack_query_returns_rows(results, name: str) -> None:
    rows = results[name]
    assert rows, f"{name} returned nothing"
    assert "error" not in rows[0], f"{name}: InfluxDB rejected the query: {rows[0]['error']}"


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.id)
def test_variables_list_the_site_and_lines_of_the_pack(results, pack: Pack) -> None:
    key = pack_dashboards.key(pack)
    assert results["__site__"] in {r["_value"] for r in results[f"{key}: variable site"]}
    assert {r["_value"] for r in results[f"{key}: variable line"]} == {LINE, "l2"}


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.id)
def test_stat_is_the_newest_day_window_of_the_line(results, pack: Pack) -> None:
    newest = min(DAYS)
    (want,) = [
        w for w in results["__written__"][pack.id]
        if w["window"] == "day" and w["scope"] == "line" and w["time"] == NOW - timedelta(hours=newest)
    ]  # fmt: skip
    for kpi in pack.kpis:
        rows = results[f"{pack_dashboards.key(pack)}: panel {kpi.label.en + ' today'!r}"]
        assert [r["_value"] for r in rows] == [want["fields"][pack.field(kpi)]], pack.field(kpi)


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.id)
def test_hourly_series_are_the_line_and_its_machines(results, pack: Pack) -> None:
    hourly = [w for w in results["__written__"][pack.id] if w["window"] == "1h" and w["tags"]["line"] == LINE]
    for kpi in pack.kpis:
        field = pack.field(kpi)
        title = f"{kpi.label.en} on line ${{line}} and its machines (hourly)"
        rows = results[f"{pack_dashboards.key(pack)}: panel {title!r}"]
        got = sorted((r["machine"], r["_time"], r["_value"]) for r in rows)
        want = sorted((w["tags"].get("machine", LINE), w["time"], w["fields"][field]) for w in hourly)
        assert got == want, field
        assert len({r["machine"] for r in rows}) == 1 + len(MACHINES)


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.id)
def test_alert_annotation(results, pack: Pack) -> None:
    assert [r["text"] for r in results[f"{pack_dashboards.key(pack)}: annotation"]] == ["pack-kpi: pack KPI"]


def test_battery_grading_by_shift(results) -> None:
    """The battery pack's special panel (extras["panels"]): yield and grade A per shift, in time order."""
    battery = available()["battery"]
    (panel,) = battery.extras["panels"]
    rows = results[f"pack-battery: panel {panel.title.en!r}"]
    shifts = sorted(
        (w for w in results["__written__"]["battery"] if w["window"] == "shift"), key=lambda w: w["time"]
    )
    assert [(r["battery_yield"], r["battery_grade_a_ratio"]) for r in rows] == [
        (w["fields"]["battery_yield"], w["fields"]["battery_grade_a_ratio"]) for w in shifts
    ]


def test_units_follow_the_kpi_rows() -> None:
    for d, pack in zip(PACK_DASHBOARDS, PACKS, strict=True):
        stats = [p for p in d.panels if p.kind == "stat"]
        assert [p.unit for p in stats] == [pack_dashboards.grafana_unit(k.unit) for k in pack.kpis]
        assert [p.title.zh for p in stats] == [f"{k.label.zh} 今日" for k in pack.kpis]
