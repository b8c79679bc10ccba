"""Every panel, variable and annotation query of every dashboard, run against the REAL InfluxDB.

One write of known points in the v1 schema (docs/SCHEMA.md) for a fresh site, then each query with
Grafana's macros substituted the way Grafana does it. Every query must return rows; the key panels
must return the expected numbers.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from brain.settings import KPI_DATABASE, RAW_DATABASE, Settings
from dashboards import queries
from dashboards.build import CORE_DASHBOARDS as DASHBOARDS  # the pack dashboards: test_pack_queries.py

pytestmark = pytest.mark.stack

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
Q15 = NOW - timedelta(minutes=NOW.minute % 15)  # start of the open 15-minute block
START = NOW - timedelta(days=3)
STOP = NOW + timedelta(minutes=5)
CONTRACTED_KW = 2500.0


def _ago(**kw: float) -> datetime:
    return NOW - timedelta(**kw)


def _kpi(measurement: str, at: datetime, window: str, scope: str, site: str, fields: dict[str, Any], **tags):
    from influxdb_client import Point

    point = Point(measurement).time(at).tag("scope", scope).tag("site", site).tag("window", window)
    for key, value in tags.items():
        point = point.tag(key, value)
    end = at + {"1m": timedelta(minutes=1), "15m": timedelta(minutes=15), "1h": timedelta(hours=1)}.get(
        window, timedelta(hours=8)
    )
    point = point.field("final", False).field("end", int(end.timestamp() * 1000))
    for key, value in fields.items():
        point = point.field(key, value)
    return point


def _apq(a: float, p: float, q: float, **more: float) -> dict[str, float]:
    return {"availability": a, "performance": p, "quality": q, "oee": a * p * q, **more}


def _points(site: str) -> tuple[list, list]:
    from influxdb_client import Point

    kpi = [
        # OEE per line, latest 15 minutes: the newer window (overwritten while open) wins.
        _kpi(
            "oee",
            Q15 - timedelta(minutes=30),
            "15m",
            "line",
            site,
            _apq(0.5, 0.8, 0.9),
            line="l1",
            shift="morning",
        ),
        _kpi(
            "oee",
            Q15 - timedelta(minutes=15),
            "15m",
            "line",
            site,
            _apq(0.8, 0.9, 1.0),
            line="l1",
            shift="morning",
        ),
        _kpi(
            "oee",
            Q15 - timedelta(minutes=15),
            "15m",
            "line",
            site,
            _apq(0.9, 1.0, 1.0),
            line="l2",
            shift="morning",
        ),
        _kpi("oee", Q15 - timedelta(minutes=15), "15m", "site", site, _apq(0.85, 0.95, 1.0)),
        # Today (day window).
        _kpi(
            "oee", _ago(hours=10), "day", "line", site, _apq(0.8, 0.9, 0.95, pq=1000.0, gq=950.0), line="l1"
        ),
        _kpi("oee", _ago(hours=10), "day", "line", site, _apq(0.5, 0.8, 1.0, pq=400.0, gq=400.0), line="l2"),
        _kpi("oee", _ago(hours=10), "day", "site", site, _apq(0.7, 0.85, 0.97)),
        _kpi(
            "oee",
            _ago(hours=10),
            "day",
            "machine",
            site,
            {**_apq(0.8, 0.9, 0.95), "mtbf_s": 3600.0, "mttr_s": 300.0, "failures": 4.0},
            line="l1",
            machine="m1",
        ),
        # Shifts of line l1, with their six big losses (the night shift and line l2 must not show).
        _kpi(
            "oee",
            _ago(hours=36),
            "shift",
            "line",
            site,
            _apq(0.9, 0.9, 1.0, loss_breakdown_s=300.0, loss_speed_s=40.0),
            line="l1",
            shift="morning",
        ),
        _kpi(
            "oee",
            _ago(hours=20),
            "shift",
            "line",
            site,
            _apq(0.7, 0.9, 0.9, loss_breakdown_s=5000.0),
            line="l1",
            shift="night",
        ),
        _kpi(
            "oee",
            _ago(hours=12),
            "shift",
            "line",
            site,
            _apq(0.8, 0.9, 0.95, **SHIFT_LOSSES),
            line="l1",
            shift="morning",
        ),
        _kpi(
            "oee",
            _ago(hours=12),
            "shift",
            "line",
            site,
            {"loss_breakdown_s": 9000.0},
            line="l2",
            shift="morning",
        ),
        # Hourly windows: losses of line l1, machines m1 and m2.
        _kpi(
            "oee",
            _ago(hours=3),
            "1h",
            "line",
            site,
            {"pdot_s": 600.0, "adot_s": 300.0, "adet_s": 900.0, "aust_s": 100.0, "unknown_s": 60.0},
            line="l1",
        ),
        _kpi(
            "oee",
            _ago(hours=2),
            "1h",
            "line",
            site,
            {"pdot_s": 600.0, "adot_s": 150.0, "adet_s": 0.0, "aust_s": 200.0, "unknown_s": 0.0},
            line="l1",
        ),
        _kpi(
            "oee",
            _ago(hours=3),
            "1h",
            "machine",
            site,
            _apq(0.9, 0.9, 1.0, throughput_per_h=120.0),
            line="l1",
            machine="m1",
        ),
        _kpi(
            "oee",
            _ago(hours=2),
            "1h",
            "machine",
            site,
            _apq(0.8, 0.9, 1.0, throughput_per_h=100.0),
            line="l1",
            machine="m1",
        ),
        _kpi(
            "oee",
            _ago(hours=2),
            "1h",
            "machine",
            site,
            _apq(0.8, 0.9, 1.0, throughput_per_h=80.0),
            line="l1",
            machine="m2",
        ),
        # Energy of the site.
        _kpi(
            "energy",
            _ago(hours=10),
            "day",
            "site",
            site,
            {
                "energy_kwh": 350.0,
                "kwh_peak": 100.0,
                "kwh_flat": 200.0,
                "kwh_valley": 50.0,
                "cost": 251.74,
                "co2_kg": 209.23,
                "peak_demand_kw": 2600.0,
                "power_factor": 0.93,
                "sec_kwh_per_unit": 0.25,
            },
        ),
        _kpi("energy", Q15 - timedelta(minutes=30), "15m", "site", site, {"peak_demand_kw": 1200.0}),
        _kpi("energy", Q15 - timedelta(minutes=15), "15m", "site", site, {"peak_demand_kw": 2600.0}),
        _kpi(
            "energy",
            _ago(hours=2),
            "1h",
            "site",
            site,
            {"energy_kwh": 80.0, "power_factor": 0.92, "co2_kg": 45.6},
        ),
        _kpi("energy", _ago(hours=2), "1h", "line", site, {"sec_kwh_per_unit": 0.3}, line="l1"),
    ]

    # Alerts: l1 fires; l2 fired and resolved; the site's demand projection fires.
    def alert(at, rule, severity, scope, state, value, threshold, **tags):
        p = Point("alert").time(at).tag("rule", rule).tag("severity", severity).tag("scope", scope)
        p = p.tag("site", site).tag("state", state)
        for key, val in tags.items():
            p = p.tag(key, val)
        started = int((at - timedelta(minutes=1)).timestamp() * 1000)
        p = p.field("id", f"{rule}/{site}/{tags.get('line', '')}").field("value", value)
        p = p.field("threshold", threshold).field("message", f"{rule} {value} vs {threshold}")
        p = p.field("started", started)
        if state == "resolved":
            p = p.field("ended", int(at.timestamp() * 1000))
        return p

    kpi += [
        alert(_ago(hours=2), "oee_low", "warning", "line", "firing", 0.45, 0.6, line="l1"),
        alert(_ago(hours=3), "oee_low", "warning", "line", "firing", 0.5, 0.6, line="l2"),
        alert(_ago(hours=1), "oee_low", "warning", "line", "resolved", 0.65, 0.6, line="l2"),
        alert(_ago(minutes=30), "demand_projection", "critical", "site", "firing", 2400.0, 2250.0),
    ]

    def telemetry(at, machine, metric, value):
        p = Point("telemetry").time(at).tag("site", site).tag("line", "l1").tag("machine", machine)
        p = p.tag("metric", metric)
        return p.field("value_str" if isinstance(value, str) else "value", value)

    raw = [
        telemetry(_ago(hours=2), "m1", "state", "running"),
        telemetry(_ago(hours=1), "m1", "state", "fault"),
        telemetry(_ago(minutes=90), "m2", "state", "idle"),
        telemetry(_ago(minutes=90), "m2", "power_kw", 12.5),
        telemetry(_ago(minutes=50), "m1", "reason", "R01"),
    ]
    kpi += _loss_points(site)
    return kpi, raw


# The worked example of shared/KPIS.md "Loss analysis (v2)", as the morning shift of line l1.
SHIFT_LOSSES = {
    "loss_breakdown_s": 1200.0,
    "loss_setup_s": 900.0,
    "loss_minor_stop_s": 720.0,
    "loss_no_order_s": 600.0,
    "loss_starved_s": 0.0,
    "loss_blocked_s": 0.0,
    "loss_idle_s": 0.0,
    "loss_planned_s": 0.0,
    "loss_unknown_s": 0.0,
    "loss_speed_s": 500.0,
    "loss_defect_s": 30.0,
}


def _loss_points(site: str) -> list:
    """Per-reason records (measurement `loss`): two morning shifts of l1, and what must not show."""
    from influxdb_client import Point

    def loss(at, reason, category, seconds, stops, *, scope="line", line="l1", shift="morning", **tags):
        p = Point("loss").time(at).tag("scope", scope).tag("site", site).tag("line", line)
        p = p.tag("window", "shift").tag("shift", shift).tag("reason", reason).tag("category", category)
        for key, value in tags.items():
            p = p.tag(key, value)
        return p.field("seconds", seconds).field("stops", stops)

    return [
        loss(_ago(hours=36), "R01", "breakdown", 300.0, 1),
        loss(_ago(hours=12), "R01", "breakdown", 1200.0, 1),
        loss(_ago(hours=12), "R20", "setup", 900.0, 1),
        loss(_ago(hours=12), "M05", "minor_stop", 720.0, 6),
        loss(_ago(hours=12), "R31", "no_order", 600.0, 1),
        loss(_ago(hours=12), "R02", "breakdown", 0.0, 0),  # lost its time to a re-classification
        loss(_ago(hours=20), "R99", "breakdown", 5000.0, 2, shift="night"),
        loss(_ago(hours=12), "R99", "breakdown", 8000.0, 3, line="l2"),
        loss(_ago(hours=12), "R98", "setup", 7000.0, 1, scope="machine", machine="m1"),
    ]


def substitute(query: str, site: str) -> str:
    """What Grafana sends for this query: time macros and template variables replaced."""
    values = {
        "site": site,
        "line": "l1",
        "machine": "m1",
        "shift": "morning",
        "contracted_kw": f"{CONTRACTED_KW:g}",
    }
    return queries.substitute(query, variables=values, start=START, stop=STOP)


_all_queries = queries.all_queries


@pytest.fixture(scope="module")
def results(stack: Settings) -> dict[str, list[dict[str, Any]]]:
    """site id -> every query's rows, after ONE write of the known points."""
    from influxdb_client import InfluxDBClient, WritePrecision
    from influxdb_client.client.write_api import SYNCHRONOUS
    from influxdb_client.rest import ApiException

    site = f"t{uuid.uuid4().hex[:10]}"
    kpi, raw = _points(site)
    out: dict[str, list[dict[str, Any]]] = {}
    with InfluxDBClient(
        url=stack.influx_url, token=stack.influx_token or "x:x", org=stack.influx_org
    ) as client:
        writer = client.write_api(write_options=SYNCHRONOUS)
        writer.write(bucket=KPI_DATABASE, record=kpi, write_precision=WritePrecision.MS)
        writer.write(bucket=RAW_DATABASE, record=raw, write_precision=WritePrecision.MS)
        query_api = client.query_api()
        for d in DASHBOARDS:
            for name, query in _all_queries(d):
                try:
                    tables = query_api.query(substitute(query, site), org=stack.influx_org)
                except ApiException as exc:  # reported by the test of that query, with the server's words
                    out[name] = [{"error": exc.body}]
                    continue
                out[name] = [dict(record.values) for table in tables for record in table.records]
    out["__site__"] = [{"site": site}]
    return out


