"""kafka-python 3's "Task ... is blocking the event loop" warning fires on any network-loop step
over 0.1 s of wall clock — on a loaded 2-core machine a step that was merely descheduled (35 in
two minutes of `brain bench` in the sink's log). The long-running clients raise the threshold to
brain.kafka_admin.SLOW_STEP_WARN_S (1 s)."""

from __future__ import annotations

from brain.kafka_admin import SLOW_STEP_WARN_S
from brain.settings import Settings
from processors.sink.service import Sink, SinkOptions


def test_the_sinks_kafka_clients_warn_only_past_one_second(stack: Settings) -> None:
    sink = Sink(stack, SinkOptions({"brain.kpis": "kpis"}, group="t-slow-step"))
    consumer, producer = sink._make_consumer(), sink._make_producer()
    try:
        for client in (consumer._client, producer._sender._client):
            assert client._net.config["slow_task_threshold_secs"] == SLOW_STEP_WARN_S == 1.0
    finally:
        consumer.close()
        producer.close()
