"""`brain simulate` on the REAL Mosquitto: what arrives parses (ingest) into exactly the JSONL file.

A subscriber on brain/v1/{site}/# and spBv1.0/{site}/# is ready before the simulator starts; the
test's own site id (a plant config made for it) keeps other tests' traffic out.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml

from brain.cli import main
from brain.plant import parse_plant
from brain.settings import Settings
from ingest import SparkplugState, parse_message
from ingest.config import IngestConfig
from ingest.plantconfig import ingest_config
from ingest.simulator import BAD_KINDS, Encoder, Simulation
from ingest.simulator.publish import MqttOut
from ingest.simulator.publish import run as drive
from tests.simulator.plants import plant_data

pytestmark = pytest.mark.stack


class Tap:
    """Collects every message under the test's site, in arrival order."""

    def __init__(self, settings: Settings, site: str) -> None:
        ep = settings.mqtt
        self.messages: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        if ep.username:
            c.username_pw_set(ep.username, ep.password)
        c.on_message = self._on_message
        c.on_subscribe = lambda *a: self.subscribed.set()
        c.connect(ep.host, ep.port)
        c.loop_start()
        c.subscribe([(f"brain/v1/{site}/#", 1), (f"spBv1.0/{site}/#", 1)])
        assert self.subscribed.wait(10), "no SUBACK"
        self.client = c

    def _on_message(self, client, userdata, msg) -> None:
        with self.lock:
            self.messages.append((msg.topic, msg.payload))

    def wait_for(self, n: int, timeout_s: float = 60.0) -> list[tuple[str, bytes]]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= n:
                    break
            time.sleep(0.05)
        time.sleep(0.3)  # anything beyond n would be a bug: give it a chance to show
        with self.lock:
            return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _parse_all(plant, messages):
    cfg = ingest_config(plant, IngestConfig(backfill=True))
    spb = SparkplugState()
    good: Counter = Counter()
    reasons: Counter = Counter()
    deaths = 0
    now = int(time.time() * 1000)
    for topic, payload in messages:
        out = parse_message(topic, payload, now, cfg, spb)
        assert not out.actions, topic  # no rebirth requests
        reasons.update(d.reason for d in out.dead_letters)
        if "DEATH" in topic:  # offline at receive time: not simulated readings
            deaths += 1
            continue
        good.update((r.site, r.line, r.machine, r.metric, r.value, r.ts) for r in out.readings)
    return good, reasons, deaths


def test_cli_publishes_exactly_the_jsonl_readings(stack: Settings, site_id: str, tmp_path: Path) -> None:
    config = tmp_path / "plant.yaml"
    config.write_text(yaml.safe_dump(plant_data(site_id)))
    plant = parse_plant(plant_data(site_id))
    start = int(time.time()) * 1000 - 3_600_000
    out, bad_out = tmp_path / "r.jsonl", tmp_path / "bad.jsonl"
    tap = Tap(stack, site_id)
    try:
        rc = main(
            ["simulate", "--config", str(config), "--mqtt-url", stack.mqtt_url, "--speed", "0",
             "--start", str(start), "--duration", "40m", "--seed", "21", "--form", "mixed",
             "--sparkplug-share", "0.4", "--bad-rate", "0.03", "--out", str(out), "--bad-out", str(bad_out),
             "--period", "counters=10,energy=10,power=10", "--quiet"]
        )  # fmt: skip
        assert rc == 0
        expected_lines = out.read_text().splitlines()
        expected = Counter(tuple(json.loads(x).values()) for x in expected_lines)
        bad = [json.loads(x) for x in bad_out.read_text().splitlines()]
        # upper bound on messages: per-metric form sends one per reading; wait for readings instead
        deadline = time.monotonic() + 60
        while True:
            good, reasons, deaths = _parse_all(plant, tap.wait_for(0, 0.5))
            if (sum(good.values()) >= len(expected_lines) and deaths) or time.monotonic() > deadline:
                break
    finally:
        tap.close()
    assert good == expected
    assert deaths >= 2  # DDEATH per Sparkplug device and NDEATH per node at the clean end
    assert reasons == Counter(b["reason"] for b in bad)
    assert {b["kind"] for b in bad} == set(BAD_KINDS)


def _bench_plant(site: str):
    data = plant_data(site)
    data["sites"][0]["lines"].append(
        {"id": "big", "machines": [{"id": f"m{i:02d}", "ideal_cycle_s": 10} for i in range(40)]}
    )
    return parse_plant(data)


@pytest.mark.bench
def test_throughput_batch_form(stack: Settings, site_id: str) -> None:
    """>= 20,000 readings/s to the local Mosquitto from one process, batch form, QoS 1 (acked)."""
    plant = _bench_plant(site_id)
    start = int(time.time()) * 1000 - 2 * 3_600_000
    sim = Simulation(plant, seed=1, start=start, end=start + 3_600_000)
    enc = Encoder(sim.keys, sim.machines, form="batch", rng=sim.rng("forms"), start=start)
    out = MqttOut(stack.mqtt_url, f"sim-bench-{site_id}")
    out.connect()
    try:
        stats = drive(sim, encoder=enc, mqtt=out, speed=0)
    finally:
        out.close()
    rate = stats.readings_per_s
    msgs = stats.messages / stats.elapsed_s
    print(
        f"\nsimulate: {stats.readings:,} readings in {stats.elapsed_s:.2f} s: "
        f"{rate:,.0f} readings/s, {msgs:,.0f} msg/s"
    )
    assert stats.unacked == 0
    assert rate >= 20_000