def _panel(results, key: str, title: str) -> list[dict[str, Any]]:
    return results[f"{key}: panel {title!r}"]


ALL_NAMES = [name for d in DASHBOARDS for name, _ in _all_queries(d)]


@pytest.mark.parametrize("name", ALL_NAMES)
def test_every_query_returns_rows(results, name: str) -> None:
    rows = results[name]
    assert rows, f"{name} returned nothing"
    assert "error" not in rows[0], f"{name}: InfluxDB rejected the query: {rows[0]['error']}"


def test_site_variable_lists_the_site(results) -> None:
    site = results["__site__"][0]["site"]
    assert site in {r["_value"] for r in results["overview: variable site"]}
    assert {r["_value"] for r in results["line: variable line"]} == {"l1", "l2"}
    assert {r["_value"] for r in results["line: variable machine"]} == {"m1", "m2"}


def test_oee_per_line_now_is_the_latest_15_minute_window(results) -> None:
    rows = _panel(results, "overview", "OEE per line now (15 min)")
    assert {r["line"]: round(r["_value"], 6) for r in rows} == {"l1": 0.72, "l2": 0.9}
    rows = _panel(results, "overview", "Lines now (15 min): availability, performance, quality")
    by_line = {r["line"]: r for r in rows}
    assert by_line["l1"]["availability"] == 0.8 and by_line["l1"]["performance"] == 0.9
    assert math.isclose(by_line["l2"]["oee"], 0.9)


