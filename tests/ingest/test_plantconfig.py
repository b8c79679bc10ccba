from pathlib import Path

from brain.plant import load_plant
from ingest import SparkplugState, parse_message
from ingest.plantconfig import ingest_config, sparkplug_map
from ingest.sparkplug import map_identity
from ingest.sparkplug import sparkplug_b_pb2 as pb
from tests.ingest import spb

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "suzhou-demo.yaml"
NOW = 1_795_000_000_000


def test_groups_section_flattens():
    section = {
        "groups": {
            "SIP": {
                "site": "sip",
                "edges": {
                    "GW1": {"line": "smt1", "devices": {"PRN": "printer"}},
                    "CNC-GW1": {"line": "cnc1"},
                },
            },
            "RAW": None,
        }
    }
    flat = sparkplug_map(section)
    assert map_identity("SIP", "GW1", "PRN", flat) == ("sip", "smt1", "printer")
    assert map_identity("SIP", "GW1", "X9", flat) == ("sip", "smt1", "X9")
    assert map_identity("SIP", "GW1", None, flat) == ("sip", "smt1", "GW1")
    assert map_identity("SIP", "CNC-GW1", "M3", flat) == ("sip", "cnc1", "M3")
    assert map_identity("SIP", "OTHER", "D", flat) == ("sip", "OTHER", "D")
    assert map_identity("RAW", "E", "D", flat) == ("RAW", "E", "D")


def test_flat_keys_pass_through():
    assert sparkplug_map({"G/E/D": "s/l/m"}) == {"G/E/D": "s/l/m"}


def test_example_plant_config():
    config = ingest_config(load_plant(str(EXAMPLE)))
    assert map_identity("SIP", "SMT-GW1", "PRN", config.sparkplug_map) == ("sip", "smt1", "printer")
    birth = spb.payload([spb.bd_seq(0), spb.metric("power_kw", 1.0, pb.Double)], seq=0)
    state = SparkplugState()
    parse_message("spBv1.0/SIP/NBIRTH/SMT-GW1", birth, NOW, config, state)
    out = parse_message(
        "spBv1.0/SIP/DBIRTH/SMT-GW1/M1",
        spb.payload([spb.metric("count_total", 5, pb.UInt64)], seq=1),
        NOW,
        config,
        state,
    )
    assert [(r.site, r.line, r.machine, r.value) for r in out.readings] == [("sip", "smt1", "mounter1", 5)]
