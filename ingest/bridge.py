"""The MQTT -> Kafka bridge: the only ingest module that does I/O.

Delivery guarantee: at least once. A QoS 1 message is acknowledged (PUBACK, paho manual_ack)
only after Kafka (acks=all, idempotent producer) confirmed every record made from it — its
readings on `brain.readings` and its dead letters on `brain.deadletter` — and only in arrival
order, as MQTT requires. Anything not acknowledged is redelivered by the broker: the session is
persistent (clean_start=False plus a session expiry interval), so messages published while the
bridge is down or disconnected wait for it. Duplicates are possible (a crash after Kafka stored
but before PUBACK); every downstream step is idempotent.

Backpressure: MQTT 5 Receive Maximum caps the QoS 1 messages the broker sends before our acks,
so when Kafka is down the bridge stops acking, holds at most that many messages and their
records, and the broker keeps the rest. QoS 0 messages (not covered by Receive Maximum) are
dropped when the inbound queue is full, and counted.

Threads: paho's network thread only enqueues messages and connection events; one worker thread
(`Bridge.run`) parses, sends, collects Kafka results (the producer's callbacks, served by its
`poll()` in this thread, enqueue them) and acks. Parsing is `ingest.parse.parse_message` (pure);
the producer is librdkafka's (`ingest/kafka_producer.py`).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from brain import logs
from brain.settings import TOPIC_DEADLETTER, TOPIC_READINGS, Settings
from ingest.config import IngestConfig
from ingest.metrics import BridgeCounters, serve_metrics
from ingest.parse import parse_message
from ingest.sparkplug.state import SparkplugState

log = logging.getLogger("brain.bridge")

V1_FILTER = "brain/v1/#"
SPARKPLUG_FILTER = "spBv1.0/#"


@dataclass(frozen=True, slots=True)
class BridgeOptions:
    client_id: str = "brain-bridge"
    shared_group: str | None = None  # MQTT 5 shared subscription $share/{group}/brain/v1/#
    sparkplug: bool = True  # subscribe spBv1.0/# (never shared: one bridge must see a node's BIRTH)
    # narrower topic filters than brain/v1/# and spBv1.0/# (tests, or a bridge per site)
    v1_filters: tuple[str, ...] = (V1_FILTER,)
    sparkplug_filters: tuple[str, ...] = (SPARKPLUG_FILTER,)
    session_expiry_s: int = 86_400  # how long the broker keeps our session (and queues) while we are away
    receive_maximum: int = 1000  # MQTT 5: QoS 1 messages in flight to us, i.e. unacked messages we hold
    keepalive_s: int = 30
    reconnect_min_s: int = 1
    reconnect_max_s: int = 30
    status_interval_s: float = 10.0
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None  # serve Prometheus /metrics when set (0: any free port)
    readings_topic: str = TOPIC_READINGS
    deadletter_topic: str = TOPIC_DEADLETTER
    max_qos0_queue: int = 10_000
    kafka_linger_ms: int = 5
    kafka_backoff_max_s: float = 10.0


@dataclass(slots=True)
class _Pending:
    """One MQTT message between arrival and PUBACK."""

    mid: int
    qos: int
    generation: int  # MQTT connection it arrived on: acks for an older connection are void
    outstanding: int = 0  # records sent or waiting to be sent, not yet confirmed


@dataclass(slots=True)
class _Record:
    entry: _Pending
    topic: str
    key: bytes | None
    value: bytes
    is_reading: bool
    reason: str | None = None
    sent_at: float = 0.0
    no: int = 0  # creation order: failed records go back into the queue in this order


class Bridge:
    """MQTT (paho 2, MQTT 5) -> Kafka (confluent-kafka). Build, then `run(stop)` in a thread."""

    def __init__(
        self,
        settings: Settings,
        config: IngestConfig | None = None,
        options: BridgeOptions | None = None,
        *,
        producer_factory: Callable[[], Any] | None = None,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self.settings = settings
        self.config = config or IngestConfig()
        self.options = options or BridgeOptions()
        self.counters = BridgeCounters()
        self.sparkplug = SparkplugState()
        self.subscribed = threading.Event()  # set once subscriptions are granted (tests wait on it)
        self._producer_factory = producer_factory or self._make_producer
        self._now_ms = clock or (lambda: time.time_ns() // 1_000_000)
        self._inbound: queue.Queue[tuple[Any, int]] = queue.Queue()
        self._results: queue.SimpleQueue[tuple[_Record, Exception | None]] = queue.SimpleQueue()
        self._pending: deque[_Pending] = deque()
        self._unsent: deque[_Record] = deque()
        self._generation = 0
        self._producer: Any = None
        self._kafka_retry_at = 0.0
        self._kafka_backoff = 0.0
        self._kafka_warned_at = 0.0
        self._record_no = 0
        self._client: Any = None
        self._metrics_server: Any = None

    # ---- MQTT side (paho's thread) -------------------------------------------------------------

    def _make_client(self) -> Any:
        import paho.mqtt.client as mqtt
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        o = self.options
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=o.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
            reconnect_on_failure=True,
        )
        endpoint = self.settings.mqtt
        endpoint.apply(client)  # credentials and TLS (CA, client cert) from the settings
        client.reconnect_delay_set(o.reconnect_min_s, o.reconnect_max_s)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = o.session_expiry_s
        props.ReceiveMaximum = max(1, min(o.receive_maximum, 65535))
        client.connect_async(
            endpoint.host, endpoint.port, keepalive=o.keepalive_s, clean_start=False, properties=props
        )
        return client

    def _filters(self) -> list[str]:
        o = self.options
        v1 = [f"$share/{o.shared_group}/{f}" if o.shared_group else f for f in o.v1_filters]
        return v1 + list(o.sparkplug_filters) if o.sparkplug else v1

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            logs.event(log, "bridge.mqtt_refused", logging.WARNING, reason=str(reason_code))
            return
        from paho.mqtt.subscribeoptions import SubscribeOptions

        self._generation += 1
        self.counters.mqtt_connects += 1
        self.counters.mqtt_connected = 1
        session = getattr(flags, "session_present", None)
        logs.event(log, "bridge.mqtt_connected", url=self.settings.mqtt_url, session_present=session)
        subs = []
        for f in self._filters():
            # no_local: do not receive our own rebirth requests (not allowed on shared subscriptions)
            subs.append((f, SubscribeOptions(qos=1, noLocal=not f.startswith("$share/"))))
        client.subscribe(subs)

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, reason_codes: Any, properties: Any) -> None:
        bad = [str(rc) for rc in reason_codes if rc.is_failure]
        if bad:
            logs.event(log, "bridge.subscribe_failed", logging.ERROR, filters=self._filters(), reasons=bad)
            return
        logs.event(log, "bridge.subscribed", filters=",".join(self._filters()))
        self.subscribed.set()

    def _on_disconnect(
        self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        self._generation += 1  # unacked messages of that connection will be redelivered
        self.counters.mqtt_disconnects += 1
        self.counters.mqtt_connected = 0
        logs.event(log, "bridge.mqtt_disconnected", logging.WARNING, reason=str(reason_code))

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        if msg.qos == 0 and self._inbound.qsize() >= self.options.max_qos0_queue:
            self.counters.dropped_qos0 += 1
            return
        self._inbound.put((msg, self._generation))

    # ---- Kafka side ------------------------------------------------------------------------------

    def _make_producer(self) -> Any:
        from ingest.kafka_producer import RdKafkaProducer

        o = self.options
        return RdKafkaProducer(self.settings, f"{o.client_id}-producer", linger_ms=o.kafka_linger_ms)

    def _kafka_failed(self, exc: BaseException, *, fatal: bool = False) -> None:
        self.counters.kafka_errors += 1
        self.counters.kafka_up = 0
        self._kafka_backoff = min(max(0.25, self._kafka_backoff * 2), self.options.kafka_backoff_max_s)
        self._kafka_retry_at = time.monotonic() + self._kafka_backoff
        now = time.monotonic()
        if self._kafka_backoff >= 1 and now - self._kafka_warned_at >= 5:
            self._kafka_warned_at = now
            logs.event(
                log, "bridge.kafka_unavailable", logging.WARNING,
                error=f"{type(exc).__name__}: {exc}", retry_in_s=round(self._kafka_backoff, 2),
                unsent=len(self._unsent), inflight=len(self._pending),
            )  # fmt: skip
        if fatal and self._producer is not None:
            producer, self._producer = self._producer, None
            with contextlib.suppress(Exception):  # a broken producer may fail to close: replace it
                producer.close(timeout=0)

    def _ensure_producer(self) -> bool:
        if self._producer is None and time.monotonic() >= self._kafka_retry_at:
            try:
                self._producer = self._producer_factory()
            except Exception as exc:  # NoBrokersAvailable and friends: retry later
                self._kafka_failed(exc)
                return False
            self.counters.kafka_up = 1
            logs.event(log, "bridge.kafka_connected", bootstrap=self.settings.kafka_bootstrap)
        return self._producer is not None

    def _send_unsent(self) -> None:
        """Hand waiting records to the producer, in order, until one cannot be sent."""
        from kafka.errors import KafkaTimeoutError

        while self._unsent and time.monotonic() >= self._kafka_retry_at:
            if not self._ensure_producer():
                return
            record = self._unsent[0]
            record.sent_at = time.monotonic()
            try:
                future = self._producer.send(record.topic, value=record.value, key=record.key)
            except KafkaTimeoutError as exc:  # no metadata / buffer full: Kafka is away
                self._kafka_failed(exc)
                return
            except Exception as exc:  # a producer in a fatal state: build a new one
                self._kafka_failed(exc, fatal=True)
                return
            self._unsent.popleft()
            if record.is_reading:
                self.counters.readings_sent += 1
            future.add_callback(self._delivered, record)
            future.add_errback(self._undelivered, record)

    def _delivered(self, record: _Record, _metadata: Any) -> None:  # the producer's thread
        self._results.put((record, None))

    def _undelivered(self, record: _Record, exc: Exception) -> None:  # the producer's thread
        self._results.put((record, exc))

    def _collect_results(self) -> None:
        c = self.counters
        now = time.monotonic()
        failed: list[_Record] = []
        while True:
            try:
                record, exc = self._results.get_nowait()
            except queue.Empty:
                break
            if exc is not None:  # delivery failed after the producer's own retries: send it again
                failed.append(record)
                self._kafka_failed(exc)
                continue
            latency = (now - record.sent_at) * 1000
            c.kafka_latency_ms_sum += latency
            c.kafka_latency_count += 1
            c.kafka_latency_ms_max = max(c.kafka_latency_ms_max, latency)
            c.kafka_up = 1
            self._kafka_backoff = 0.0
            if record.is_reading:
                c.readings_out += 1
            else:
                c.dead_letters_out += 1
                c.dead_letter_reasons[record.reason or "?"] += 1
            record.entry.outstanding -= 1
        if failed:  # ahead of everything not yet sent, in their original order
            failed.sort(key=lambda r: r.no)
            self._unsent.extendleft(reversed(failed))

    def _ack_ready(self) -> None:
        """PUBACK, in arrival order, every message whose records Kafka confirmed."""
        pending = self._pending
        while pending and pending[0].outstanding == 0:
            entry = pending.popleft()
            if entry.qos > 0 and entry.generation == self._generation and self._client is not None:
                self._client.ack(entry.mid, entry.qos)
                self.counters.messages_acked += 1

    # ---- the worker ------------------------------------------------------------------------------

    def _handle(self, msg: Any, generation: int) -> None:
        c = self.counters
        c.messages_in += 1
        entry = _Pending(msg.mid, msg.qos, generation)
        out = parse_message(msg.topic, msg.payload, self._now_ms(), self.config, self.sparkplug)
        o, unsent = self.options, self._unsent
        no = self._record_no
        for reading in out.readings:
            no += 1
            value = orjson.dumps(reading.to_dict())
            unsent.append(_Record(entry, o.readings_topic, reading.key.encode(), value, True, None, 0.0, no))
        key = msg.topic.encode()
        for dl in out.dead_letters:
            no += 1
            unsent.append(
                _Record(entry, o.deadletter_topic, key, dl.to_json(), False, dl.reason.value, 0.0, no)
            )
        entry.outstanding = no - self._record_no
        self._record_no = no
        if out.ignored is not None:
            c.messages_ignored += 1
        for action in out.actions:
            if self._client is not None:
                self._client.publish(action.topic, action.payload, qos=action.qos, retain=action.retain)
                c.rebirth_requests += action.why == "rebirth"
                logs.event(log, "bridge.publish", topic=action.topic, why=action.why)
        self._pending.append(entry)

    def _status(self, started: float, last: dict[str, float]) -> None:
        c = self.counters
        c.sparkplug = dict(self.sparkplug.counters)
        lat_n = c.kafka_latency_count - last.get("lat_n", 0)
        lat_sum = c.kafka_latency_ms_sum - last.get("lat_sum", 0.0)
        logs.event(
            log, "bridge.status",
            messages_in=c.messages_in, acked=c.messages_acked, readings_out=c.readings_out,
            dead_letters=c.dead_letters_out, ignored=c.messages_ignored, inflight=c.inflight,
            unsent=c.unsent, kafka_latency_ms_avg=round(lat_sum / lat_n, 1) if lat_n else "-",
            kafka_latency_ms_max=round(c.kafka_latency_ms_max, 1), kafka_errors=c.kafka_errors,
            mqtt=("up" if c.mqtt_connected else "down"), kafka=("up" if c.kafka_up else "down"),
            rebirths=c.rebirth_requests, dropped_qos0=c.dropped_qos0,
            uptime_s=int(time.monotonic() - started),
        )  # fmt: skip
        last["lat_n"], last["lat_sum"] = c.kafka_latency_count, c.kafka_latency_ms_sum
        c.kafka_latency_ms_max = 0.0

    def run(self, stop: threading.Event) -> None:
        """Bridge until `stop` is set; then flush Kafka, ack what it confirmed, disconnect."""
        o = self.options
        if o.metrics_port is not None:
            self._metrics_server = serve_metrics(self.counters, o.metrics_host, o.metrics_port)
            port = self._metrics_server.server_address[1]
            logs.event(log, "bridge.metrics", url=f"http://{o.metrics_host}:{port}/metrics")
        self._client = self._make_client()
        self._client.loop_start()
        logs.event(
            log, "bridge.started", mqtt=self.settings.mqtt_url, kafka=self.settings.kafka_bootstrap,
            client_id=o.client_id, filters=",".join(self._filters()), receive_maximum=o.receive_maximum,
        )  # fmt: skip
        started = next_status = time.monotonic()
        last: dict[str, float] = {}
        try:
            while not stop.is_set():
                self._step(block_s=0.02)
                if time.monotonic() >= next_status:
                    if next_status != started:
                        self._status(started, last)
                    next_status += o.status_interval_s
        finally:
            self._shutdown(started, last)

    def _step(self, block_s: float) -> None:
        """One worker iteration: take messages, send, collect Kafka results, ack."""
        busy = bool(self._unsent) and time.monotonic() >= self._kafka_retry_at
        try:
            msg, generation = self._inbound.get(timeout=0 if busy else block_s)
            self._handle(msg, generation)
            for _ in range(999):  # take what is there, then go send and ack
                msg, generation = self._inbound.get_nowait()
                self._handle(msg, generation)
        except queue.Empty:
            pass
        self._ensure_producer()
        self._send_unsent()
        if self._producer is not None and hasattr(self._producer, "poll"):
            self._producer.poll()  # librdkafka: delivery reports are served here (kafka_producer.py)
        self._collect_results()
        self._ack_ready()
        self.counters.inflight = len(self._pending)
        self.counters.unsent = len(self._unsent)

    def _shutdown(self, started: float, last: dict[str, float]) -> None:
        deadline = time.monotonic() + 10
        if self._producer is not None:
            while self._pending and time.monotonic() < deadline and self._producer is not None:
                self._send_unsent()
                self._producer.flush(timeout=1)
                self._collect_results()
                self._ack_ready()
                if self._unsent:
                    time.sleep(0.1)
        self.counters.inflight = len(self._pending)
        self.counters.unsent = len(self._unsent)
        self._status(started, last)
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
        if self._producer is not None:
            self._producer.close(timeout=5)
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
        logs.event(log, "bridge.stopped", unacked=len(self._pending))