def test_oee_per_line_today(results) -> None:
    rows = _panel(results, "overview", "OEE per line today")
    assert {r["line"]: round(r["_value"], 6) for r in rows} == {"l1": 0.684, "l2": 0.4}
    site = _panel(results, "overview", "Site OEE today")
    assert [round(r["_value"], 6) for r in site] == [round(0.7 * 0.85 * 0.97, 6)]


def test_output_against_ideal(results) -> None:
    rows = {r["line"]: r for r in _panel(results, "overview", "Output today against the ideal")}
    assert rows["l1"]["pq"] == 1000 and rows["l1"]["gq"] == 950
    assert math.isclose(rows["l1"]["ideal"], 1000 / (0.8 * 0.9))
    assert math.isclose(rows["l2"]["ideal"], 1000.0)


def test_energy_today_by_tou_period(results) -> None:
    for key, title in (
        ("overview", "Energy today by time-of-use period"),
        ("energy", "Energy today by time-of-use period"),
    ):
        (row,) = _panel(results, key, title)
        assert (row["kwh_peak"], row["kwh_flat"], row["kwh_valley"]) == (100.0, 200.0, 50.0)
    assert [r["_value"] for r in _panel(results, "overview", "Energy cost today (plant currency)")] == [
        251.74
    ]


