"""The pipeline on a real 3-broker KRaft cluster (RF 3, min ISR 2) survives a SIGKILL of a broker.

simulator -> MQTT -> bridge -> Kafka (3 nodes) -> processors -> brain.kpis -> sink -> InfluxDB on
the `private_cluster` stack (three JVMs, tests/private_stack.py), every service with
BRAIN_KAFKA_REPLICATION_FACTOR=3 and BRAIN_KAFKA_MIN_INSYNC_REPLICAS=2. While the simulator
streams (60x; from a weekday 07:55), the broker leading most partitions of brain.readings is
SIGKILLed and restarted (`brain stack kill|start kafka-N`); the stream goes on until STEADY_S after
the broker is back, then stops. Then: 0 readings lost between MQTT
and Kafka, every final KPI record (Kafka and InfluxDB) equals `brain kpi` on the same readings
(so nothing was double counted), every topic of the cluster has RF 3 and min ISR 2, and the
restarted broker is back in every ISR.

Every topic `brain process` uses beyond the stack's (partials, its assignment topic, both table
changelogs — compacted — and Faust's leader topic) is created by the runtime itself with the
settings' replication (processors/cli.py, `prepare_topics`): the test checks them all.

The run ends with a reading of every machine and metric (its last value again) just after the
last window's grace: both the stream and `brain kpi` get it, and the last windows close without
the idle timeout, which is long (120 s) so that a failover stall never makes a machine "silent".
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from brain.kafka_admin import admin_client, describe_replication, partition_count
from brain.pipeline import build_pipeline
from brain.plant import load_plant
from brain.settings import TOPIC_KPIS, TOPIC_READINGS
from processors.app import TABLES
from processors.runtime.faust_app import runtime_topics
from tests.e2e import harness as h
from tests.faults import workload as w
from tests.private_stack import PrivateStack

pytestmark = [pytest.mark.stack, pytest.mark.faults, pytest.mark.slow, pytest.mark.timeout(480)]

TZ = ZoneInfo("Asia/Shanghai")
SPEED = 60.0
GRACE_S = 5
KILL_AFTER_S = 6.0  # wall seconds into the stream
DOWN_S = 4.0
STEADY_S = 8.0  # wall seconds of stream after the broker is back


def past_weekday_morning() -> dt.datetime:
    day = dt.datetime.now(TZ).date() - dt.timedelta(days=1)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(7, 55), tzinfo=TZ)


def leaders(stack: PrivateStack, topic: str) -> Counter[int]:
    admin = admin_client(stack.settings)
    try:
        (described,) = admin.describe_topics([topic])
    finally:
        admin.close()
    return Counter(p["leader_id"] for p in described["partitions"])


def closing_readings(readings: list[dict[str, Any]], ts: int) -> list[dict[str, Any]]:
    """Each machine's last value of each metric again at `ts`: no change for `brain kpi`, but
    every watermark passes the last window's end + grace."""
    last: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for r in sorted(readings, key=lambda r: r["ts"]):
        last[(r["site"], r["line"], r["machine"], r["metric"])] = r
    return [{**r, "ts": ts} for r in last.values()]


def all_topics(stack: PrivateStack) -> list[str]:
    admin = admin_client(stack.settings)
    try:
        return sorted(admin.list_topics())
    finally:
        admin.close()


