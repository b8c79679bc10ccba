"""Raw limits of the servers alone, measured by `brain bench` in the same run, same message sizes.

- Mosquitto: one paho publisher (QoS 1, the simulator's in-flight window) -> one paho subscriber
  (QoS 1) in a child process, on a topic outside `brain/v1/` (the bridge never sees it).
- Kafka: the bridge's producer (librdkafka, acks=all, idempotent, linger 5 ms, one `send` per
  record) -> one kafka-python consumer in a child process, on a fresh topic with the partition
  count of brain.readings.

Throughput = messages received / (last receive - first send), both clocks `time.time()`.
The child (`python -m brain.bench.baselines mqtt|kafka ...`) prints `ready`, counts what arrives,
reads the number sent from stdin and prints one JSON line when it has them all (or times out).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from brain.settings import Settings, parse_mqtt_url


def _child(args: list[str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "brain.bench.baselines", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if line != "ready":
        proc.kill()
        raise RuntimeError(f"baseline receiver did not start: {line!r}")
    return proc


def _finish(proc: subprocess.Popen[str], sent: int, first_send: float, timeout_s: float) -> dict[str, Any]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(f"{sent}\n")
    proc.stdin.flush()
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    got = json.loads(out.strip().splitlines()[-1]) if out.strip() else {"received": 0, "last": first_send}
    span = max(got["last"] - first_send, 1e-9)
    return {
        "sent": sent,
        "received": got["received"],
        "seconds": round(span, 3),
        "msgs_per_s": round(got["received"] / span),
    }


def mqtt_limit(settings: Settings, topic: str, payloads: Sequence[bytes], seconds: float) -> dict[str, Any]:
    """Publish `payloads` round-robin as fast as the broker acks for `seconds`; a child receives."""
    from ingest.simulator.publish import MqttOut

    proc = _child(["mqtt", settings.mqtt_url, topic])
    # 2,000 unacked at most (1,000 in flight): enough to keep the broker busy, short to drain
    out = MqttOut(settings.mqtt_url, f"brain-bench-pub-{time.time_ns() % 10**9}", max_pending=2000)
    out.connect()
    sent, n = 0, len(payloads)
    first = time.time()
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            for _ in range(200):
                out.publish(None, topic, payloads[sent % n])
                sent += 1
    finally:
        out.close(30.0)
    return _finish(proc, sent, first, 60.0 + seconds)


def kafka_limit(
    settings: Settings, topic: str, records: Sequence[tuple[bytes, bytes]], seconds: float
) -> dict[str, Any]:
    """Produce `records` (key, value) round-robin for `seconds` with the bridge's producer; a child
    consumes."""
    from kafka.errors import KafkaTimeoutError

    from ingest.kafka_producer import RdKafkaProducer

    proc = _child(["kafka", settings.kafka_bootstrap, topic])
    producer = RdKafkaProducer(settings, "brain-bench-kafka-alone")
    sent, n = 0, len(records)
    first = time.time()
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            for _ in range(200):
                key, value = records[sent % n]
                try:
                    producer.send(topic, value=value, key=key)
                except KafkaTimeoutError:  # its queue is full: let Kafka catch up
                    producer.flush(1.0)
                    continue
                sent += 1
            producer.poll()
        producer.flush(60)
    finally:
        producer.close(10)
    return _finish(proc, sent, first, 60.0 + seconds)


# ---- the receiving child ---------------------------------------------------------------------------


def _receive(start: Callable[[Callable[[int], None]], Callable[[], None]]) -> None:
    lock = threading.Lock()
    state = {"received": 0, "last": 0.0}
    done = threading.Event()
    expected: list[int] = []

    def count(k: int) -> None:
        with lock:
            state["received"] += k
            state["last"] = time.time()
            if expected and state["received"] >= expected[0]:
                done.set()

    stop = start(count)
    print("ready", flush=True)
    expected.append(int(sys.stdin.readline()))
    with lock:
        if state["received"] >= expected[0]:
            done.set()
    done.wait(60)
    stop()
    print(json.dumps(state), flush=True)


def _mqtt_receiver(url: str, topic: str) -> Callable[[Callable[[int], None]], Callable[[], None]]:
    def start(count: Callable[[int], None]) -> Callable[[], None]:
        import paho.mqtt.client as mqtt

        endpoint = parse_mqtt_url(url)
        subscribed = threading.Event()
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"brain-bench-sub-{time.time_ns() % 10**9}",
            protocol=mqtt.MQTTv5,
        )
        endpoint.apply(client)
        client.on_connect = lambda c, *a: c.subscribe(topic, qos=1)
        client.on_subscribe = lambda *a: subscribed.set()
        client.on_message = lambda *a: count(1)
        client.connect(endpoint.host, endpoint.port, keepalive=30, clean_start=True)
        client.loop_start()
        if not subscribed.wait(10):
            raise RuntimeError("no SUBACK")

        def stop() -> None:
            client.disconnect()
            client.loop_stop()

        return stop

    return start


def _kafka_receiver(bootstrap: str, topic: str) -> Callable[[Callable[[int], None]], Callable[[], None]]:
    def start(count: Callable[[int], None]) -> Callable[[], None]:
        from kafka import KafkaConsumer, TopicPartition

        settings = Settings.from_env()
        consumer = KafkaConsumer(
            bootstrap_servers=bootstrap.split(","),
            enable_auto_commit=False,
            group_id=None,
            **settings.kafka_kwargs(),
        )
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        for tp in parts:
            consumer.position(tp)
        halt = threading.Event()

        def loop() -> None:
            while not halt.is_set():
                got = consumer.poll(timeout_ms=200, max_records=5000)
                n = sum(len(v) for v in got.values())
                if n:
                    count(n)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()

        def stop() -> None:
            halt.set()
            thread.join(5)
            consumer.close()

        return stop

    return start


def main(argv: list[str]) -> int:
    kind, where, topic = argv
    _receive(_mqtt_receiver(where, topic) if kind == "mqtt" else _kafka_receiver(where, topic))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
