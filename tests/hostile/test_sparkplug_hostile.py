"""Hostile Sparkplug B input: random and truncated protobuf, oversized payloads, colliding aliases,
datatypes that do not match the value field, odd metric names and ids. The invariants are in
tests/hostile/helpers.py; tests/ingest/test_properties.py covers random well-formed sequences.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest import IngestConfig, SparkplugState, parse_message
from ingest.sparkplug import sparkplug_b_pb2 as pb
from tests.hostile.helpers import NAME, NOW, check_outcome
from tests.ingest import spb

CFG = IngestConfig()
PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KINDS = ["NBIRTH", "NDATA", "NDEATH", "DBIRTH", "DDATA", "DDEATH"]
m = spb.metric


def topic_for(kind: str, group: str = "G", edge: str = "E", device: str = "D") -> str:
    return f"spBv1.0/{group}/{kind}/{edge}" + (f"/{device}" if kind.startswith("D") else "")


def born() -> tuple[SparkplugState, bytes]:
    state = SparkplugState()
    birth = spb.payload(
        [
            spb.bd_seq(0),
            m("power_kw", 1.0, pb.Double, alias=1),
            m("count_total", 5, pb.UInt64, alias=2),
            m("state", "idle", pb.String, alias=3),
        ],
        seq=0,
        timestamp=NOW,
    )
    out = parse_message(topic_for("NBIRTH"), birth, NOW, CFG, state)
    assert len(out.readings) == 3
    dbirth = spb.payload([m("temp_c", 20.5, pb.Float, alias=10)], seq=1, timestamp=NOW)
    assert len(parse_message(topic_for("DBIRTH"), dbirth, NOW, CFG, state).readings) == 1
    return state, birth


def reasons(out) -> list[str]:
    return [d.reason.value for d in out.dead_letters]


@PROPS
@given(kind=st.sampled_from(KINDS), data=st.binary(max_size=2048), after_birth=st.booleans())
@example(kind="NDATA", data=b"\x0a", after_birth=True)  # field 1 (timestamp) wire type 2: truncated
@example(kind="NBIRTH", data=b"\x12\xff\xff\xff\xff\x0f", after_birth=False)  # a 4 GiB length prefix
def test_random_bytes_on_every_message_type(kind, data, after_birth):
    state = born()[0] if after_birth else SparkplugState()
    topic = topic_for(kind)
    check_outcome(parse_message(topic, data, NOW, CFG, state), topic, data)


def test_every_truncation_of_a_valid_payload():
    state, birth = born()
    ndata = spb.payload(
        [
            m(alias=1, value=2.5),
            m(alias=2, value=9),
            m(alias=3, value="running"),
            m("power_kw", 3.5, timestamp=NOW),
        ],
        seq=2,
        timestamp=NOW,
    )
    for payload, kind in ((birth, "NBIRTH"), (ndata, "NDATA")):
        for cut in range(len(payload) + 1):
            part = payload[:cut]
            topic = topic_for(kind)
            out = parse_message(topic, part, NOW, CFG, state)
            check_outcome(out, topic, part)


def test_oversized_sparkplug_payloads():
    state = born()[0]
    big_metric = m("note", "x" * (300 * 1024), pb.String)
    for payload in (spb.payload([big_metric]), b"\x00" * (5 * 1024 * 1024)):
        out = parse_message(topic_for("NDATA"), payload, NOW, CFG, state)
        check_outcome(out, topic_for("NDATA"), payload)
        assert reasons(out) == ["payload.too_large"]


def test_colliding_aliases_are_dropped_not_guessed():
    """Regression: a BIRTH that gives one alias to two metrics made DATA with that alias land on
    whichever came last, silently; the alias is now unusable (DATA by alias -> unknown_alias and a
    rebirth request) and the BIRTH metric that collided is dead-lettered with the evidence."""
    state = SparkplugState()
    birth = spb.payload(
        [
            spb.bd_seq(0),
            m("a_kw", 1.0, pb.Double, alias=7),
            m("b_kw", 2.0, pb.Double, alias=7),
            m("c_kw", 3.0, pb.Double, alias=8),
        ],
        seq=0,
        timestamp=NOW,
    )
    out = parse_message(topic_for("NBIRTH"), birth, NOW, CFG, state)
    check_outcome(out, topic_for("NBIRTH"), birth)
    assert [r.metric for r in out.readings] == ["a_kw", "c_kw"]
    assert reasons(out) == ["sparkplug.unknown_alias"]
    assert "already names 'a_kw'" in out.dead_letters[0].detail
    ndata = spb.payload([m(alias=7, value=5.0), m(alias=8, value=6.0), m("b_kw", 7.0)], seq=1)
    out = parse_message(topic_for("NDATA"), ndata, NOW + 1, CFG, state)
    check_outcome(out, topic_for("NDATA"), ndata, NOW + 1)
    assert [(r.metric, r.value) for r in out.readings] == [("c_kw", 6.0), ("b_kw", 7.0)]
    assert reasons(out) == ["sparkplug.unknown_alias"] and "two metrics" in out.dead_letters[0].detail
    assert [a.why for a in out.actions] == ["rebirth"]
    # a clean rebirth makes the alias usable again
    rebirth = spb.payload([spb.bd_seq(1), m("a_kw", 1.0, pb.Double, alias=7)], seq=0, timestamp=NOW)
    assert not parse_message(topic_for("NBIRTH"), rebirth, NOW + 2, CFG, state).dead_letters
    ndata = spb.payload([m(alias=7, value=5.0)], seq=1)
    out = parse_message(topic_for("NDATA"), ndata, NOW + 3, CFG, state)
    assert [r.metric for r in out.readings] == ["a_kw"]


VALUE_FIELDS = {
    "int_value": 2**32 - 1,
    "long_value": 2**64 - 1,
    "float_value": 1.5,
    "double_value": -2.5,
    "boolean_value": True,
    "string_value": "s",
    "bytes_value": b"\x00",
}
DATATYPES = [*range(35), 2**31 - 1]


@pytest.mark.parametrize("field", VALUE_FIELDS)
def test_every_datatype_against_every_value_field(field):
    """Declared datatype (BIRTH or DATA) vs the oneof field actually set: a value of the declared
    type, or sparkplug.unsupported_type. Never a crash, never a value of another type."""
    expected_type = {
        "int_value": int,
        "long_value": int,
        "float_value": float,
        "double_value": float,
        "boolean_value": bool,
        "string_value": str,
    }
    for datatype, in_birth in itertools.product(DATATYPES, (True, False)):
        state, _ = born()
        p = pb.Payload(seq=2 if not in_birth else 0, timestamp=NOW)
        if in_birth:
            p.metrics.add(name="bdSeq", datatype=pb.Int64, long_value=1)
        metric = p.metrics.add(name="x_val", datatype=datatype)
        setattr(metric, field, VALUE_FIELDS[field])
        payload = p.SerializeToString()
        if not in_birth:  # DATA that declares its own datatype for a metric the BIRTH did not have
            birth = pb.Payload(seq=0, timestamp=NOW)
            birth.metrics.add(name="x_val", datatype=pb.Double)
            parse_message(topic_for("NBIRTH"), birth.SerializeToString(), NOW, CFG, state)
            p.seq = 1
            payload = p.SerializeToString()
        topic = topic_for("NBIRTH" if in_birth else "NDATA")
        out = parse_message(topic, payload, NOW, CFG, state)
        check_outcome(out, topic, payload)
        for r in out.readings:
            assert type(r.value) is expected_type[field], (datatype, field, r.value)
        assert set(reasons(out)) <= {"sparkplug.unsupported_type"}


odd_names = st.text(alphabet="ab/+# \x00😀\u202e.-_", min_size=0, max_size=80)


@PROPS
@given(names=st.lists(odd_names, min_size=1, max_size=10, unique=True))
def test_odd_metric_names_map_to_valid_names(names):
    state = SparkplugState()
    birth = spb.payload(
        [spb.bd_seq(0)] + [m(n, 1.0, pb.Double, alias=i) for i, n in enumerate(names)], seq=0, timestamp=NOW
    )
    out = parse_message(topic_for("NBIRTH"), birth, NOW, CFG, state)
    check_outcome(out, topic_for("NBIRTH"), birth)
    ok = [n for n in names if n != "bdSeq" and not n.startswith("Node Control/")]
    assert len(out.readings) + len(out.dead_letters) == len(ok)
    assert all(NAME.match(r.metric) for r in out.readings)


@pytest.mark.parametrize(
    "topic",
    [
        "spBv1.0/G+/NDATA/E",
        "spBv1.0/G/NDATA/#",
        "spBv1.0/G/NDATA/E/+",
        "spBv1.0/G/NDATA/E/D",
        "spBv1.0/G/DDATA/E",
        "spBv1.0//NDATA/E",
        "spBv1.0/G/NDATA/E/",
        "spBv1.0/G/NDATA/E/D/x",
        "spBv1.0/G 1/NDATA/E",
        "spBv1.0/G😀/NDATA/E",
        "spBv1.0/G\x00/NBIRTH/E",
        "spBv1.0/G/ndata/E",
        "spBv1.0/" + "g" * 300 + "/NDATA/E",
        "spBv1.0/G/STATE",
        "spBv1.0/STATE/host",
    ],
)
def test_hostile_sparkplug_topics(topic):
    state, birth = born()
    for payload in (birth, b"\xff\x00garbage"):
        check_outcome(parse_message(topic, payload, NOW, CFG, state), topic, payload)


@PROPS
@given(
    ts=st.integers(0, 2**64 - 1) | st.sampled_from([0, 1, NOW, NOW + 300_001, 253402300799999]),
    value=st.one_of(st.floats(), st.integers(0, 2**64 - 1)),
)
def test_far_timestamps_and_non_finite_values(ts, value):
    state, _ = born()
    field = "double_value" if isinstance(value, float) else "long_value"
    p = pb.Payload(seq=2, timestamp=ts)
    metric = p.metrics.add(alias=1 if field == "double_value" else 2, timestamp=ts)
    setattr(metric, field, value)
    payload = p.SerializeToString()
    out = parse_message(topic_for("NDATA"), payload, NOW, CFG, state)
    check_outcome(out, topic_for("NDATA"), payload)


def test_deeply_nested_template_is_rejected_without_recursion_error():
    """Templates nest Metrics; protobuf's own recursion limit turns this into a DecodeError."""
    inner = b""
    for _ in range(5000):  # Metric{template_value: Template{metrics: [inner]}}
        template = b"\x12" + _varint(len(inner)) + inner  # Template.metrics: field 2, length-delimited
        inner = b"\x92\x01" + _varint(len(template)) + template  # Metric.template_value: field 18
    payload = b"\x12" + _varint(len(inner)) + inner  # Payload.metrics: field 2
    assert len(payload) < 256 * 1024
    state, _ = born()
    out = parse_message(topic_for("NDATA"), payload, NOW, CFG, state)
    check_outcome(out, topic_for("NDATA"), payload)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


