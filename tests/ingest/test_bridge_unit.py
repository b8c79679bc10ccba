"""Bridge bookkeeping without servers: acks only after Kafka confirmed, in arrival order, never for
an older connection; failed deliveries are sent again. Fakes stand in for paho and kafka-python."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace

import orjson
from kafka.errors import KafkaTimeoutError

from brain.settings import Settings
from ingest.bridge import Bridge, BridgeOptions
from ingest.metrics import prometheus_text

NOW = 1_795_000_000_000


class FakeFuture:
    def __init__(self) -> None:
        self.callbacks: list = []
        self.errbacks: list = []

    def add_callback(self, fn, *args):
        self.callbacks.append((fn, args))

    def add_errback(self, fn, *args):
        self.errbacks.append((fn, args))

    def succeed(self):
        for fn, args in self.callbacks:
            fn(*args, "metadata")

    def fail(self, exc):
        for fn, args in self.errbacks:
            fn(*args, exc)


@dataclass
class FakeProducer:
    sent: list = field(default_factory=list)  # (topic, key, value, future)
    down: bool = False

    def send(self, topic, value=None, key=None):
        if self.down:
            raise KafkaTimeoutError("no metadata")
        future = FakeFuture()
        self.sent.append((topic, key, value, future))
        return future

    def flush(self, timeout=None):
        pass

    def close(self, timeout=None):
        pass


@dataclass
class FakeClient:
    acks: list = field(default_factory=list)
    published: list = field(default_factory=list)

    def ack(self, mid, qos):
        self.acks.append(mid)

    def publish(self, topic, payload, qos=0, retain=False):
        self.published.append(topic)


@dataclass
class Msg:
    topic: str
    payload: bytes
    mid: int
    qos: int = 1


def make():
    producer = FakeProducer()
    bridge = Bridge(Settings(), options=BridgeOptions(), producer_factory=lambda: producer, clock=lambda: NOW)
    bridge._client = FakeClient()
    return bridge, producer


def feed(bridge, *msgs):
    for m in msgs:
        bridge._on_message(None, None, m)
    bridge._step(block_s=0)


def test_acks_wait_for_kafka_and_keep_arrival_order():
    bridge, producer = make()
    feed(
        bridge,
        Msg("brain/v1/s/l/m", b'{"metrics": {"power_kw": 1, "energy_kwh": 2}}', 1),
        Msg("brain/v1/s/l/m/power_kw", b"NaN", 2),  # a dead letter
        Msg("brain/v1/alerts/s/l/m/r", b"{}", 3),  # ignored: nothing to wait for
        Msg("brain/v1/s/l/m/power_kw", b"3", 4),
    )
    assert [(t, k) for t, k, _, _ in producer.sent] == [
        ("brain.readings", b"s/l/m"),
        ("brain.readings", b"s/l/m"),
        ("brain.deadletter", b"brain/v1/s/l/m/power_kw"),
        ("brain.readings", b"s/l/m"),
    ]
    assert orjson.loads(producer.sent[0][2])["metric"] == "power_kw"
    assert orjson.loads(producer.sent[2][2])["reason"] == "value.not_finite"
    futures = [f for *_, f in producer.sent]
    futures[3].succeed()
    futures[2].succeed()
    futures[0].succeed()
    bridge._step(block_s=0)
    assert bridge._client.acks == []  # message 1 still has one record unconfirmed
    futures[1].succeed()
    bridge._step(block_s=0)
    assert bridge._client.acks == [1, 2, 3, 4]
    c = bridge.counters
    assert (c.messages_in, c.messages_acked, c.readings_out, c.dead_letters_out, c.inflight) == (
        4,
        4,
        3,
        1,
        0,
    )
    assert 'brain_bridge_dead_letters_total{reason="value.not_finite"} 1' in prometheus_text(c)


def test_failed_delivery_is_sent_again_and_only_then_acked():
    bridge, producer = make()
    feed(bridge, Msg("brain/v1/s/l/m/power_kw", b"1", 7))
    producer.sent[0][3].fail(RuntimeError("delivery timed out"))
    bridge._step(block_s=0)
    assert bridge._client.acks == [] and bridge.counters.kafka_errors == 1
    bridge._kafka_retry_at = 0  # skip the backoff
    bridge._step(block_s=0)
    assert len(producer.sent) == 2 and producer.sent[1][:3] == producer.sent[0][:3]
    producer.sent[1][3].succeed()
    bridge._step(block_s=0)
    assert bridge._client.acks == [7]


def test_kafka_away_holds_records_and_acks():
    bridge, producer = make()
    producer.down = True
    feed(bridge, Msg("brain/v1/s/l/m/power_kw", b"1", 1), Msg("brain/v1/s/l/m/power_kw", b"2", 2))
    assert producer.sent == [] and bridge.counters.unsent == 2 and bridge.counters.inflight == 2
    assert bridge.counters.kafka_up == 0
    producer.down = False
    bridge._kafka_retry_at = 0
    bridge._step(block_s=0)
    for *_, f in producer.sent:
        f.succeed()
    bridge._step(block_s=0)
    assert bridge._client.acks == [1, 2]


def test_no_ack_for_a_previous_connection():
    bridge, producer = make()
    feed(bridge, Msg("brain/v1/s/l/m/power_kw", b"1", 5))
    bridge._generation += 1  # reconnected: the broker will redeliver message 5
    producer.sent[0][3].succeed()
    bridge._step(block_s=0)
    assert bridge._client.acks == [] and bridge.counters.inflight == 0


def test_qos0_messages_are_not_acked_and_overflow_is_dropped():
    bridge, producer = make()
    bridge.options = replace(bridge.options, max_qos0_queue=1)
    bridge._on_message(None, None, Msg("brain/v1/s/l/m/power_kw", b"1", 0, qos=0))
    bridge._on_message(None, None, Msg("brain/v1/s/l/m/power_kw", b"2", 0, qos=0))
    bridge._step(block_s=0)
    producer.sent[0][3].succeed()
    bridge._step(block_s=0)
    assert (
        bridge._client.acks == [] and bridge.counters.dropped_qos0 == 1 and bridge.counters.readings_out == 1
    )


def test_sparkplug_rebirth_request_is_published():
    bridge, _ = make()
    from tests.ingest import spb

    feed(bridge, Msg("spBv1.0/G/NDATA/E", spb.payload([spb.metric(alias=1, value=1.0)], seq=3), 1))
    assert bridge._client.published == ["spBv1.0/G/NCMD/E"]
    assert bridge.counters.rebirth_requests == 1


def test_run_stops_cleanly_without_servers(monkeypatch):
    bridge, _ = make()
    client = bridge._client

    class Loop(FakeClient):
        def loop_start(self):
            pass

        def loop_stop(self):
            pass

        def disconnect(self):
            pass

    monkeypatch.setattr(bridge, "_make_client", lambda: Loop())
    stop = threading.Event()
    thread = threading.Thread(target=bridge.run, args=(stop,))
    thread.start()
    time.sleep(0.1)
    stop.set()
    thread.join(5)
    assert not thread.is_alive() and client is not None


def test_failed_records_are_resent_in_their_original_order():
    bridge, producer = make()
    feed(bridge, *(Msg("brain/v1/s/l/m/count_total", b"%d" % i, i + 1) for i in range(4)))
    futures = [f for *_, f in producer.sent]
    for f in reversed(futures[:3]):  # failures reported in reverse order
        f.fail(RuntimeError("broker went away"))
    futures[3].succeed()
    bridge._step(block_s=0)
    assert [orjson.loads(r.value)["value"] for r in bridge._unsent] == [0, 1, 2]
    bridge._kafka_retry_at = 0
    bridge._step(block_s=0)
    for *_, f in producer.sent[4:]:
        f.succeed()
    bridge._step(block_s=0)
    assert bridge._client.acks == [1, 2, 3, 4]