def test_demand_against_contracted(results) -> None:
    rows = _panel(results, "energy", "15-minute demand against contracted demand")
    assert [(r["peak_demand_kw"], r["contracted_kw"]) for r in rows] == [(1200.0, 2500.0), (2600.0, 2500.0)]
    assert [r["_value"] for r in _panel(results, "energy", "Peak 15-min demand today")] == [2600.0]


def test_active_alerts_are_the_firing_ones(results) -> None:
    rows = _panel(results, "overview", "Active alerts")
    assert sorted((r["rule"], r.get("line")) for r in rows) == [
        ("demand_projection", None),
        ("oee_low", "l1"),
    ]
    assert [r["n"] for r in _panel(results, "alerts", "Alerts firing now")] == [2]
    events = _panel(results, "alerts", "Alert events (firing and resolved)")
    assert len(events) == 4 and {r["state"] for r in events} == {"firing", "resolved"}
    by_rule = {r["rule"]: r["events"] for r in _panel(results, "alerts", "Firing events by rule")}
    assert by_rule == {"oee_low": 2, "demand_projection": 1}
    notes = results["overview: annotation"]
    assert sorted(r["text"] for r in notes) == [
        "demand_projection: demand_projection 2400.0 vs 2250.0",
        "oee_low: oee_low 0.45 vs 0.6",
        "oee_low: oee_low 0.5 vs 0.6",
    ]


