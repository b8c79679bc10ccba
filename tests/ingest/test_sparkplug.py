"""Sparkplug B: BIRTH -> aliased DATA -> DEATH round trips, seq gaps, rebirth requests, mapping."""

from __future__ import annotations

from dataclasses import replace

import pytest

from brain.records import Reading
from ingest import IngestConfig, Reason, SparkplugState, parse_message
from ingest.sparkplug import map_identity, metric_name
from ingest.sparkplug import sparkplug_b_pb2 as pb
from ingest.validate import Rejected
from tests.ingest import spb

NOW = 1_795_000_000_000
CFG = IngestConfig()
m = spb.metric


def sp(kind: str, edge: str = "E1", device: str | None = None, group: str = "G1") -> str:
    return f"spBv1.0/{group}/{kind}/{edge}" + (f"/{device}" if device else "")


def rd(machine, metric, value, ts=NOW, line="E1", site="G1"):
    return Reading(site, line, machine, metric, value, ts, None, NOW, "sparkplug", None)


def nbirth(bd=0):
    return spb.payload(
        [
            spb.bd_seq(bd),
            m("Node Control/Rebirth", False, pb.Boolean),
            m("power_kw", 11.5, pb.Double, alias=1),
            m("Inputs/Temp C", -4, pb.Int32, alias=2),
            m("count_total", 2**40, pb.UInt64, alias=3),
            m("state", "running", pb.String, alias=4),
            m("door_open", False, pb.Boolean, alias=5),
            m("spare", None, pb.Float, alias=6, is_null=True),
        ],
        seq=0,
        timestamp=NOW,
    )


def dbirth(seq):
    return spb.payload(
        [m("energy_kwh", 100.0, pb.Float, alias=10), m("level", -1, pb.Int8, alias=11)],
        seq=seq,
        timestamp=NOW,
    )


def fresh() -> SparkplugState:
    state = SparkplugState()
    out = parse_message(sp("NBIRTH"), nbirth(), NOW, CFG, state)
    assert out.dead_letters == [] and out.actions == []
    return state


def test_nbirth_defines_and_reports_values():
    out = parse_message(sp("NBIRTH"), nbirth(), NOW, CFG, SparkplugState())
    assert out.readings == [
        rd("E1", "power_kw", 11.5),
        rd("E1", "Inputs.Temp_C", -4),
        rd("E1", "count_total", 2**40),
        rd("E1", "state", "running"),
        rd("E1", "door_open", False),
    ]


def test_birth_aliased_data_death_round_trip():
    state = fresh()
    out = parse_message(sp("DBIRTH", device="D1"), dbirth(1), NOW, CFG, state)
    assert out.readings == [rd("D1", "energy_kwh", 100.0), rd("D1", "level", -1)]
    ndata = spb.payload(
        [m(alias=1, value=12.25, datatype=pb.Double), m(alias=4, value="fault", datatype=pb.String)], seq=2
    )
    out = parse_message(sp("NDATA"), ndata, NOW + 1000, CFG, state)
    assert [(x.machine, x.metric, x.value, x.ts) for x in out.readings] == [
        ("E1", "power_kw", 12.25, NOW + 1000),
        ("E1", "state", "fault", NOW + 1000),
    ]
    # DDATA by alias only, datatype omitted, per-metric timestamp
    ddata = pb.Payload(seq=3, timestamp=NOW)
    x = ddata.metrics.add()
    x.alias = 10
    x.float_value = 101.5
    x.timestamp = NOW - 500
    out = parse_message(sp("DDATA", device="D1"), ddata.SerializeToString(), NOW, CFG, state)
    assert out.readings == [rd("D1", "energy_kwh", 101.5, NOW - 500)]
    assert out.actions == [] and out.dead_letters == []
    out = parse_message(sp("DDEATH", device="D1"), spb.payload([], seq=4), NOW, CFG, state)
    assert out.readings == [rd("D1", "state", "offline")]
    out = parse_message(
        sp("DDATA", device="D1"), spb.payload([m(alias=10, value=1.0)], seq=5), NOW, CFG, state
    )
    assert [d.reason for d in out.dead_letters] == [Reason.SPARKPLUG_NO_BIRTH]
    out = parse_message(sp("NDEATH"), spb.payload([spb.bd_seq(0)]), NOW + 5, CFG, state)
    assert out.readings == [
        Reading("G1", "E1", "E1", "state", "offline", NOW + 5, None, NOW + 5, "sparkplug", None),
        Reading("G1", "E1", "D1", "state", "offline", NOW + 5, None, NOW + 5, "sparkplug", None),
    ]
    # after NDEATH, DATA needs a new BIRTH
    out = parse_message(sp("NDATA"), spb.payload([m(alias=1, value=1.0)], seq=0), NOW + 10_000, CFG, state)
    assert [d.reason for d in out.dead_letters] == [Reason.SPARKPLUG_NO_BIRTH]
    assert [a.topic for a in out.actions] == ["spBv1.0/G1/NCMD/E1"]


