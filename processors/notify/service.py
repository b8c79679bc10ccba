"""`brain notify`: one consumer of `brain.alerts` doing MQTT (retained while firing) and webhooks.

For each event, in order: publish it on MQTT (waits for the PUBACK), then deliver it to every
receiver a route selects (retries with backoff, per-receiver rate limit); a delivery that still
fails goes to `brain.deadletter` (reason `notify.failed`, `notify.rate_limited` or
`notify.secret_missing`, with the receiver's name, never its URL). Kafka offsets are committed
only after all that: at least once. An event seen again (same id, state, started and
notification: a redelivery) is not sent again by this process.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson

from brain import logs
from brain import settings as _s
from brain.kafka_admin import kafka_python_client
from brain.settings import Settings
from brain.vocabulary import ALERT_STATES
from processors.notify.config import NotifyConfig
from processors.notify.delivery import Deliverer

log = logging.getLogger("brain.notify")
SEEN_MAX = 10_000


@dataclass(frozen=True, slots=True)
class NotifyOptions:
    topic: str = _s.TOPIC_ALERTS
    deadletter_topic: str = _s.TOPIC_DEADLETTER
    group: str = "brain-notify"
    offset_reset: str = "latest"


def dead_letter(event_bytes: bytes, topic: str, reason: str, detail: str, receiver: str) -> bytes:
    return orjson.dumps({
        "topic": topic, "payload": base64.b64encode(event_bytes).decode("ascii"), "reason": reason,
        "detail": detail, "received_ts": int(time.time() * 1000), "source": "notify", "receiver": receiver,
    })  # fmt: skip


class Notifier:
    def __init__(
        self,
        config: NotifyConfig,
        settings: Settings,
        opts: NotifyOptions | None = None,
        *,
        deliverer: Deliverer | None = None,
        publisher: Any = None,
    ) -> None:
        self.config, self.settings, self.opts = config, settings, opts or NotifyOptions()
        self.deliverer = deliverer or Deliverer()
        self.publisher = publisher
        self.producer: Any = None
        self.seen: OrderedDict[tuple, None] = OrderedDict()
        self.counts = {"events": 0, "mqtt": 0, "sent": 0, "dead": 0, "bad": 0, "dupes": 0}

    def handle(self, value: bytes | None) -> None:
        try:
            event = orjson.loads(value or b"null")
        except orjson.JSONDecodeError:
            event = None
        if not isinstance(event, dict) or not event.get("id") or event.get("state") not in ALERT_STATES:
            self.counts["bad"] += 1
            logs.event(log, "notify.bad_event", logging.WARNING)
            return
        key = (event["id"], event["state"], event.get("started"), event.get("notification"))
        if key in self.seen:
            self.counts["dupes"] += 1
            return
        self.counts["events"] += 1
        if self.publisher is not None:
            self.publisher.publish(event)
            self.counts["mqtt"] += 1
        for receiver in self.config.targets(event):
            outcome = self.deliverer.deliver(receiver, event)
            if outcome.ok:
                self.counts["sent"] += 1
                continue
            self.counts["dead"] += 1
            record = dead_letter(value or b"", self.opts.topic, outcome.reason, outcome.detail, receiver.name)
            self.producer.send(self.opts.deadletter_topic, key=event["id"].encode(), value=record).get(30)
            logs.event(log, "notify.deadletter", logging.ERROR, receiver=receiver.name, reason=outcome.reason)
        self.seen[key] = None
        while len(self.seen) > SEEN_MAX:
            self.seen.popitem(last=False)

    def run(self, stop: threading.Event) -> None:
        from kafka import KafkaConsumer, KafkaProducer
        from kafka.errors import KafkaError

        from processors.notify.mqtt import MqttPublisher

        mqtt_cfg = self.config.mqtt
        if self.publisher is None and mqtt_cfg.enabled:
            self.publisher = MqttPublisher(
                self.settings.mqtt, mqtt_cfg.client_id, mqtt_cfg.qos, mqtt_cfg.prefix
            )
        self.producer = KafkaProducer(
            kafka_client=kafka_python_client(),
            bootstrap_servers=self.settings.kafka_bootstrap,
            **self.settings.kafka_kwargs(),
        )
        consumer = KafkaConsumer(
            self.opts.topic,
            kafka_client=kafka_python_client(),
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=self.opts.group,
            enable_auto_commit=False,
            auto_offset_reset=self.opts.offset_reset,
            **self.settings.kafka_kwargs(),
        )
        logs.event(log, "notify.start", topic=self.opts.topic, group=self.opts.group,
                   receivers=",".join(self.config.receivers), mqtt=mqtt_cfg.enabled)  # fmt: skip
        try:
            while not stop.is_set():
                try:
                    batches = consumer.poll(timeout_ms=500, max_records=100)
                except KafkaError as exc:  # Kafka down or restarting: wait and poll again
                    logs.event(log, "notify.kafka_unavailable", logging.WARNING, error=repr(exc)[:200])
                    stop.wait(1.0)
                    continue
                for records in batches.values():
                    for record in records:
                        self.handle(record.value)
                if batches:
                    try:
                        consumer.commit()
                    except KafkaError as exc:  # delivered already; the duplicate filter covers a re-read
                        logs.event(log, "notify.commit_failed", logging.WARNING, error=repr(exc)[:200])
        finally:
            consumer.close()
            self.producer.close()
            if self.publisher is not None and hasattr(self.publisher, "close"):
                self.publisher.close()
