"""The real servers carry data: MQTT pub/sub, Kafka with both clients, InfluxDB v2 write + Flux read."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import pytest

from brain.settings import KPI_DATABASE, Settings

pytestmark = pytest.mark.stack


def test_mqtt_message_goes_through_mosquitto(stack: Settings, site_id: str) -> None:
    import paho.mqtt.client as mqtt

    topic = f"brain/v1/{site_id}/l1/m1/power_kw"
    got: list[bytes] = []
    arrived = threading.Event()
    subscribed = threading.Event()

    def on_message(_c, _u, msg):
        got.append(msg.payload)
        arrived.set()

    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sub.on_message = on_message
    sub.on_subscribe = lambda *_a: subscribed.set()
    sub.connect(stack.mqtt.host, stack.mqtt.port)
    sub.loop_start()
    try:
        sub.subscribe(topic, qos=1)
        assert subscribed.wait(5), "no SUBACK from Mosquitto"
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        pub.connect(stack.mqtt.host, stack.mqtt.port)
        pub.loop_start()
        pub.publish(topic, b"12.5", qos=1).wait_for_publish(5)
        pub.loop_stop()
        pub.disconnect()
        assert arrived.wait(5), "message did not come back through Mosquitto"
        assert got == [b"12.5"]
    finally:
        sub.loop_stop()
        sub.disconnect()


def test_kafka_python_produce_and_consume(stack: Settings) -> None:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    topic = "brain.readings"
    marker = uuid.uuid4().hex.encode()
    producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    meta = producer.send(topic, key=b"roundtrip", value=marker).get(timeout=30)
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=stack.kafka_bootstrap, enable_auto_commit=False)
    tp = TopicPartition(topic, meta.partition)
    consumer.assign([tp])
    consumer.seek(tp, meta.offset)
    values = []
    deadline = time.monotonic() + 20
    while not values and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            values.extend(r.value for r in records)
    consumer.close()
    assert values and values[0] == marker


def test_aiokafka_produce_and_consume(stack: Settings) -> None:
    """faust's client library against the Kafka 4 broker."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    async def roundtrip() -> bytes:
        producer = AIOKafkaProducer(
            bootstrap_servers=stack.kafka_bootstrap, acks="all", enable_idempotence=True
        )
        await producer.start()
        try:
            meta = await producer.send_and_wait("brain.kpis", key=b"roundtrip", value=marker)
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=stack.kafka_bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            tp = TopicPartition("brain.kpis", meta.partition)
            consumer.assign([tp])
            consumer.seek(tp, meta.offset)
            record = await asyncio.wait_for(consumer.getone(), timeout=20)
            return record.value
        finally:
            await consumer.stop()

    marker = uuid.uuid4().hex.encode()
    assert asyncio.run(roundtrip()) == marker


def test_influxdb_v2_write_and_flux_read(stack: Settings, site_id: str) -> None:
    from influxdb_client import InfluxDBClient, Point
    from influxdb_client.client.write_api import SYNCHRONOUS

    token = stack.influx_token or "brain:unused"  # 1.x with auth off accepts any user:password
    with InfluxDBClient(url=stack.influx_url, token=token, org=stack.influx_org) as client:
        now_ns = time.time_ns()
        point = Point("roundtrip").tag("site", site_id).field("oee", 0.7479).time(now_ns)
        client.write_api(write_options=SYNCHRONOUS).write(bucket=KPI_DATABASE, record=point)
        flux = (
            f'from(bucket: "{KPI_DATABASE}") |> range(start: -1h) '
            f'|> filter(fn: (r) => r._measurement == "roundtrip" and r.site == "{site_id}")'
        )
        tables = client.query_api().query(flux)
    values = [(rec.get_field(), rec.get_value()) for table in tables for rec in table.records]
    assert values == [("oee", 0.7479)]
