"""The sink on the real servers: Kafka topics of its own -> the shared InfluxDB, filtered by a unique site."""

from __future__ import annotations

import base64
from collections.abc import Callable

import orjson
import pytest

from brain.settings import KPI_DATABASE, RAW_DATABASE, Settings
from tests.sink.helpers import (
    DAY_MS,
    encode,
    expected_kpi_points,
    kpi_key,
    kpi_records,
    produce,
    query_site,
    read_topic,
    running_sink,
    wait_for,
)

pytestmark = [pytest.mark.stack, pytest.mark.timeout(120)]


def _options(topics: dict[str, str], site: str, **more: object) -> dict:
    return {
        "topics": {topics["kpis"]: "kpis", topics["alerts"]: "alerts", **more.pop("extra_topics", {})},
        "group": f"sinktest-{site}",
        "deadletter_topic": topics["dl"],
        "flush_ms": 200,
        "status_interval_s": 2,
        **more,
    }


def test_kpi_records_and_alerts_are_written_exactly(
    stack: Settings, site_id: str, sink_topics: Callable[..., dict[str, str]]
) -> None:
    topics = sink_topics()
    records = kpi_records(site_id)
    t0 = records[0]["start"]
    alerts = [
        {"id": "a1", "rule": "oee_low", "severity": "warning", "state": "firing", "scope": "machine",
         "site": site_id, "line": "l1", "machine": "m1", "value": 0.41, "threshold": 0.6,
         "message": "OEE 41% < 60%", "started": t0, "ts": t0 + 1, "unknown": [1, 2]},
        {"id": "a1", "rule": "oee_low", "severity": "warning", "state": "resolved", "scope": "machine",
         "site": site_id, "line": "l1", "machine": "m1", "value": 0.7, "threshold": 0.6,
         "message": "back to normal", "started": t0, "ended": t0 + 120_000},
    ]  # fmt: skip
    produce(
        stack, topics["kpis"], encode(records), keys=[f"{r['site']}/{r['machine']}".encode() for r in records]
    )
    produce(stack, topics["alerts"], encode(alerts))
    expected = expected_kpi_points(records)
    assert len(expected) == 20 * 3 + 20 * 2 + 1  # oee for all, energy for m0/m1, the line record
    with running_sink(stack, **_options(topics, site_id)):
        wait_for(lambda: len(query_site(stack, KPI_DATABASE, site_id)) >= len(expected) + 2, 30, "all points")
    found = query_site(stack, KPI_DATABASE, site_id)
    kpis = {k: v for k, v in found.items() if k[0] != "alert"}
    assert kpis == expected
    # the values are the records' own, not just what the mapping made of them
    r = records[4]
    oee_key = ("oee", (("line", "l1"), ("machine", r["machine"]), ("scope", "machine"), ("site", site_id),
                       ("window", "1m")), r["start"])  # fmt: skip
    assert found[oee_key]["oee"] == r["oee"] and found[oee_key]["pq"] == r["pq"]
    assert found[oee_key]["final"] is r["final"] and found[oee_key]["end"] == r["end"]
    assert ("energy", *oee_key[1:]) in found and found[("energy", *oee_key[1:])]["energy_kwh"] == r[
        "energy_kwh"
    ]
    line_tags = (("line", "l1"), ("scope", "line"), ("shift", "A"), ("site", site_id), ("window", "shift"))
    assert found[("oee", line_tags, t0)]["oee"] == 0.66
    assert "availability" not in found[("oee", line_tags, t0)]  # null KPIs are not written
    alert_tags = {"line": "l1", "machine": "m1", "rule": "oee_low", "scope": "machine", "severity": "warning",
                  "site": site_id}  # fmt: skip
    firing = found[("alert", tuple(sorted((alert_tags | {"state": "firing"}).items())), t0 + 1)]
    resolved = found[("alert", tuple(sorted((alert_tags | {"state": "resolved"}).items())), t0 + 120_000)]
    assert firing == {"id": "a1", "value": 0.41, "threshold": 0.6, "message": "OEE 41% < 60%", "started": t0}
    assert resolved["ended"] == t0 + 120_000 and resolved["message"] == "back to normal"