def test_line_panels(results) -> None:
    pareto = _panel(results, "line", "Loss Pareto on line ${line} (time elements)")
    assert [(r["_field"], r["_value"]) for r in pareto] == [
        ("pdot_s", 1200.0),
        ("adet_s", 900.0),
        ("adot_s", 450.0),
        ("aust_s", 300.0),
        ("unknown_s", 60.0),
    ]
    states = _panel(results, "line", "Machine states on line ${line}")
    assert {(r["machine"], r["_value"]) for r in states} == {
        ("m1", "running"),
        ("m1", "fault"),
        ("m2", "idle"),
    }
    shifts = _panel(results, "line", "OEE by shift on line ${line}")
    assert [round(r["oee"], 4) for r in shifts] == [
        round(0.81, 4),
        round(0.7 * 0.81, 4),
        round(0.8 * 0.9 * 0.95, 4),
    ]
    assert [r["_value"] for r in _panel(results, "line", "MTBF of ${machine} today")] == [3600.0]
    assert [r["_value"] for r in _panel(results, "line", "MTTR of ${machine} today")] == [300.0]
    throughput = _panel(results, "line", "Throughput per machine on line ${line} (units/h)")
    assert sorted((r["machine"], r["_value"]) for r in throughput) == [
        ("m1", 100.0),
        ("m1", 120.0),
        ("m2", 80.0),
    ]


def test_loss_panels(results) -> None:
    assert {r["_value"] for r in results["line: variable shift"]} == {"morning", "night"}
    pareto = _panel(results, "line", "Stop reasons on line ${line}, shift ${shift} (Pareto)")
    assert [(r["label"], r["seconds"], r["stops"]) for r in pareto] == [
        ("R01 (breakdown)", 1500.0, 2),
        ("R20 (setup)", 900.0, 1),
        ("M05 (minor_stop)", 720.0, 6),
        ("R31 (no_order)", 600.0, 1),
    ]
    big = _panel(results, "line", "Six big losses on line ${line}, shift ${shift}")
    expected = dict(SHIFT_LOSSES)
    expected["loss_breakdown_s"] += 300.0
    expected["loss_speed_s"] += 40.0
    assert [(r["_field"], r["_value"]) for r in big] == sorted(
        expected.items(), key=lambda kv: (kv[1], kv[0]), reverse=True
    )
    stops = _panel(results, "line", "Stops and reasons on line ${line}")
    assert {(r["machine"], r["_value"]) for r in stops} == {
        ("m1", "running"),
        ("m1", "fault"),
        ("m1", "R01"),
        ("m2", "idle"),
    }
    assert [r["_time"] for r in stops if r["_value"] == "R01"] == [_ago(minutes=50)]
