"""Bad pack metric values through the real bridge (Mosquitto -> bridge -> Kafka): each is a
`pack.metric_invalid` dead letter naming the pack and the metric; the message's other metrics
reach brain.readings. The plant config gives the bridge each machine's pack."""

from __future__ import annotations

import time
from collections import Counter

import orjson
import pytest

from brain.plant import parse_plant
from brain.settings import TOPIC_DEADLETTER, TOPIC_READINGS, Settings
from ingest.plantconfig import ingest_config
from tests.ingest.test_bridge_integration import KafkaTail, Publisher, _site, bridge_thread

pytestmark = pytest.mark.stack


def _plant(site: str):
    return parse_plant({
        "packs": ["smt", "cnc"],
        "sites": [{"id": site, "lines": [
            {"id": "smt1", "pack": "smt", "smt": {"opportunities_per_board": 800},
             "machines": [{"id": "m1", "smt": {"rated_cph": 40000}}]},
            {"id": "cnc1", "pack": "cnc", "machines": [{"id": "vmc1"}]},
        ]}],
    })  # fmt: skip


def test_bad_pack_values_dead_lettered_the_rest_survive(stack: Settings):
    site = _site()
    config = ingest_config(_plant(site))
    now = int(time.time() * 1000)
    messages = [
        (f"brain/v1/{site}/smt1/m1", {"ts": now, "metrics": {
            "placements": "abc", "pickup_errors": 3, "state": "running", "count_total": 10}}),
        (f"brain/v1/{site}/cnc1/vmc1", {"ts": now, "metrics": {
            "spindle_load_pct": 612, "spindle_on": True, "program": "O1000", "tool_changes": -2,
            "spindle_rpm": 9000}}),  # spindle_rpm: no pack declares it -> generic telemetry
        (f"brain/v1/{site}/smt1/m1/defects", -1),
    ]  # fmt: skip
    survivors = {
        ("m1", "pickup_errors", 3), ("m1", "state", "running"), ("m1", "count_total", 10),
        ("vmc1", "spindle_on", True), ("vmc1", "program", "O1000"), ("vmc1", "spindle_rpm", 9000),
    }  # fmt: skip
    expected_dead = {
        ("placements", "smt metric placements: a counter must be a number >= 0, found 'abc'"),
        ("spindle_load_pct", "cnc metric spindle_load_pct: a gauge must be a number in [0, 500], found 612"),
        ("tool_changes", "cnc metric tool_changes: a counter must be a number >= 0, found -2"),
        (None, "smt metric defects: a counter must be a number >= 0, found -1"),
    }  # fmt: skip
    readings = KafkaTail(stack, TOPIC_READINGS, lambda v: v.get("site") == site)
    dead = KafkaTail(stack, TOPIC_DEADLETTER, lambda v: v.get("topic", "").startswith(f"brain/v1/{site}/"))
    publisher = Publisher(stack, f"test-pub-{site}")
    try:
        with bridge_thread(stack, site, config) as bridge:
            for topic, doc in messages:
                publisher.publish(topic, orjson.dumps(doc))
            got = readings.poll_until(lambda r: len(r) >= len(survivors), 60)
            got_dead = dead.poll_until(lambda r: len(r) >= len(expected_dead), 30)
            deadline = time.monotonic() + 20
            while bridge.counters.messages_acked < len(messages) and time.monotonic() < deadline:
                time.sleep(0.1)
            counters = bridge.counters
        assert counters.messages_acked == len(messages)
        assert counters.readings_out == len(survivors)
        assert counters.dead_letters_out == len(expected_dead)
        assert counters.dead_letter_reasons == Counter({"pack.metric_invalid": len(expected_dead)})
        assert {(v["machine"], v["metric"], v["value"]) for _, v in got} == survivors
        assert {(v.get("metric"), v["detail"]) for _, v in got_dead} == expected_dead
        assert {v["reason"] for _, v in got_dead} == {"pack.metric_invalid"}
    finally:
        publisher.close()
        readings.close()
        dead.close()