def test_stale_ndeath_is_ignored():
    state = SparkplugState()
    parse_message(sp("NBIRTH"), nbirth(bd=7), NOW, CFG, state)
    out = parse_message(sp("NDEATH"), spb.payload([spb.bd_seq(6)]), NOW, CFG, state)
    assert out.readings == [] and out.ignored and state.counters["stale_deaths"] == 1
    out = parse_message(sp("NDATA"), spb.payload([m(alias=1, value=2.0)], seq=1), NOW, CFG, state)
    assert out.readings == [rd("E1", "power_kw", 2.0)]


def test_bdseq_gap_counted():
    state = SparkplugState()
    parse_message(sp("NBIRTH"), nbirth(bd=1), NOW, CFG, state)
    parse_message(sp("NBIRTH"), nbirth(bd=5), NOW, CFG, state)
    assert state.counters["bdseq_gaps"] == 1


def _rebirth_metric(action):
    payload = pb.Payload.FromString(action.payload)
    (metric,) = payload.metrics
    return metric.name, metric.datatype, metric.boolean_value


def test_seq_gap_requests_rebirth_once_per_interval():
    state = fresh()
    out = parse_message(sp("NDATA"), spb.payload([m(alias=1, value=1.0)], seq=5), NOW, CFG, state)
    assert out.readings == [rd("E1", "power_kw", 1.0)]  # data still resolvable: accepted
    (action,) = out.actions
    assert action.topic == "spBv1.0/G1/NCMD/E1" and action.qos == 0
    assert _rebirth_metric(action) == ("Node Control/Rebirth", pb.Boolean, True)
    assert state.counters["seq_gaps"] == 1
    out = parse_message(sp("NDATA"), spb.payload([m(alias=1, value=1.0)], seq=9), NOW + 1000, CFG, state)
    assert out.actions == [] and state.counters["rebirth_suppressed"] == 1
    out = parse_message(sp("NDATA"), spb.payload([m(alias=1, value=1.0)], seq=20), NOW + 6000, CFG, state)
    assert len(out.actions) == 1 and state.counters["rebirth_requests"] == 2


def test_seq_wraps_without_gap():
    state = fresh()
    state.nodes[("G1", "E1")].seq = 254
    for seq in (255, 0, 1):
        out = parse_message(sp("NDATA"), spb.payload([m(alias=1, value=1.0)], seq=seq), NOW, CFG, state)
        assert out.actions == []
    assert state.counters["seq_gaps"] == 0


def test_unknown_alias_dead_letters_and_requests_rebirth():
    state = fresh()
    payload = spb.payload([m(alias=1, value=3.0), m(alias=99, value=1.0, datatype=pb.Double)], seq=1)
    out = parse_message(sp("NDATA"), payload, NOW, CFG, state)
    assert out.readings == [rd("E1", "power_kw", 3.0)]
    assert [(d.reason, d.metric) for d in out.dead_letters] == [(Reason.SPARKPLUG_UNKNOWN_ALIAS, "alias:99")]
    assert len(out.actions) == 1


