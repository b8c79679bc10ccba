"""Table-driven: every v1 payload form, and every rejection reason (the table must cover them all)."""

from __future__ import annotations

import base64
from dataclasses import replace

import orjson
import pytest

from brain.pack_registry import get as get_pack
from brain.records import Reading
from ingest import IngestConfig, Reason, SparkplugState, parse_message
from ingest.deadletter import from_dict
from ingest.reasons import ALL_REASONS
from ingest.sparkplug import sparkplug_b_pb2 as pb
from tests.ingest import spb

NOW = 1_795_000_000_000  # 2026-11-18T11:06:40Z, the receive time every case uses
ISO_NOW = "2026-11-18T11:06:40Z"
T = "brain/v1/s1/l1/m1"
SMT_M1 = {"s1/l1/m1": {m.name: ("smt", m) for m in get_pack("smt").metrics}}  # m1 of the smt pack
CFG = IngestConfig(state_codes={"s1/l1/m1": {"0": "idle", "1": "running", "3": "fault", "RUN": "running"}})


def r(metric, value, ts=NOW, *, unit=None, seq=None, source="mqtt", site="s1", line="l1", machine="m1"):
    return Reading(site, line, machine, metric, value, ts, unit, NOW, source, seq)


ACCEPTED = [
    ("bare float", f"{T}/power_kw", b"12.5", [r("power_kw", 12.5)]),
    ("bare int", f"{T}/count_total", b"1200", [r("count_total", 1200)]),
    ("bare string state", f"{T}/state", b'"running"', [r("state", "running")]),
    ("bare bool generic", f"{T}/door_open", b"true", [r("door_open", True)]),
    ("bare string generic", f"{T}/recipe", b'"A-17"', [r("recipe", "A-17")]),
    ("numeric state code mapped", f"{T}/state", b"3", [r("state", "fault")]),
    ("string state code mapped", f"{T}/state", b'"1"', [r("state", "running")]),
    ("float state code mapped", f"{T}/state", b"3.0", [r("state", "fault")]),
    ("named state code mapped", f"{T}/state", b'"RUN"', [r("state", "running")]),
    (
        "object epoch ms",
        f"{T}/power_kw",
        b'{"value": 3.5, "ts": 1794999990000}',
        [r("power_kw", 3.5, 1794999990000)],
    ),
    (
        "object rfc3339 unit seq",
        f"{T}/power_kw",
        orjson.dumps({"value": 3.5, "ts": ISO_NOW, "unit": "kW", "seq": 17}),
        [r("power_kw", 3.5, NOW, unit="kW", seq=17)],
    ),
    (
        "object rfc3339 offset",
        f"{T}/energy_kwh",
        b'{"value": 10, "ts": "2026-11-18T19:06:40.250+08:00"}',
        [r("energy_kwh", 10, NOW + 250)],
    ),
    ("object no ts", f"{T}/power_kvar", b'{"value": -2.0}', [r("power_kvar", -2.0)]),
    ("negative power ok", f"{T}/power_kw", b"-0.5", [r("power_kw", -0.5)]),
    ("reason string code", f"{T}/reason", b'"R01"', [r("reason", "R01")]),
    ("reason integer code kept", f"{T}/reason", b"17", [r("reason", "17")]),
    ("unknown metric generic", f"{T}/spindle_temp_c", b"41.2", [r("spindle_temp_c", 41.2)]),
    (
        "batch",
        T,
        orjson.dumps({"ts": 1794999999000, "metrics": {"power_kw": 12.3, "state": "idle", "count_total": 5}}),
        [
            r("power_kw", 12.3, 1794999999000),
            r("state", "idle", 1794999999000),
            r("count_total", 5, 1794999999000),
        ],
    ),
    ("batch no ts seq", T, b'{"seq": 4, "metrics": {"energy_kwh": 0}}', [r("energy_kwh", 0, seq=4)]),
    ("backfill old ts", f"{T}/power_kw", b'{"value": 1, "ts": 1000000000000}', None),  # checked below
]


