"""The pure mapping: KPI records, alerts and readings -> points and line protocol (docs/SCHEMA.md)."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest

from brain.vocabulary import KPI_ENERGY_FIELDS, KPI_EXTRA_FIELDS, KPI_FIELDS, KPI_RECORD_FIELDS
from processors.sink import (
    ENERGY_FIELDS,
    OEE_FIELDS,
    Downsampler,
    Int,
    Point,
    Reason,
    Rejected,
    alert_point,
    kpi_points,
    reading_point,
    to_points,
)
from processors.sink.deadletter import dead_letter
from processors.sink.mapping import ALWAYS_WRITTEN

START = 1_700_000_040_000


def kpi(**changes: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "scope": "machine",
        "site": "s1",
        "line": "l1",
        "machine": "m1",
        "window": "1m",
        "start": START,
        "end": START + 60_000,
        "shift": None,
        "final": False,
        "pot_s": 60.0,
        "pdot_s": 0.0,
        "pbt_s": 60.0,
        "apt_s": 45.0,
        "aust_s": 5.0,
        "adet_s": 10.0,
        "adot_s": 0.0,
        "unknown_s": 0.0,
        "pq": 40,
        "sq": 2,
        "gq": 38,
        "failures": 1,
        "availability": 0.75,
        "performance": 0.9,
        "quality": 0.95,
        "oee": 0.64125,
        "nee": 0.7,
        "throughput_per_h": 2400.0,
        "mtbf_s": 50.0,
        "mttr_s": 10.0,
        "energy_kwh": 1.5,
        "energy_kvarh": 0.5,
        "avg_kw": 90.0,
        "peak_demand_kw": 95.0,
        "power_factor": 0.95,
        "load_factor": 0.8,
        "sec_kwh_per_unit": 0.04,
        "co2_kg": 0.8,
        "cost": 1.2,
        "kwh_peak": 1.5,
        "kwh_flat": 0.0,
        "kwh_valley": 0.0,
        "technical_efficiency": 0.8,
        "setup_rate": 0.1,
        "scrap_ratio": 0.05,
        "sec_kwh_per_pq": 0.0375,
        "pq_unscheduled": 0,
        "performance_suspect": False,
    }
    rec.update(changes)
    return rec


def rejected(fn: Any, data: Any) -> Rejected:
    with pytest.raises(Rejected) as info:
        fn(data)
    return info.value


# ------------------------------------------------------------------------------------------ KPIs


def test_kpi_record_gives_oee_and_energy_points_with_identity_tags_and_start_time() -> None:
    oee, energy = kpi_points(kpi())
    assert (oee.measurement, energy.measurement) == ("oee", "energy")
    assert oee.target == energy.target == "kpi"
    assert oee.time_ms == energy.time_ms == START
    tags = {"scope": "machine", "site": "s1", "line": "l1", "machine": "m1", "window": "1m"}
    assert dict(oee.tags) == dict(energy.tags) == tags
    assert [k for k, _ in oee.tags] == sorted(tags)  # InfluxDB's preferred order
    assert oee.fields["final"] is False and energy.fields["final"] is False
    assert oee.fields["end"] == START + 60_000 and isinstance(oee.fields["end"], Int)
    assert set(energy.fields) == set(ENERGY_FIELDS) | {"final", "end"}
    extras = {"technical_efficiency", "setup_rate", "scrap_ratio", "pq_unscheduled", "performance_suspect"}
    assert set(oee.fields) == set(OEE_FIELDS) | extras | {"final", "end"}


def test_every_numeric_kpi_is_a_float_so_field_types_never_conflict() -> None:
    oee, energy = kpi_points(kpi(pq=40, sq=2, failures=1, pq_unscheduled=3))
    for point in (oee, energy):
        for name, value in point.fields.items():
            if name == "end":
                assert type(value) is Int
            elif name in ("final", "performance_suspect"):
                assert type(value) is bool
            else:
                assert type(value) is float, name
    assert oee.fields["pq"] == 40.0 and oee.fields["pq_unscheduled"] == 3.0


def test_every_field_the_kpi_core_emits_has_a_home() -> None:
    # identity -> tags/time/fields, v1 KPIs -> oee or energy, extras -> oee; nothing is lost
    identity = {"scope", "site", "line", "machine", "window", "start", "end", "shift", "final"}
    placed = identity | set(OEE_FIELDS) | set(ENERGY_FIELDS) | set(KPI_EXTRA_FIELDS)
    assert set(KPI_RECORD_FIELDS) <= placed
    assert set(KPI_FIELDS) - identity == set(OEE_FIELDS) | set(KPI_ENERGY_FIELDS)
    assert "sec_kwh_per_pq" in ENERGY_FIELDS


def test_line_and_site_scope_omit_null_tags_and_shift_is_a_tag() -> None:
    (oee, _) = kpi_points(kpi(scope="line", machine=None, window="shift", shift="A"))
    assert dict(oee.tags) == {"scope": "line", "site": "s1", "line": "l1", "window": "shift", "shift": "A"}
    (oee, _) = kpi_points(kpi(scope="site", line=None, machine=None, window="day"))
    assert dict(oee.tags) == {"scope": "site", "site": "s1", "window": "day"}


def test_missing_line_machine_shift_keys_are_null() -> None:
    rec = kpi(scope="site")
    for name in ("line", "machine", "shift"):
        del rec[name]
    (oee, _) = kpi_points(rec)
    assert dict(oee.tags) == {"scope": "site", "site": "s1", "window": "1m"}


def test_null_kpis_are_not_written_but_time_elements_and_quantities_are_zero() -> None:
    nulls = dict.fromkeys(OEE_FIELDS, None)
    (oee, energy) = kpi_points(kpi(**nulls, technical_efficiency=None))
    for name in ALWAYS_WRITTEN:
        assert oee.fields[name] == 0.0
    for name in ("availability", "performance", "quality", "oee", "nee", "mtbf_s", "technical_efficiency"):
        assert name not in oee.fields
    assert energy.fields["energy_kwh"] == 1.5


def test_record_without_any_energy_writes_no_energy_point() -> None:
    points = kpi_points(kpi(**dict.fromkeys(ENERGY_FIELDS, None)))
    assert [p.measurement for p in points] == ["oee"]


def test_partly_null_energy_writes_only_the_set_fields() -> None:
    (_, energy) = kpi_points(kpi(**(dict.fromkeys(ENERGY_FIELDS, None) | {"energy_kwh": 2.0})))
    assert set(energy.fields) == {"energy_kwh", "final", "end"}


def test_final_record_has_the_same_series_and_time_as_the_provisional_one() -> None:
    provisional = kpi_points(kpi(final=False, oee=0.5))
    final = kpi_points(kpi(final=True, oee=0.6))
    assert [(p.series, p.time_ms) for p in provisional] == [(p.series, p.time_ms) for p in final]
    assert final[0].fields["final"] is True and final[0].fields["oee"] == 0.6


def test_unknown_extras_numbers_and_flags_are_written_strings_ignored() -> None:
    (oee, _) = kpi_points(kpi(pack_metric=3, smt_flag=True, note="x", nothing=None))
    assert oee.fields["pack_metric"] == 3.0 and oee.fields["smt_flag"] is True
    assert "note" not in oee.fields and "nothing" not in oee.fields


@pytest.mark.parametrize(
    ("changes", "reason", "mentions"),
    [
        ({"scope": "plant"}, Reason.KPI_BAD_SCOPE, "kpi.scope"),
        ({"window": "2m"}, Reason.KPI_BAD_WINDOW, "kpi.window"),
        ({"site": ""}, Reason.KPI_BAD_IDENTITY, "kpi.site"),
        ({"site": None}, Reason.KPI_BAD_IDENTITY, "kpi.site"),
        ({"machine": 7}, Reason.KPI_BAD_IDENTITY, "kpi.machine"),
        ({"line": "a\nb"}, Reason.KPI_BAD_IDENTITY, "kpi.line"),
        ({"shift": "A\\"}, Reason.KPI_BAD_IDENTITY, "kpi.shift"),
        ({"machine": None}, Reason.KPI_BAD_IDENTITY, "scope 'machine'"),
        ({"scope": "line", "line": None, "machine": None}, Reason.KPI_BAD_IDENTITY, "scope 'line'"),
        ({"start": "2024-01-01"}, Reason.KPI_BAD_TIME, "kpi.start"),
        ({"start": 1.5}, Reason.KPI_BAD_TIME, "kpi.start"),
        ({"end": True}, Reason.KPI_BAD_TIME, "kpi.end"),
        ({"start": -1}, Reason.KPI_BAD_TIME, "kpi.start"),
        ({"start": 10**16, "end": 10**16}, Reason.KPI_BAD_TIME, "kpi.start"),
        ({"end": START - 1}, Reason.KPI_BAD_TIME, "before start"),
        ({"final": "yes"}, Reason.KPI_BAD_FINAL, "kpi.final"),
        ({"oee": "0.5"}, Reason.KPI_BAD_VALUE, "kpi.oee"),
        ({"pq": True}, Reason.KPI_BAD_VALUE, "kpi.pq"),
        ({"cost": math.nan}, Reason.KPI_BAD_VALUE, "kpi.cost"),
        ({"avg_kw": [1]}, Reason.KPI_BAD_VALUE, "kpi.avg_kw"),
        ({"pack_metric": math.inf}, Reason.KPI_BAD_VALUE, "kpi.pack_metric"),
    ],
)
def test_bad_kpi_records_are_rejected_with_a_named_reason(
    changes: dict[str, Any], reason: Reason, mentions: str
) -> None:
    exc = rejected(kpi_points, kpi(**changes))
    assert exc.reason == reason
    assert mentions in exc.detail


@pytest.mark.parametrize("name", ["scope", "site", "window", "start", "end", "final"])
def test_kpi_missing_required_field(name: str) -> None:
    rec = kpi()
    del rec[name]
    exc = rejected(kpi_points, rec)
    assert exc.reason == Reason.KPI_MISSING_FIELD and repr(name) in exc.detail


def test_float_epoch_ms_with_integer_value_is_accepted() -> None:
    (oee, _) = kpi_points(kpi(start=float(START), end=float(START + 60_000)))
    assert oee.time_ms == START and oee.fields["end"] == START + 60_000


# ---------------------------------------------------------------------------------------- alerts


def alert(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": "a-1",
        "rule": "oee_low",
        "severity": "warning",
        "state": "firing",
        "scope": "machine",
        "site": "s1",
        "line": "l1",
        "machine": "m1",
        "value": 0.41,
        "threshold": 0.6,
        "message": 'OEE 41% < 60% on "m1"',
        "started": START,
        "ended": None,
        "ts": START + 5,
    }
    event.update(changes)
    return event


def test_alert_point_tags_fields_and_event_time() -> None:
    p = alert_point(alert(extra_key={"ignored": True}))
    assert (p.measurement, p.target, p.time_ms) == ("alert", "kpi", START + 5)
    assert dict(p.tags) == {
        "rule": "oee_low",
        "severity": "warning",
        "state": "firing",
        "scope": "machine",
        "site": "s1",
        "line": "l1",
        "machine": "m1",
    }
    assert p.fields == {
        "id": "a-1",
        "message": 'OEE 41% < 60% on "m1"',
        "value": 0.41,
        "threshold": 0.6,
        "started": START,
    }
    assert type(p.fields["started"]) is Int and type(p.fields["value"]) is float


def test_resolved_alert_has_ended_and_falls_back_to_it_without_ts() -> None:
    p = alert_point(alert(state="resolved", ended=START + 90_000, ts=None, value=1))
    assert p.time_ms == START + 90_000
    assert p.fields["ended"] == START + 90_000 and p.fields["value"] == 1.0
    assert dict(p.tags)["state"] == "resolved"


def test_firing_alert_without_ts_falls_back_to_started_and_omits_null_tags() -> None:
    event = alert(ts=None, line=None, machine=None, scope="site")
    del event["severity"]
    p = alert_point(event)
    assert p.time_ms == START
    assert dict(p.tags) == {"rule": "oee_low", "state": "firing", "scope": "site", "site": "s1"}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"rule": None}, Reason.ALERT_MISSING_RULE),
        ({"rule": ""}, Reason.ALERT_MISSING_RULE),
        ({"ts": None, "started": None, "ended": None}, Reason.ALERT_MISSING_TS),
        ({"state": "open"}, Reason.ALERT_BAD_STATE),
        ({"state": None}, Reason.ALERT_BAD_STATE),
        ({"value": "high"}, Reason.ALERT_BAD_FIELD),
        ({"threshold": math.nan}, Reason.ALERT_BAD_FIELD),
        ({"ts": "yesterday"}, Reason.ALERT_BAD_FIELD),
        ({"site": ["s1"]}, Reason.ALERT_BAD_FIELD),
        ({"message": {"a": 1}}, Reason.ALERT_BAD_FIELD),
    ],
)
def test_bad_alerts_are_rejected_with_a_named_reason(changes: dict[str, Any], reason: Reason) -> None:
    assert rejected(alert_point, alert(**changes)).reason == reason


def test_alert_without_rule_key_is_missing_rule() -> None:
    event = alert()
    del event["rule"]
    assert rejected(alert_point, event).reason == Reason.ALERT_MISSING_RULE


# -------------------------------------------------------------------------------------- readings


def reading(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "site": "s1",
        "line": "l1",
        "machine": "m1",
        "metric": "power_kw",
        "value": 12,
        "ts": START + 123,
        "unit": "kW",
    }
    data.update(changes)
    return data


def test_reading_numbers_are_float_value_bools_are_0_1_strings_value_str() -> None:
    p = reading_point(reading())
    assert (p.measurement, p.target, p.time_ms) == ("telemetry", "raw", START + 123)
    assert dict(p.tags) == {"site": "s1", "line": "l1", "machine": "m1", "metric": "power_kw"}
    assert p.fields == {"value": 12.0} and type(p.fields["value"]) is float
    assert reading_point(reading(value=True)).fields == {"value": 1.0}
    assert reading_point(reading(value=False)).fields == {"value": 0.0}
    assert reading_point(reading(metric="state", value="running")).fields == {"value_str": "running"}


@pytest.mark.parametrize(
    "changes",
    [{"value": None}, {"ts": "now"}, {"site": ""}, {"metric": "a\nb"}, {"machine": "m\\"}, {"ts": -5}],
)
def test_bad_readings_are_rejected(changes: dict[str, Any]) -> None:
    assert rejected(reading_point, reading(**changes)).reason == Reason.READING_INVALID


# ------------------------------------------------------------------------------ payload, dispatch


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (None, Reason.PAYLOAD_EMPTY),
        (b"", Reason.PAYLOAD_EMPTY),
        (b"{not json", Reason.PAYLOAD_BAD_JSON),
        (b"\xff\xfe", Reason.PAYLOAD_BAD_JSON),
        (b"[1, 2]", Reason.PAYLOAD_NOT_OBJECT),
        (b"42", Reason.PAYLOAD_NOT_OBJECT),
    ],
)
def test_undecodable_payloads(payload: bytes | None, reason: Reason) -> None:
    for kind in ("kpis", "alerts", "readings"):
        with pytest.raises(Rejected) as info:
            to_points(kind, payload)
        assert info.value.reason == reason


def test_to_points_dispatches_by_kind() -> None:
    assert [p.measurement for p in to_points("kpis", orjson.dumps(kpi()))] == ["oee", "energy"]
    assert [p.measurement for p in to_points("alerts", orjson.dumps(alert()))] == ["alert"]
    assert [p.measurement for p in to_points("readings", orjson.dumps(reading()))] == ["telemetry"]


def test_rejected_detail_is_bounded() -> None:
    exc = rejected(kpi_points, kpi(window="x" * 5000))
    assert len(exc.detail) <= 500


# --------------------------------------------------------------------------------- line protocol


def test_line_protocol_escapes_and_types() -> None:
    p = Point(
        "kpi",
        "alert",
        (("machine", "m 1,a=b"), ("rule", "r")),
        {"message": 'say "hi" \\ bye', "value": 1, "started": Int(5), "ok": True, "x": 1e-5},
        1234,
    )
    assert p.line() == (
        r"alert,machine=m\ 1\,a\=b,rule=r "
        r'message="say \"hi\" \\ bye",value=1.0,started=5i,ok=true,x=1e-05 1234'
    )


def test_kpi_line_protocol() -> None:
    (oee, _) = kpi_points(kpi(scope="site", line=None, machine=None, final=True))
    line = oee.line()
    assert line.startswith("oee,scope=site,site=s1,window=1m pot_s=60.0,")
    assert line.endswith(f",final=true,end={START + 60_000}i {START}")
    assert ",pq=40.0," in line and ",performance_suspect=false," in line


# ---------------------------------------------------------------------------------- downsampling


def test_downsampler_keeps_the_last_value_per_series_per_interval_stamped_at_its_start() -> None:
    down = Downsampler(10_000)
    base = 1_700_000_000_000  # a multiple of 10 s
    for ts, value, metric in [
        (base + 1_000, 1, "power_kw"),
        (base + 9_000, 3, "power_kw"),
        (base + 5_000, 2, "power_kw"),  # out of order: older than the kept one
        (base + 10_000, 4, "power_kw"),  # next interval
        (base + 2_000, 7, "energy_kwh"),  # another series
    ]:
        p = reading_point(reading(ts=ts, value=value, metric=metric))
        down.add(p, source=(metric, ts))
    kept = {(dict(p.tags)["metric"], p.time_ms): (p.fields["value"], src) for p, src in down.items()}
    assert kept == {
        ("power_kw", base): (3.0, ("power_kw", base + 9_000)),
        ("power_kw", base + 10_000): (4.0, ("power_kw", base + 10_000)),
        ("energy_kwh", base): (7.0, ("energy_kwh", base + 2_000)),
    }
    assert len(down) == 3
    down.clear()
    assert down.items() == []


# ----------------------------------------------------------------------------------- dead letters


def test_dead_letter_shape() -> None:
    raw = dead_letter(
        topic="brain.kpis",
        partition=2,
        offset=17,
        payload=b"{bad",
        reason=Reason.PAYLOAD_BAD_JSON,
        detail="not UTF-8 JSON",
        received_ts=1,
    )
    assert orjson.loads(raw) == {
        "topic": "brain.kpis",
        "partition": 2,
        "offset": 17,
        "payload": "e2JhZA==",
        "reason": "payload.bad_json",
        "detail": "not UTF-8 JSON",
        "received_ts": 1,
        "source": "sink",
    }


# ------------------------------------------------------------------------------------ pack points


def test_pack_fields_come_from_the_pack_registry() -> None:
    from brain.pack_registry import available
    from processors.sink.mapping import pack_fields

    assert pack_fields() == {f"{p.id}_{k.name}": p.id for p in available().values() for k in p.kpis}
    assert {"smt", "cnc", "weaving", "battery"} <= set(pack_fields().values())


def test_a_pack_point_per_pack_with_data_same_tags_and_time_non_null_fields() -> None:
    record = kpi(final=True, smt_cph=36000, smt_fpy=0.98, smt_dpmo=None, cnc_tool_changes=None,
                 battery_yield=0.9, battery_coat_cpk=None)  # fmt: skip
    points = kpi_points(record)
    oee = points[0]
    by_name = {p.measurement: p for p in points}
    assert [p.measurement for p in points] == ["oee", "energy", "battery", "smt"]  # no cnc: all null
    assert by_name["smt"].fields == {"smt_cph": 36000.0, "smt_fpy": 0.98, "final": True}
    assert by_name["battery"].fields == {"battery_yield": 0.9, "final": True}
    for p in points[2:]:
        assert (p.tags, p.time_ms, p.target) == (oee.tags, oee.time_ms, oee.target)
        assert all(type(v) is float for k, v in p.fields.items() if k != "final")
    assert not any(k.startswith(("smt_", "battery_")) for k in oee.fields)  # not twice


def test_a_record_without_pack_data_writes_no_pack_point() -> None:
    points = kpi_points(kpi(smt_cph=None, weaving_efficiency=None))
    assert [p.measurement for p in points] == ["oee", "energy"]


@pytest.mark.parametrize("bad", ["36000", True, math.nan, [1]])
def test_a_pack_field_that_is_not_a_finite_number_is_rejected(bad: Any) -> None:
    exc = rejected(kpi_points, kpi(smt_cph=bad))
    assert exc.reason == Reason.KPI_BAD_VALUE and "kpi.smt_cph" in exc.detail