def test_data_before_birth_requests_rebirth():
    out = parse_message(sp("NDATA"), spb.payload([m(alias=1, value=3.0)], seq=1), NOW, CFG, SparkplugState())
    assert [d.reason for d in out.dead_letters] == [Reason.SPARKPLUG_NO_BIRTH]
    assert [a.topic for a in out.actions] == ["spBv1.0/G1/NCMD/E1"]


def test_dbirth_before_nbirth():
    out = parse_message(sp("DBIRTH", device="D1"), dbirth(1), NOW, CFG, SparkplugState())
    assert [d.reason for d in out.dead_letters] == [Reason.SPARKPLUG_NO_BIRTH]


def test_new_nbirth_voids_device_births():
    state = fresh()
    parse_message(sp("DBIRTH", device="D1"), dbirth(1), NOW, CFG, state)
    parse_message(sp("NBIRTH"), nbirth(bd=1), NOW, CFG, state)
    out = parse_message(
        sp("DDATA", device="D1"), spb.payload([m(alias=10, value=1.0)], seq=1), NOW, CFG, state
    )
    assert [d.reason for d in out.dead_letters] == [Reason.SPARKPLUG_NO_BIRTH]


def test_validation_applies_to_sparkplug_values():
    state = fresh()
    payload = spb.payload([m(alias=3, value=5), m(alias=1, value=float("nan"), datatype=pb.Double)], seq=1)
    out = parse_message(sp("NDATA"), payload, NOW, CFG, state)
    assert out.readings == [rd("E1", "count_total", 5)]
    assert [d.reason for d in out.dead_letters] == [Reason.VALUE_NOT_FINITE]


def test_sign_extended_int8_decodes():
    state = fresh()
    parse_message(sp("DBIRTH", device="D1"), dbirth(1), NOW, CFG, state)
    p = pb.Payload(seq=2)
    x = p.metrics.add()
    x.alias = 11
    x.int_value = 0xFFFFFFFE  # -2 sign-extended to 32 bits by older encoders
    out = parse_message(sp("DDATA", device="D1"), p.SerializeToString(), NOW, CFG, state)
    assert [x.value for x in out.readings] == [-2]


@pytest.mark.parametrize(
    ("mapping", "device", "expected"),
    [
        ({}, "D1", ("G1", "E1", "D1")),
        ({}, None, ("G1", "E1", "E1")),
        ({"G1/E1/D1": "plant/press/p7"}, "D1", ("plant", "press", "p7")),
        ({"G1/E1": "plant/press"}, "D1", ("plant", "press", "D1")),
        ({"G1/E1": "plant/press"}, None, ("plant", "press", "E1")),
        ({"G1/E1": "plant/press/gw"}, None, ("plant", "press", "gw")),
        ({"G1/E1": "plant/press/gw"}, "D1", ("G1", "E1", "D1")),
        ({"G1": "plant"}, "D1", ("plant", "E1", "D1")),
        ({"G1/E1/*": "plant/press", "G1/E1": "plant/press/gw"}, "D1", ("plant", "press", "D1")),
    ],
)
def test_mapping(mapping, device, expected):
    assert map_identity("G1", "E1", device, mapping) == expected


def test_mapping_applies_to_readings():
    config = replace(CFG, sparkplug_map={"G1/E1": "plant/press/gw"})
    out = parse_message(sp("NBIRTH"), nbirth(), NOW, config, SparkplugState())
    assert {(x.site, x.line, x.machine) for x in out.readings} == {("plant", "press", "gw")}


def test_unmappable_id_is_dead_lettered():
    with pytest.raises(Rejected) as info:
        map_identity("G 1", "E1", None, {})
    assert info.value.reason is Reason.TOPIC_BAD_LEVEL
    out = parse_message("spBv1.0/G 1/NBIRTH/E1", nbirth(), NOW, CFG, SparkplugState())
    assert {d.reason for d in out.dead_letters} == {Reason.TOPIC_BAD_LEVEL}


def test_metric_names():
    assert metric_name("power_kw") == "power_kw"
    assert metric_name("Inputs/Motor 1/Amps") == "Inputs.Motor_1.Amps"
