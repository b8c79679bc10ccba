"""Every query of the city dashboards, run against the REAL InfluxDB, returns the worked example's
figures (docs/CITY.md): the rows of `brain city` on examples/city/{register.yaml,exports.jsonl}, mapped by
brain/city/influx.py and written to `brain_city` in one synchronous write.

Enterprise, park and sector ids get a per-run prefix so runs (and other tests writing city points of
2026) never share a row: each panel's rows are taken for this run's ids and compared with the core's.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from brain.city import evaluate
from brain.city.influx import CITY_DATABASE, CITY_RETENTION, city_points
from brain.settings import Settings
from dashboards import city, queries
from tests.city.example import prefixed_example

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.now(UTC)
START, STOP = NOW - timedelta(days=730), NOW + timedelta(minutes=5)


@pytest.fixture(scope="module")
def run(stack: Settings) -> dict[str, Any]:
    from influxdb_client import InfluxDBClient, WritePrecision
    from influxdb_client.client.write_api import SYNCHRONOUS
    from influxdb_client.rest import ApiException

    from brain.influx_admin import ensure_databases

    prefix = f"t{uuid.uuid4().hex[:6]}-"
    register, records = prefixed_example(prefix)
    result = evaluate(register, records, 2026)
    ensure_databases(
        stack.influx_url, token=stack.influx_token or "", databases={CITY_DATABASE: CITY_RETENTION}
    )
    variables = {"period": "2026", "park": prefix + "wujiang", "sector": prefix + "textile"}
    out: dict[str, Any] = {"prefix": prefix, "result": result, "variables": variables}
    with InfluxDBClient(
        url=stack.influx_url, token=stack.influx_token or "x:x", org=stack.influx_org
    ) as client:
        lines = [p.line() for p in city_points(result.rows(), register.timezone)]
        client.write_api(write_options=SYNCHRONOUS).write(
            bucket=CITY_DATABASE, record=lines, write_precision=WritePrecision.MS
        )
        api = client.query_api()
        for d in city.DASHBOARDS:
            for name, query in queries.all_queries(d):
                flux = queries.substitute(query, variables=variables, start=START, stop=STOP)
                try:
                    tables = api.query(flux, org=stack.influx_org)
                except ApiException as exc:
                    out[name] = [{"error": exc.body}]
                    continue
                out[name] = [dict(r.values) for t in tables for r in t.records]
    return out


def panel(run, key: str, title: str, mine: bool = True) -> list[dict[str, Any]]:
    rows = run[f"{key}: panel {title!r}"]
    assert rows and "error" not in rows[0], rows[:1]
    if mine and "enterprise" in rows[0]:
        rows = [r for r in rows if r["enterprise"].startswith(run["prefix"])]
    return rows


def core(run, kind: str, **where: str) -> dict[str, dict[str, Any]]:
    rows = [r for r in run["result"].rows() if r["kind"] == kind and all(r[k] == v for k, v in where.items())]
    return {r["enterprise"]: r for r in rows}


NAMES = [name for d in city.DASHBOARDS for name, _ in queries.all_queries(d)]


@pytest.mark.parametrize("name", NAMES)
def test_every_city_query_runs_and_returns_rows(run, name: str) -> None:
    rows = run[name]
    assert rows, f"{name} returned nothing"
    assert "error" not in rows[0], f"{name}: InfluxDB rejected the query: {rows[0]['error']}"


def test_variables_list_this_runs_period_park_and_sector(run) -> None:
    v = run["variables"]
    assert v["period"] in {r["_value"] for r in run["city-ranking: variable period"]}
    assert v["park"] in {r["_value"] for r in run["city-park: variable park"]}
    assert v["sector"] in {r["_value"] for r in run["city-sectors: variable sector"]}


def test_park_overview(run) -> None:
    (park,) = [r for r in run["result"].parks if r["park"] == run["variables"]["park"]]
    for title, field in [
        ("Enterprises", "enterprises"),
        ("Evaluated (not T)", "evaluated"),
        ("Energy (tce)", "tce"),
        ("CO₂ (t)", "co2_t"),
        ("Tax per mu (10k CNY)", "tax_per_mu"),
        ("tce per 10k CNY value added", "tce_per_10k_value_added"),
    ]:
        assert [r["_value"] for r in panel(run, "city-park", title)] == [pytest.approx(park[field])], title
    classes = {r["class"]: r["enterprises"] for r in panel(run, "city-park", "Enterprises per class")}
    assert classes == {"A": 0, "B": 1, "C": 1, "D": 1, "T": 1}  # wujiang: e3 B, e4 C, e5 D, e7 T


def test_ranking_table_is_the_core_in_rank_order(run) -> None:
    rows = panel(run, "city-ranking", "Ranking")
    want = core(run, "enterprise")
    assert {r["enterprise"] for r in rows} == set(want)
    for r in rows:
        w = want[r["enterprise"]]
        assert (r.get("rank"), r["class"], r["class_reason"]) == (
            w["rank"] and float(w["rank"]),
            w["class"],
            w["class_reason"],
        )
        assert r.get("score") == (None if w["score"] is None else pytest.approx(w["score"]))
        assert r["dq_flagged"] is w["dq_flagged"]
    # by class, then rank (class follows rank; T, unranked, last), then enterprise
    p = run["prefix"]
    assert [(r["enterprise"], r.get("rank")) for r in rows] == [
        (p + "e1", 1.0), (p + "e2", 2.0), (p + "e3", 2.0), (p + "e4", 4.0), (p + "e5", 5.0), (p + "e6", None),
        (p + "e7", None),
    ]  # fmt: skip
    scores = {r["enterprise"]: r["score"] for r in panel(run, "city-ranking", "Score by enterprise")}
    assert scores == {e: pytest.approx(w["score"]) for e, w in want.items() if w["score"] is not None}
    assert scores[p + "e2"] == scores[p + "e3"]  # the tie


def test_sector_benchmark(run) -> None:
    want = core(run, "sector", sector=run["variables"]["sector"])
    rows = panel(run, "city-sectors", "Sector benchmark")
    assert [r["enterprise"] for r in rows] == sorted(want, key=lambda e: want[e]["kwh_per_unit"])
    for r in rows:
        for f in city.SECTOR_FIELDS:
            assert r[f] == pytest.approx(want[r["enterprise"]][f]), f
    oee = {r["enterprise"]: r["oee"] for r in panel(run, "city-sectors", "OEE by enterprise")}
    assert oee == {e: pytest.approx(w["oee"]) for e, w in want.items()}
    kpu = {
        r["enterprise"]: r["kwh_per_unit"]
        for r in panel(run, "city-sectors", "kWh per good unit by enterprise")
    }
    assert kpu == {e: pytest.approx(w["kwh_per_unit"]) for e, w in want.items()}


def test_carbon_and_energy_intensity(run) -> None:
    want = {e: w for e, w in core(run, "enterprise").items() if w["park"] == run["variables"]["park"]}
    rows = panel(run, "city-carbon", "Energy and carbon by enterprise")
    assert [r["enterprise"] for r in rows] == sorted(want)
    for r in rows:
        w = want[r["enterprise"]]
        assert r["carbon_factor"] == w["carbon_factor"] == "cn-2023-national-average"
        for f in ("kwh", "tce", "co2_t", "tce_per_10k_value_added", "co2_t_per_10k_value_added"):
            assert r.get(f) == (None if w[f] is None else pytest.approx(w[f])), f
    bars = panel(run, "city-carbon", "t CO₂ per 10k CNY value added")
    assert {r["enterprise"]: r["co2_t_per_10k_value_added"] for r in bars} == {
        e: pytest.approx(w["co2_t_per_10k_value_added"])
        for e, w in want.items()
        if w["co2_t_per_10k_value_added"]
    }


def test_data_quality(run) -> None:
    want = {e: w for e, w in core(run, "enterprise").items() if w["park"] == run["variables"]["park"]}
    assert [r["_value"] for r in panel(run, "city-dq", "Enterprises on flagged data")] == [1.0]
    rows = panel(run, "city-dq", "Completeness by enterprise")
    assert [r["enterprise"] for r in rows] == sorted(want, key=lambda e: (want[e]["dq_completeness"], e))
    flagged = [r["enterprise"] for r in rows if r["dq_flagged"]]
    assert flagged == [run["prefix"] + "e4"]
    assert rows[0]["dq_completeness"] == pytest.approx(0.75)
