"""Pack metric values at ingest (pure): a machine's pack metric of the wrong kind or out of its
bounds is a `pack.metric_invalid` dead letter naming the pack and the metric; the other metrics
of the message survive; a metric neither core nor of the machine's pack stays generic telemetry."""

from __future__ import annotations

import orjson
import pytest

from brain.pack import Metric
from brain.plant import parse_plant
from brain.vocabulary import COUNTER, FLAG, GAUGE, SAMPLE, TEXT
from ingest.parse import parse_message
from ingest.plantconfig import ingest_config
from ingest.reasons import Reason
from ingest.validate import Rejected, check_pack_value, pack_value_problem

NOW = 1_795_000_000_000
PLANT = {
    "packs": ["smt", "cnc"],
    "sites": [{"id": "s1", "lines": [
        {"id": "smt1", "pack": "smt", "smt": {"opportunities_per_board": 800},
         "machines": [{"id": "m1", "smt": {"rated_cph": 40000}}, {"id": "meter", "kind": "meter"}]},
        {"id": "cnc1", "pack": "cnc", "machines": [{"id": "vmc1"}]},
        {"id": "plain", "machines": [{"id": "p1"}]},
    ]}],
}  # fmt: skip
CONFIG = ingest_config(parse_plant(PLANT))


def _batch(machine: str, metrics: dict) -> tuple[list, list]:
    out = parse_message(f"brain/v1/s1/{machine}", orjson.dumps({"ts": NOW, "metrics": metrics}), NOW, CONFIG)
    return [(r.metric, r.value) for r in out.readings], out.dead_letters


COUNT = Metric("c", COUNTER)
GAUGE_M = Metric("g", GAUGE, minimum=0, maximum=500)
SAMPLE_M = Metric("x", SAMPLE, minimum=-1.5)
FLAG_M = Metric("f", FLAG)
TEXT_M = Metric("t", TEXT, values=("a", "b"))
ANY_TEXT = Metric("u", TEXT)


@pytest.mark.parametrize(
    ("metric", "value", "problem"),
    [
        (COUNT, 0, None), (COUNT, 12.5, None), (COUNT, "abc", "a counter must be a number >= 0"),
        (COUNT, -1, "a counter must be a number >= 0"), (COUNT, True, "a counter must be a number >= 0"),
        (GAUGE_M, 0, None), (GAUGE_M, 500, None), (GAUGE_M, 500.01, "a gauge must be a number in [0, 500]"),
        (GAUGE_M, -0.1, "a gauge must be a number in [0, 500]"), (GAUGE_M, "1", "a gauge must be a number"),
        (SAMPLE_M, -1.5, None), (SAMPLE_M, 1e9, None),
        (SAMPLE_M, -2, "a sample must be a number in [-1.5, inf]"),
        (SAMPLE_M, float("nan"), "a sample must be a number"),
        (FLAG_M, True, None), (FLAG_M, 0, None), (FLAG_M, 1.0, None),
        (FLAG_M, 2, "a flag must be true, false, 0 or 1"),
        (FLAG_M, "on", "a flag must be true, false, 0 or 1"),
        (TEXT_M, "a", None), (TEXT_M, "c", "a text metric must be one of a, b"),
        (TEXT_M, 3, "a text metric must be a string"), (ANY_TEXT, "anything", None),
    ],
)  # fmt: skip
def test_pack_value_problem(metric: Metric, value, problem: str | None):
    assert pack_value_problem(metric, value) == problem


def test_rejected_names_pack_metric_rule_and_value():
    with pytest.raises(Rejected) as exc:
        check_pack_value("smt", Metric("placements", COUNTER), "abc")
    assert exc.value.reason is Reason.PACK_METRIC_INVALID
    assert exc.value.detail == "smt metric placements: a counter must be a number >= 0, found 'abc'"


def test_ingest_config_has_each_pack_machine_and_only_those():
    assert set(CONFIG.pack_metrics) == {"s1/smt1/m1", "s1/cnc1/vmc1"}  # a meter joins no pack by its line
    assert CONFIG.pack_metrics["s1/smt1/m1"]["placements"][0] == "smt"
    assert CONFIG.pack_metrics["s1/cnc1/vmc1"]["spindle_load_pct"][1].maximum == 500


def test_batch_bad_pack_values_are_dead_letters_the_rest_survives():
    readings, dead = _batch(
        "smt1/m1",
        {"placements": "abc", "pickup_errors": -3, "defects": 2, "power_kw": 4.5, "state": "running",
         "temp_c": "warm"},
    )  # fmt: skip
    assert readings == [("defects", 2), ("power_kw", 4.5), ("state", "running"), ("temp_c", "warm")]
    rule = "a counter must be a number >= 0"
    assert [(d.reason, d.metric, d.detail) for d in dead] == [
        (Reason.PACK_METRIC_INVALID, "placements", f"smt metric placements: {rule}, found 'abc'"),
        (Reason.PACK_METRIC_INVALID, "pickup_errors", f"smt metric pickup_errors: {rule}, found -3"),
    ]


def test_gauge_bounds_flag_and_text_of_the_cnc_pack():
    readings, dead = _batch(
        "cnc1/vmc1", {"spindle_load_pct": 501, "spindle_on": "yes", "program": 7, "tool_changes": 4}
    )
    assert readings == [("tool_changes", 4)]
    assert {d.metric: d.detail for d in dead} == {
        "spindle_load_pct": "cnc metric spindle_load_pct: a gauge must be a number in [0, 500], found 501",
        "spindle_on": "cnc metric spindle_on: a flag must be true, false, 0 or 1, found 'yes'",
        "program": "cnc metric program: a text metric must be a string, found 7",
    }


def test_single_metric_topic_is_checked_too():
    out = parse_message("brain/v1/s1/smt1/m1/placements", b'"abc"', NOW, CONFIG)
    assert out.readings == [] and [d.reason for d in out.dead_letters] == [Reason.PACK_METRIC_INVALID]


def test_another_packs_metric_or_no_pack_is_generic_telemetry():
    # a cnc metric on an smt machine, and an smt metric on a machine without a pack: no pack rule
    # applies, so they pass as generic telemetry (as any unknown metric does) and the fold ignores them
    assert _batch("smt1/m1", {"spindle_load_pct": 9000, "program": 3}) == (
        [("spindle_load_pct", 9000), ("program", 3)],
        [],
    )
    assert _batch("plain/p1", {"placements": "abc"}) == ([("placements", "abc")], [])
    assert _batch("smt1/meter", {"placements": -1}) == ([("placements", -1)], [])
