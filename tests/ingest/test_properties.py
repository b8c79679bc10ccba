"""Property tests: no input crashes the parser, and every input ends somewhere.

"Somewhere": readings, dead letters, or `ignored` (by-design no-ops). Readings always satisfy the
Reading v1 contract and serialise; dead letters always carry the original bytes.
"""

from __future__ import annotations

import base64
import json

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brain.records import Reading
from ingest import IngestConfig, SparkplugState, parse_message
from ingest.sparkplug import sparkplug_b_pb2 as pb

NOW = 1_795_000_000_000
CFG = IngestConfig(state_codes={"s/l/m": {"1": "running"}})
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

level = st.one_of(
    st.sampled_from(["s", "l", "m", "power_kw", "state", "count_total", "energy_kwh", "x.y-z_1"]),
    st.text(min_size=0, max_size=70),
)
v1_topics = st.one_of(
    st.builds(lambda a, b, c: f"brain/v1/{a}/{b}/{c}", level, level, level),
    st.builds(lambda a, b, c, d: f"brain/v1/{a}/{b}/{c}/{d}", level, level, level, level),
    st.builds(lambda a: f"brain/v1/s/l/m/{a}", st.sampled_from(["power_kw", "state", "count_total", "x"])),
)
sp_types = st.sampled_from(["NBIRTH", "NDATA", "NDEATH", "DBIRTH", "DDATA", "DDEATH", "NCMD", "STATE", "XX"])
sp_topics = st.builds(
    lambda g, t, e, d: "/".join(x for x in ("spBv1.0", g, t, e, d) if x is not None),
    st.sampled_from(["G", "G 1", "", "g+"]) | st.text(max_size=10),
    sp_types,
    st.sampled_from(["E", "E2"]) | st.text(max_size=10),
    st.none() | st.sampled_from(["D", "D2"]) | st.text(max_size=10),
)
topics = st.one_of(v1_topics, sp_topics, st.text(max_size=300))

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=300),
    st.sampled_from(["running", "idle", "fault", "2026-11-18T11:06:40Z", "1"]),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
keys = st.sampled_from(["value", "ts", "unit", "seq", "metrics", "power_kw", "state", "count_total"])
ts_values = st.one_of(
    st.integers(min_value=NOW - 10 * 86_400_000, max_value=NOW + 86_400_000),
    st.text(max_size=30),
    json_scalars,
)
v1_docs = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"value": json_values}, optional={"ts": ts_values, "unit": json_values, "seq": json_values}
    ),
    st.fixed_dictionaries(
        {"metrics": st.dictionaries(st.text(max_size=10) | keys, json_values, max_size=8)},
        optional={"ts": ts_values, "seq": json_values},
    ),
    st.dictionaries(keys, json_values, max_size=5),
)
json_payloads = v1_docs.map(lambda d: json.dumps(d, allow_nan=True).encode())


def check(out, topic, payload, now=NOW):
    assert out.readings or out.dead_letters or out.ignored
    for reading in out.readings:
        data = orjson.loads(orjson.dumps(reading.to_dict()))
        assert Reading.from_dict(data) == reading
        assert reading.received_ts == now
        assert reading.source in ("mqtt", "sparkplug")
    for dl in out.dead_letters:
        record = orjson.loads(dl.to_json())
        assert base64.b64decode(record["payload"]) == bytes(payload)
        assert record["topic"] == topic and record["reason"] and record["detail"]
    for action in out.actions:
        assert action.topic.startswith("spBv1.0/") and "/NCMD/" in action.topic


@FAST
@given(topic=topics, payload=st.binary(max_size=512))
def test_random_topics_and_bytes(topic, payload):
    check(parse_message(topic, payload, NOW, CFG, SparkplugState()), topic, payload)


@FAST
@given(topic=v1_topics, payload=json_payloads)
def test_random_json_on_v1_topics(topic, payload):
    out = parse_message(topic, payload, NOW, CFG)
    check(out, topic, payload)
    if not topic.startswith("brain/v1/alerts/"):
        assert out.readings or out.dead_letters


@FAST
@given(payload=json_payloads, metric=st.sampled_from(["power_kw", "state", "count_total", "temp"]))
def test_random_json_on_valid_topics(payload, metric):
    for topic in (f"brain/v1/s/l/m/{metric}", "brain/v1/s/l/m"):
        out = parse_message(topic, payload, NOW, CFG)
        check(out, topic, payload)
        assert out.readings or out.dead_letters


oneof_values = st.one_of(
    st.builds(lambda v: ("int_value", v), st.integers(0, 2**32 - 1)),
    st.builds(lambda v: ("long_value", v), st.integers(0, 2**64 - 1)),
    st.builds(lambda v: ("float_value", v), st.floats(width=32)),
    st.builds(lambda v: ("double_value", v), st.floats()),
    st.builds(lambda v: ("boolean_value", v), st.booleans()),
    st.builds(lambda v: ("string_value", v), st.text(max_size=20)),
    st.builds(lambda v: ("bytes_value", v), st.binary(max_size=8)),
    st.none(),
)
sp_metrics = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "name": st.sampled_from(["bdSeq", "power_kw", "state", "count_total", "A/b c", ""])
            | st.text(max_size=8),
            "alias": st.integers(0, 5),
            "datatype": st.integers(0, 40),
            "timestamp": st.integers(0, 2**64 - 1) | st.integers(NOW - 1000, NOW + 1000),
            "is_null": st.booleans(),
            "value": oneof_values,
        },
    ),
    max_size=6,
)


def build(metrics, seq, ts):
    p = pb.Payload()
    if seq is not None:
        p.seq = seq
    if ts is not None:
        p.timestamp = ts
    for spec in metrics:
        m = p.metrics.add()
        for key in ("name", "alias", "datatype", "timestamp", "is_null"):
            if key in spec:
                setattr(m, key, spec[key])
        if spec.get("value"):
            setattr(m, *spec["value"])
    return p.SerializeToString()


sp_messages = st.lists(
    st.tuples(
        st.sampled_from(["NBIRTH", "NDATA", "NDEATH", "DBIRTH", "DDATA", "DDEATH"]),
        st.sampled_from(["D", "D2"]),
        sp_metrics,
        st.none() | st.integers(0, 255),
        st.none() | st.integers(NOW - 1000, NOW + 1000),
    ),
    max_size=12,
)


@FAST
@given(messages=sp_messages)
def test_random_sparkplug_sequences(messages):
    state = SparkplugState()
    for i, (kind, device, metrics, seq, ts) in enumerate(messages):
        topic = f"spBv1.0/G/{kind}/E" + (f"/{device}" if kind.startswith("D") else "")
        payload = build(metrics, seq, ts)
        check(parse_message(topic, payload, NOW + i, CFG, state), topic, payload, NOW + i)