def test_pipeline_survives_a_broker_killed_on_a_3_node_cluster(
    private_cluster: PrivateStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack, settings = private_cluster, private_cluster.settings
    assert (settings.kafka_replication_factor, settings.kafka_min_insync_replicas) == (3, 2)
    for name in ("BRAIN_KAFKA_REPLICATION_FACTOR", "BRAIN_KAFKA_MIN_INSYNC_REPLICAS"):
        monkeypatch.setenv(name, stack.env[name])  # the services are children of this process
    t0 = time.monotonic()
    site, app_id = h.unique("c"), h.unique("cl-")
    plant_path = h.write_plant(tmp_path / "plant.yaml", site)
    plant = load_plant(plant_path)
    partitions = partition_count(settings, TOPIC_READINGS)
    readings_from = h.end_offsets(settings, TOPIC_READINGS)
    kpis_from = h.end_offsets(settings, TOPIC_KPIS)
    start = past_weekday_morning()

    pipe = h.run_pipeline(
        plant_path, tmp_path / "run", settings=settings, app_id=app_id, site=site,
        grace_s=GRACE_S, idle_timeout_s=120,
    )  # fmt: skip
    out = tmp_path / "readings.jsonl"
    simulator = [
        *("--seed", "12", "--start", start.isoformat(), "--duration", "8h", "--speed", f"{SPEED:g}"),
        *(
            "--form",
            "mixed",
            "--sparkplug-share",
            "0.3",
            "--client-id",
            f"{app_id}-sim",
            "--out",
            str(out),
            "--quiet",
        ),
    ]
    feed = build_pipeline(
        tmp_path / "sim", plant_path, simulator=simulator, env=stack.env
    )  # its own: stopping it is no failure
    timings: dict[str, float] = {}
    try:
        feed.start("simulator")
        time.sleep(KILL_AFTER_S)
        victim = leaders(stack, TOPIC_READINGS).most_common(1)[0][0]
        began = time.monotonic()
        stack.ctl("kill", f"kafka-{victim}")
        timings["killed_at_s"] = round(began - t0, 1)
        time.sleep(DOWN_S)
        timings["restart_s"] = round(stack.ctl("start", f"kafka-{victim}"), 1)
        timings["down_s"] = round(time.monotonic() - began, 1)
        time.sleep(STEADY_S)  # the stream goes on with the broker back (catching up, out of ISR)
        feed.stop("simulator", timeout_s=40)
        assert feed.wait_for_log("simulator", "event=simulate.done", 10), "the simulator did not finish"
        readings = h.load_readings(out)
        end_ms = max(r["ts"] for r in readings)
        closing = closing_readings(readings, end_ms + (GRACE_S + 1) * 1000)
        h.publish_readings(settings, closing)
        readings = readings + closing
        timings["streamed_s"] = round(time.monotonic() - t0, 1)
        timings["simulated_min"] = round((end_ms - start.timestamp() * 1000) / 60_000, 1)

        want = h.expected_records(plant, readings, ("1m", "15m"), until=end_ms)
        got = h.wait_for_finals(
            lambda: h.final_records_from_kafka(settings, site, since=kpis_from), want, pipe, timeout_s=180
        )
        timings["kafka_finals_s"] = round(time.monotonic() - t0, 1)
        h.assert_records_equal(got, want)
        influx = h.wait_for_finals(
            lambda: h.final_records_from_influx(settings, site), want, pipe, timeout_s=90
        )
        h.assert_records_equal(influx, want, influx=True)
        timings["influx_finals_s"] = round(time.monotonic() - t0, 1)
    finally:
        feed.stop_all()
        pipe.stop_all()

    in_kafka = w.site_values(w.read_topic(settings.kafka_bootstrap, TOPIC_READINGS), site)
    assert readings_from == {p: 0 for p in readings_from}, "the cluster's brain.readings was not empty"
    # the bridge's own readings: `offline` at wall time from the Sparkplug deaths when the
    # simulator disconnects (long after the simulated morning), not the simulator's
    deaths = [r for r in in_kafka if r["ts"] > end_ms + 3_600_000]
    assert {(r["metric"], r["value"]) for r in deaths} <= {("state", "offline")}, deaths[:5]
    cmp = w.compare_readings(readings, [r for r in in_kafka if r["ts"] <= end_ms + 3_600_000])
    assert cmp["missing"] == [], f"{len(cmp['missing'])} readings lost, e.g. {cmp['missing'][:5]}"
    assert cmp["unexpected"] == [], f"readings never published: {cmp['unexpected'][:5]}"
    machine_15m = [k for k in want if k[0] == "machine" and k[3] == "15m"]
    units = {
        "stream": sum(got[k]["pq"] or 0 for k in machine_15m),
        "brain kpi": sum(want[k]["pq"] or 0 for k in machine_15m),
    }
    assert units["stream"] == units["brain kpi"] > 0, units  # a double-counted reading would add units

    # every topic of the cluster (internal ones, the stack's, the processors') has RF 3, min ISR 2,
    # and the restarted broker is back in every ISR
    deadline = time.monotonic() + 60
    while True:
        rep = describe_replication(settings, all_topics(stack))
        lagging = {n: t.under_replicated for n, t in rep.items() if t.under_replicated}
        if not lagging or time.monotonic() > deadline:
            break
        time.sleep(1)
    touched = [TOPIC_READINGS, TOPIC_KPIS, "brain.late", "brain.deadletter", "__consumer_offsets",
               f"{app_id}-partials", *runtime_topics(app_id, partitions, TABLES)]  # fmt: skip
    assert set(touched) <= set(rep), set(touched) - set(rep)
    wrong = {n: (t.replication_factor, t.min_insync_replicas) for n, t in rep.items()
             if (t.replication_factor, t.min_insync_replicas) != (3, 2)}  # fmt: skip
    assert not wrong, f"topics without RF 3 / min ISR 2: {wrong}"
    assert not lagging, f"partitions still under-replicated 60 s after the run: {lagging}"
    assert rep[f"{app_id}-machines-changelog"].cleanup_policy == "compact"
    print(
        f"\n3-broker cluster: kafka-{victim} SIGKILLed {timings}; readings {cmp['published']} published, "
        f"{cmp['distinct_in_kafka']} distinct in Kafka, lost {len(cmp['missing'])}, duplicates in Kafka "
        f"{cmp['duplicates']}; units {units}; {len(want)} final KPI records equal brain kpi "
        "(Kafka and InfluxDB); "
        f"{len(rep)} topics all RF 3 / min ISR 2"
    )
