"""How many dead letters a site had in a period: read `brain.deadletter` between the offsets of the
period's start and end (Kafka's time index), site as the alert rule `deadletter_rate` decides it
(from the MQTT topic, Sparkplug group or payload: processors/alerts/deadletters.py)."""

from __future__ import annotations

import json
import time
from typing import Any

from brain.settings import TOPIC_DEADLETTER, Settings
from processors.alerts.deadletters import deadletter_site


def count_deadletters(
    settings: Settings,
    site: str,
    start: int,
    end: int,
    *,
    sparkplug: dict[str, Any] | None = None,
    topic: str = TOPIC_DEADLETTER,
    timeout_s: float = 30.0,
) -> int:
    """Dead letters of `site` with a Kafka timestamp in [start, end). Raises KafkaError if Kafka is down."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        group_id=None,
        request_timeout_ms=int(timeout_s * 1000),
        **settings.kafka_kwargs(),
    )
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        if not parts:
            return 0
        consumer.assign(parts)
        begin = consumer.offsets_for_times(dict.fromkeys(parts, start))
        stop = consumer.offsets_for_times(dict.fromkeys(parts, end))
        ends = consumer.end_offsets(parts)
        bounds = {}
        for tp in parts:
            if begin[tp] is None:
                continue
            last = stop[tp].offset if stop[tp] is not None else ends[tp]
            if last > begin[tp].offset:
                bounds[tp] = (begin[tp].offset, last)
                consumer.seek(tp, begin[tp].offset)
        count = 0
        deadline = time.monotonic() + timeout_s
        done: set[Any] = set()
        while len(done) < len(bounds) and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=500).items():
                if tp not in bounds:
                    continue
                for rec in records:
                    if rec.offset >= bounds[tp][1]:
                        done.add(tp)
                        break
                    try:
                        value = json.loads(rec.value)
                    except ValueError:
                        continue
                    if isinstance(value, dict) and deadletter_site(value, sparkplug) == site:
                        count += 1
                if consumer.position(tp) >= bounds[tp][1]:
                    done.add(tp)
        return count
    finally:
        consumer.close()