@pytest.mark.parametrize(("name", "topic", "payload", "expected"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_accepted_forms(name, topic, payload, expected):
    if expected is None:
        out = parse_message(topic, payload, NOW, replace(CFG, backfill=True))
        assert out.readings == [r("power_kw", 1, 1000000000000)]
    else:
        out = parse_message(topic, payload, NOW, CFG)
        assert out.readings == expected
    assert out.dead_letters == []


def _spb_state_with_birth() -> tuple[SparkplugState, list[tuple[str, bytes]]]:
    birth = spb.payload(
        [
            spb.bd_seq(0),
            spb.metric("power_kw", 1.0, pb.Double, alias=1),
            spb.metric("img", b"x", pb.Bytes, alias=2),
        ],
        seq=0,
        timestamp=NOW,
    )
    return SparkplugState(), [("spBv1.0/G/NBIRTH/E", birth)]


SP = "spBv1.0/G/NDATA/E"
BYTES = pb.Bytes
B = "birth"  # run a Sparkplug NBIRTH first


def _ndata(*metrics):
    return spb.payload(list(metrics), seq=1)


# (reason, topic, payload, config changes, earlier messages on the same Sparkplug state)
REJECTED = [
    (Reason.TOPIC_UNKNOWN, "factory/x", b"1", {}, []),
    (Reason.TOPIC_BAD_SHAPE, "brain/v1/s1/l1", b"1", {}, []),
    (Reason.TOPIC_BAD_LEVEL, "brain/v1/s1/l 1/m1/power_kw", b"1", {}, []),
    (Reason.TOPIC_TOO_LONG, f"{T}/" + "a" * 300, b"1", {}, []),
    (Reason.PAYLOAD_EMPTY, f"{T}/power_kw", b"", {}, []),
    (Reason.PAYLOAD_TOO_LARGE, f"{T}/power_kw", b" " * (256 * 1024) + b"1", {}, []),
    (Reason.PAYLOAD_BAD_JSON, f"{T}/power_kw", b"{value: 1}", {}, []),
    (Reason.PAYLOAD_BAD_JSON, f"{T}/power_kw", b"\xff\xfe", {}, []),
    (Reason.PAYLOAD_BAD_SHAPE, f"{T}/power_kw", b'{"v": 1}', {}, []),
    (Reason.PAYLOAD_BAD_SHAPE, f"{T}/power_kw", b"[1, 2]", {}, []),
    (Reason.PAYLOAD_BAD_SHAPE, T, b'{"power_kw": 1}', {}, []),
    (Reason.PAYLOAD_BAD_SHAPE, T, b"12", {}, []),
    (Reason.JSON_TOO_DEEP, f"{T}/power_kw", b"[" * 2000 + b"]" * 2000, {}, []),
    (Reason.JSON_TOO_DEEP, f"{T}/power_kw", b'{"value": 1, "x": [[[[[[[[[[1]]]]]]]]]]}', {}, []),
    (Reason.JSON_TOO_DEEP, T, b'{"metrics": {"a": [[[[[[[[1]]]]]]]]}}', {}, []),
    (Reason.BATCH_TOO_LARGE, T, orjson.dumps({"metrics": {f"m{i}": i for i in range(1001)}}), {}, []),
    (Reason.BATCH_EMPTY, T, b'{"metrics": {}}', {}, []),
    (
        Reason.BATCH_TOO_MANY_REJECTS,
        T,
        orjson.dumps({"metrics": {f"bad name {i}": 1 for i in range(4)}}),
        {"max_dead_letters_per_message": 2},
        [],
    ),
    (Reason.METRIC_BAD_NAME, T, b'{"metrics": {"power kw": 1}}', {}, []),
    (Reason.VALUE_BAD_TYPE, f"{T}/power_kw", b"null", {}, []),
    (Reason.VALUE_BAD_TYPE, f"{T}/power_kw", b'{"value": [1]}', {}, []),
    (Reason.VALUE_BAD_TYPE, f"{T}/note", b'"' + b"x" * 300 + b'"', {}, []),
    (Reason.VALUE_NOT_FINITE, f"{T}/power_kw", b"NaN", {}, []),
    (Reason.VALUE_NOT_FINITE, f"{T}/power_kw", b'{"value": Infinity}', {}, []),
    (Reason.VALUE_NOT_FINITE, f"{T}/power_kw", b"-Infinity", {}, []),
    (Reason.VALUE_NOT_FINITE, f"{T}/power_kw", b"1e400", {}, []),
    (Reason.VALUE_NOT_FINITE, T, b'{"metrics": {"power_kw": NaN}}', {}, []),
    (Reason.VALUE_NOT_NUMBER, f"{T}/energy_kwh", b'"12"', {}, []),
    (Reason.VALUE_NOT_NUMBER, f"{T}/power_kw", b"true", {}, []),
    (Reason.VALUE_NEGATIVE_COUNTER, f"{T}/count_total", b"-1", {}, []),
    (Reason.VALUE_NEGATIVE_COUNTER, f"{T}/energy_kvarh", b"-0.1", {}, []),
    (Reason.STATE_UNKNOWN, f"{T}/state", b'"sleeping"', {}, []),
    (Reason.STATE_UNKNOWN, f"{T}/state", b"7", {}, []),
    (Reason.STATE_UNKNOWN, "brain/v1/s1/l1/m2/state", b"1", {}, []),  # m2 has no code map
    (Reason.STATE_UNKNOWN, f"{T}/state", b"true", {}, []),
    (Reason.TS_BAD, f"{T}/power_kw", b'{"value": 1, "ts": "yesterday"}', {}, []),
    (Reason.TS_BAD, f"{T}/power_kw", b'{"value": 1, "ts": "2026-11-18T07:46:40"}', {}, []),
    (Reason.TS_BAD, f"{T}/power_kw", b'{"value": 1, "ts": true}', {}, []),
    (Reason.TS_FUTURE, f"{T}/power_kw", orjson.dumps({"value": 1, "ts": NOW + 301_000}), {}, []),
    (Reason.TS_TOO_OLD, f"{T}/power_kw", orjson.dumps({"value": 1, "ts": NOW - 8 * 86_400_000}), {}, []),
    (Reason.TS_TOO_OLD, T, orjson.dumps({"ts": NOW // 1000, "metrics": {"power_kw": 1}}), {}, []),
    (Reason.UNIT_BAD, f"{T}/power_kw", b'{"value": 1, "unit": 5}', {}, []),
    (Reason.REASON_BAD, f"{T}/reason", b'""', {}, []),
    (Reason.PACK_METRIC_INVALID, f"{T}/placements", b'"abc"', {"pack_metrics": SMT_M1}, []),
    (Reason.SEQ_BAD, f"{T}/power_kw", b'{"value": 1, "seq": -3}', {}, []),
    (Reason.SPARKPLUG_BAD_PAYLOAD, "spBv1.0/G/NDATA/E", b"\xff\xff\xff", {}, []),
    (Reason.SPARKPLUG_NO_BIRTH, SP, _ndata(spb.metric(alias=1, value=2.0)), {}, []),
    (Reason.SPARKPLUG_UNKNOWN_ALIAS, SP, _ndata(spb.metric(alias=9, value=1.0)), {}, B),
    (Reason.SPARKPLUG_UNSUPPORTED_TYPE, SP, _ndata(spb.metric(alias=2, value=b"y", datatype=BYTES)), {}, B),
    (Reason.SPARKPLUG_NULL_VALUE, SP, _ndata(spb.metric(alias=1, is_null=True)), {}, B),
    (Reason.PAYLOAD_TOO_LARGE, "spBv1.0/G/NDATA/E", b"\x00" * 300_000, {}, []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("reason", "topic", "payload", "changes", "before"),
    REJECTED,
    ids=[f"{c[0].value}-{i}" for i, c in enumerate(REJECTED)],
)
def test_rejections(reason, topic, payload, changes, before):
    config = replace(CFG, **changes)
    state = SparkplugState()
    if before == "birth":
        state, msgs = _spb_state_with_birth()
        for t, p in msgs:
            assert parse_message(t, p, NOW, config, state).readings
    out = parse_message(topic, payload, NOW, config, state)
    reasons = [d.reason for d in out.dead_letters]
    assert reason in reasons, [(d.reason, d.detail) for d in out.dead_letters]
    for dl in out.dead_letters:
        assert dl.detail
        record = dl.to_dict()
        kept = base64.b64decode(record["payload"])
        if record.get("truncated"):  # payload.too_large: the first 256 KiB and the real size
            assert record["payload_bytes"] == len(payload) and payload.startswith(kept)
        else:
            assert kept == payload
        assert record["topic"] == topic and record["received_ts"] == NOW
        assert record["source"] in ("mqtt", "sparkplug")
        assert from_dict(orjson.loads(dl.to_json())) == dl


def test_every_reason_has_a_rejection_case():
    covered = {c[0].value for c in REJECTED}
    assert covered == set(ALL_REASONS)


def test_batch_accepts_good_and_dead_letters_each_bad():
    payload = orjson.dumps(
        {"ts": NOW, "metrics": {"power_kw": 1.5, "count_total": -3, "state": "dreaming", "temp_c": 20}}
    )
    out = parse_message(T, payload, NOW, CFG)
    assert out.readings == [r("power_kw", 1.5), r("temp_c", 20)]
    assert [(d.metric, d.reason) for d in out.dead_letters] == [
        ("count_total", Reason.VALUE_NEGATIVE_COUNTER),
        ("state", Reason.STATE_UNKNOWN),
    ]


def test_batch_with_nan_literal_keeps_good_metrics():
    out = parse_message(T, b'{"metrics": {"power_kw": NaN, "energy_kwh": 12.5}}', NOW, CFG)
    assert out.readings == [r("energy_kwh", 12.5)]
    assert [(d.metric, d.reason) for d in out.dead_letters] == [("power_kw", Reason.VALUE_NOT_FINITE)]


def test_whole_message_rules_reject_the_whole_batch():
    out = parse_message(T, orjson.dumps({"ts": NOW + 3_600_000, "metrics": {"power_kw": 1}}), NOW, CFG)
    assert out.readings == []
    assert [(d.metric, d.reason) for d in out.dead_letters] == [(None, Reason.TS_FUTURE)]


def test_too_many_rejects_are_summarised():
    payload = orjson.dumps({"metrics": {f"bad name {i}": 1 for i in range(6)} | {"power_kw": 1}})
    out = parse_message(T, payload, NOW, replace(CFG, max_dead_letters_per_message=2))
    assert [d.reason for d in out.dead_letters] == [
        Reason.METRIC_BAD_NAME,
        Reason.METRIC_BAD_NAME,
        Reason.BATCH_TOO_MANY_REJECTS,
    ]
    assert "4 more" in out.dead_letters[-1].detail
    assert out.readings == [r("power_kw", 1)]


def test_ignored_topics():
    assert parse_message("brain/v1/alerts/s1/l1/m1/oee_low", b"{}", NOW).ignored
    assert parse_message("spBv1.0/STATE/host", b'{"online": true}', NOW).ignored
    assert parse_message("spBv1.0/G/NCMD/E", b"", NOW).ignored


def test_readings_serialise_as_reading_v1():
    out = parse_message(f"{T}/power_kw", b'{"value": 2, "unit": "kW", "seq": 1}', NOW, CFG)
    (reading,) = out.readings
    assert Reading.from_dict(orjson.loads(orjson.dumps(reading.to_dict()))) == reading
    assert reading.key == "s1/l1/m1"