@pytest.mark.parametrize("kind", ["NBIRTH", "NDATA", "DBIRTH", "DDATA"])
def test_invalid_utf8_metric_name_and_string_value(kind):
    """Regression (found by the atheris fuzzer): proto2 string fields are not UTF-8-checked; upb
    hands back bytes, and `name.startswith(...)` raised TypeError out of parse_message — one such
    message crashed the bridge's worker, and its redelivery after a restart crashed it again."""
    good = pb.Payload(timestamp=NOW)
    good.metrics.add(name="ab_kw", datatype=pb.Double, double_value=1.0)
    good.metrics.add(name="note", datatype=pb.String, string_value="xy")
    for bad in (b"a\xff_kw", b"x\xfe"):
        state = SparkplugState()
        for seq, before in enumerate(("NBIRTH", "DBIRTH")):
            good.seq = seq
            assert parse_message(topic_for(before), good.SerializeToString(), NOW, CFG, state).readings
        good.seq = 2 if kind.endswith("DATA") else 0 if kind == "NBIRTH" else 1
        raw = good.SerializeToString()
        payload = raw.replace(b"ab_kw" if bad.startswith(b"a") else b"xy", bad)
        out = parse_message(topic_for(kind), payload, NOW, CFG, state)
        check_outcome(out, topic_for(kind), payload)
        assert reasons(out) == ["sparkplug.bad_payload"]
        assert len(out.readings) == 1  # the other metric of the message survives