def test_redelivery_and_a_correction_leave_one_point_per_series_and_time(
    stack: Settings, site_id: str, sink_topics: Callable[..., dict[str, str]]
) -> None:
    topics = sink_topics()
    records = kpi_records(site_id, machines=2, windows=5)
    produce(stack, topics["kpis"], encode(records), keys=[kpi_key(r) for r in records])
    opts = _options(topics, site_id)
    with running_sink(stack, **opts):
        wait_for(
            lambda: query_site(stack, KPI_DATABASE, site_id) == expected_kpi_points(records), 30, "first pass"
        )
    corrected = dict(records[3], final=True, oee=0.123, pq=99, energy_kwh=9.5)
    again = [*records, corrected]  # everything again, then the correction (same key: same partition)
    produce(stack, topics["kpis"], encode(again), keys=[kpi_key(r) for r in again])
    final_records = [*records[:3], corrected, *records[4:]]
    with running_sink(stack, **opts):
        wait_for(
            lambda: query_site(stack, KPI_DATABASE, site_id) == expected_kpi_points(final_records),
            30,
            "the corrected state",
        )
    found = query_site(stack, KPI_DATABASE, site_id)
    assert len(found) == len(expected_kpi_points(records))  # no second point anywhere
    key = next(
        k
        for k in found
        if k[0] == "oee" and k[2] == corrected["start"] and ("machine", corrected["machine"]) in k[1]
    )
    assert found[key]["oee"] == 0.123 and found[key]["pq"] == 99 and found[key]["final"] is True


def test_bad_records_are_dead_lettered_and_good_ones_written(
    stack: Settings, site_id: str, sink_topics: Callable[..., dict[str, str]]
) -> None:
    topics = sink_topics()
    good = kpi_records(site_id, machines=1, windows=4)
    too_old = dict(
        good[0], start=good[0]["start"] - 6 * 365 * DAY_MS, end=good[0]["start"] - 6 * 365 * DAY_MS + 60_000
    )
    bad_window = dict(good[1], window="2m")
    values = [
        *encode(good[:2]),
        b"{not json",
        orjson.dumps(bad_window),
        orjson.dumps(too_old),
        *encode(good[2:]),
    ]
    produce(stack, topics["kpis"], values)
    produce(stack, topics["alerts"], [orjson.dumps({"state": "firing", "ts": good[0]["start"], "value": 1})])
    with running_sink(stack, **_options(topics, site_id)):
        dead = read_topic(stack, topics["dl"], expect=4, timeout_s=30)
        wait_for(
            lambda: query_site(stack, KPI_DATABASE, site_id) == expected_kpi_points(good), 20, "good records"
        )
    by_reason = {d["reason"]: d for d in dead}
    assert sorted(by_reason) == [
        "alert.missing_rule",
        "influx.rejected",
        "kpi.bad_window",
        "payload.bad_json",
    ]
    assert len(dead) == 4
    assert base64.b64decode(by_reason["payload.bad_json"]["payload"]) == b"{not json"
    assert by_reason["payload.bad_json"]["topic"] == topics["kpis"]
    assert all(d["source"] == "sink" and isinstance(d["received_ts"], int) for d in dead)
    rejected = by_reason["influx.rejected"]
    assert orjson.loads(base64.b64decode(rejected["payload"])) == too_old
    assert "HTTP 400" in rejected["detail"] and "retention" in rejected["detail"]
    assert "kpi.window" in by_reason["kpi.bad_window"]["detail"]
    assert by_reason["alert.missing_rule"]["topic"] == topics["alerts"]


def test_raw_readings_downsampled_last_value_per_interval(
    stack: Settings, site_id: str, sink_topics: Callable[..., dict[str, str]]
) -> None:
    topics = sink_topics(("kpis", "alerts", "dl", "readings"))
    base = (records_base := kpi_records(site_id, windows=1)[0]["start"]) - records_base % 10_000
    readings = [
        {"site": site_id, "line": "l1", "machine": "m1", "metric": "power_kw", "value": v, "ts": base + dt}
        for dt, v in [(0, 1.0), (4_000, 2.0), (9_999, 3.0), (10_000, 4.0), (15_000, 5.5)]
    ] + [
        {
            "site": site_id,
            "line": "l1",
            "machine": "m1",
            "metric": "state",
            "value": "running",
            "ts": base + 1,
        },
        {
            "site": site_id,
            "line": "l1",
            "machine": "m1",
            "metric": "door_open",
            "value": True,
            "ts": base + 2,
        },
    ]
    produce(stack, topics["readings"], encode(readings), keys=[f"{site_id}/l1/m1".encode()] * len(readings))
    opts = _options(topics, site_id, extra_topics={topics["readings"]: "readings"}, raw_every_ms=10_000)
    tags = {"line": "l1", "machine": "m1", "site": site_id}

    def key(metric: str, ms: int) -> tuple:
        return ("telemetry", tuple(sorted((tags | {"metric": metric}).items())), ms)

    expected = {
        key("power_kw", base): {"value": 3.0},
        key("power_kw", base + 10_000): {"value": 5.5},
        key("state", base): {"value_str": "running"},
        key("door_open", base): {"value": 1.0},
    }
    with running_sink(stack, **opts):
        wait_for(lambda: query_site(stack, RAW_DATABASE, site_id) == expected, 30, "downsampled readings")
