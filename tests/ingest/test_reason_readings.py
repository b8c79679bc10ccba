"""`reason` readings (shared/KPIS.md "Loss analysis (v2)"): accepted on every ingest path as string
codes, numeric codes mapped per machine, every bad value dead-lettered as reason.bad."""

from __future__ import annotations

from dataclasses import replace

import orjson
import pytest

from brain.records import Reading
from brain.vocabulary import MAX_REASON_CHARS
from ingest import IngestConfig, Reason, SparkplugState, parse_message
from ingest.sparkplug import sparkplug_b_pb2 as pb
from tests.ingest import spb

NOW = 1_795_000_000_000
T = "brain/v1/s1/l1/m1"
CFG = IngestConfig(reason_codes={"s1/l1/m1": {"3": "R01", "7": "R20"}})


def r(value, ts=NOW, source="mqtt", machine="m1"):
    return Reading("s1", "l1", machine, "reason", value, ts, None, NOW, source, None)


@pytest.mark.parametrize(
    ("payload", "value"),
    [
        (b'"R01"', "R01"),  # a string code, as it is
        (b"3", "R01"),  # a numeric code through the machine's reason_codes
        (b"3.0", "R01"),  # an integral float is the same code
        (b'"7"', "R20"),  # a numeric code sent as a string
        (b"9", "9"),  # a numeric code the map lacks: kept (labelled unmapped:9 by the KPI core)
        (b'"R99"', "R99"),  # an unknown string code: kept, never dropped
        (orjson.dumps("x" * MAX_REASON_CHARS), "x" * MAX_REASON_CHARS),
        (b'{"value": "R31", "ts": 1794999990000}', "R31"),
    ],
)
def test_reason_topic_accepts_codes(payload, value):
    out = parse_message(f"{T}/reason", payload, NOW, CFG)
    ts = 1794999990000 if b"ts" in payload else NOW
    assert out.dead_letters == []
    assert out.readings == [r(value, ts)]


def test_machine_without_a_map_keeps_numeric_codes_canonical():
    out = parse_message("brain/v1/s1/l1/m2/reason", b"3.0", NOW, CFG)
    assert out.readings == [r("3", machine="m2")]


@pytest.mark.parametrize(
    "payload",
    [
        b'""',
        b'"   "',
        orjson.dumps("x" * (MAX_REASON_CHARS + 1)),
        b"true",
        b"2.5",
        b"1e300",  # an integer whose canonical form is longer than a code may be
        b'{"value": null}',
        b'{"value": ["R01"]}',
    ],
)
def test_bad_reason_values_are_dead_lettered(payload):
    out = parse_message(f"{T}/reason", payload, NOW, CFG)
    assert out.readings == []
    assert [d.reason for d in out.dead_letters] in ([Reason.REASON_BAD], [Reason.VALUE_BAD_TYPE])
    if payload not in (b'{"value": null}', b'{"value": ["R01"]}'):  # not scalars: the generic rule
        assert out.dead_letters[0].reason == Reason.REASON_BAD
        assert out.dead_letters[0].detail.startswith("reason:")


def test_batch_keeps_the_reason_and_dead_letters_only_a_bad_one():
    good = orjson.dumps({"ts": NOW, "metrics": {"state": "fault", "reason": 3, "power_kw": 1.0}})
    assert parse_message(T, good, NOW, CFG).readings == [
        Reading("s1", "l1", "m1", "state", "fault", NOW, None, NOW, "mqtt", None),
        r("R01"),
        Reading("s1", "l1", "m1", "power_kw", 1.0, NOW, None, NOW, "mqtt", None),
    ]
    bad = parse_message(T, orjson.dumps({"metrics": {"reason": "", "power_kw": 1.0}}), NOW, CFG)
    assert [x.metric for x in bad.readings] == ["power_kw"]
    assert [(d.metric, d.reason) for d in bad.dead_letters] == [("reason", Reason.REASON_BAD)]


def test_sparkplug_reason_metric():
    config = replace(CFG, reason_codes={"G1/E1/E1": {"3": "R01"}})
    state = SparkplugState()
    birth = spb.payload(
        [
            spb.bd_seq(0),
            spb.metric("reason", "R20", pb.String, alias=1),
            spb.metric("code", 0, pb.Int32, alias=2),
        ],
        seq=0,
        timestamp=NOW,
    )
    out = parse_message("spBv1.0/G1/NBIRTH/E1", birth, NOW, config, state)
    assert [(x.metric, x.value) for x in out.readings] == [("reason", "R20"), ("code", 0)]
    data = spb.payload(
        [
            spb.metric(alias=1, value="R31", datatype=pb.String),
            spb.metric(name="reason", value=3, datatype=pb.Int32),
            spb.metric(alias=1, value="", datatype=pb.String),
        ],
        seq=1,
    )
    out = parse_message("spBv1.0/G1/NDATA/E1", data, NOW, config, state)
    got = [(x.machine, x.metric, x.value) for x in out.readings]
    assert got == [("E1", "reason", "R31"), ("E1", "reason", "R01")]
    assert [d.reason for d in out.dead_letters] == [Reason.REASON_BAD]
