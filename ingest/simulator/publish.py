"""The simulator's I/O: MQTT sessions (paho-mqtt 2, MQTT 5, QoS 1), files, pacing, progress.

`run(...)` drives a Simulation: each sample goes to the JSON Lines file (if any), is encoded to
MQTT messages (if publishing), and may be followed by a bad message. `--speed N` paces simulated
time at N x real time; 0 means as fast as the broker acknowledges. Stopping (Ctrl-C, SIGTERM, the
`stop` event) ends the loop between samples: Sparkplug DEATHs are sent, QoS 1 acks awaited,
sessions disconnected and files flushed, in that order.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, BinaryIO, TextIO

from brain import logs
from brain.settings import Settings, parse_mqtt_url
from ingest.simulator.bad import BadMaker
from ingest.simulator.encode import Encoder
from ingest.simulator.plan import JsonlWriter, Simulation

log = logging.getLogger("brain.simulate")


class PublishError(RuntimeError):
    """The broker could not be reached or refused us."""


class MqttOut:
    """One MQTT 5 session for the JSON messages plus one per Sparkplug edge node (each node needs
    its own session: its Will is its NDEATH). Publishes are QoS `qos`; at most `max_pending`
    unacknowledged messages are queued (back-pressure on the simulation loop)."""

    def __init__(
        self,
        url: str,
        client_id: str,
        *,
        wills: dict[str, tuple[str, bytes]] | None = None,
        qos: int = 1,
        max_pending: int = 20_000,
        max_inflight: int = 1000,
    ) -> None:
        import paho.mqtt.client as mqtt

        parse_mqtt_url(url, variable="--mqtt-url")  # a clear error naming the option
        # Credentials and TLS files from the environment apply to any URL (docs/SECURITY.md).
        self.endpoint = Settings.from_env().with_mqtt_url(url).mqtt
        self.url, self.qos, self.max_pending = url, qos, max_pending
        self.cond = threading.Condition()
        self.pending = 0
        self.acked = 0
        self.published = 0
        self.errors: list[str] = []
        self.clients: dict[str | None, Any] = {}
        self.connected: dict[str | None, threading.Event] = {}
        for key in [None, *sorted(wills or {})]:
            cid = client_id if key is None else f"{client_id}-spb-{key.replace('/', '-')}"
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid, protocol=mqtt.MQTTv5)
            self.endpoint.apply(client)
            if key is not None and wills:
                topic, payload = wills[key]
                client.will_set(topic, payload, qos=1, retain=False)
            client.max_inflight_messages_set(max_inflight)
            client.max_queued_messages_set(0)
            client.reconnect_delay_set(1, 10)
            event = threading.Event()
            client.on_connect = self._on_connect(key, event)
            client.on_disconnect = self._on_disconnect(key, event)
            client.on_publish = self._on_publish
            self.clients[key] = client
            self.connected[key] = event

    def _on_connect(self, key: str | None, event: threading.Event) -> Any:
        def on_connect(client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
            if reason_code.is_failure:
                self.errors.append(f"{self.url}: connection refused: {reason_code}")
                logs.event(
                    log, "simulate.mqtt_refused", logging.ERROR, client=key or "json", reason=str(reason_code)
                )
            else:
                event.set()
                logs.event(log, "simulate.mqtt_connected", client=key or "json", url=self.url)

        return on_connect

    def _on_disconnect(self, key: str | None, event: threading.Event) -> Any:
        def on_disconnect(client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
            event.clear()
            if reason_code != 0:
                logs.event(log, "simulate.mqtt_disconnected", logging.WARNING, client=key or "json",
                           reason=str(reason_code))  # fmt: skip

        return on_disconnect

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason_code: Any, properties: Any) -> None:
        with self.cond:
            self.pending -= 1
            self.acked += 1
            if self.pending < self.max_pending // 2:
                self.cond.notify_all()

    def connect(self, timeout_s: float = 10.0) -> None:
        for key, client in self.clients.items():
            try:
                client.connect(self.endpoint.host, self.endpoint.port, keepalive=30, clean_start=True)
            except OSError as exc:
                raise PublishError(f"cannot connect to {self.url}: {exc}") from None
            client.loop_start()
            if not self.connected[key].wait(timeout_s):
                raise PublishError(
                    f"no CONNACK from {self.url} within {timeout_s:.0f} s"
                    + (f": {self.errors[-1]}" if self.errors else "")
                )

    def publish(self, client: str | None, topic: str, payload: bytes) -> None:
        with self.cond:
            while self.pending >= self.max_pending:
                self.cond.wait(1.0)
            self.pending += 1
        self.published += 1
        self.clients[client].publish(topic, payload, qos=self.qos)
        if self.qos == 0:
            with self.cond:
                self.pending -= 1

    def drain(self, timeout_s: float) -> bool:
        """Wait until every QoS 1 publish was acknowledged (True) or the timeout passed."""
        deadline = time.monotonic() + timeout_s
        with self.cond:
            while self.pending > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.2))
        return True

    def close(self, timeout_s: float = 30.0) -> bool:
        ok = self.drain(timeout_s)
        for client in self.clients.values():
            client.disconnect()
            client.loop_stop()
        return ok


@dataclass
class Stats:
    samples: int = 0
    readings: int = 0
    messages: int = 0
    bad: int = 0
    sim_ts: int = 0
    elapsed_s: float = 0.0
    interrupted: bool = False
    unacked: int = 0

    @property
    def readings_per_s(self) -> float:
        return self.readings / self.elapsed_s if self.elapsed_s > 0 else 0.0


class Progress:
    """One line on stderr: `\\r`-rewritten on a terminal, a new line every 10 s otherwise."""

    def __init__(self, stream: TextIO | None, start: int, end: int, tz: Any) -> None:
        self.stream, self.start, self.end, self.tz = stream, start, end, tz
        self.tty = bool(stream is not None and stream.isatty())
        self.every = 0.5 if self.tty else 10.0
        self.next = time.monotonic() + self.every
        self.t0 = time.monotonic()

    def maybe(self, stats: Stats, force: bool = False) -> None:
        now = time.monotonic()
        if self.stream is None or (now < self.next and not force):
            return
        self.next = now + self.every
        import datetime as dt

        when = dt.datetime.fromtimestamp(stats.sim_ts / 1000, self.tz).isoformat(timespec="seconds")
        done = (stats.sim_ts - self.start) / max(1, self.end - self.start)
        rate = stats.readings / max(now - self.t0, 1e-9)
        line = (
            f"simulate {when} {done:6.1%}  readings {stats.readings:,}  messages {stats.messages:,}  "
            f"bad {stats.bad:,}  {rate:,.0f} readings/s"
        )
        self.stream.write(("\r" + line + "\x1b[K") if self.tty else line + "\n")
        if force and self.tty:
            self.stream.write("\n")
        self.stream.flush()


def run(
    sim: Simulation,
    *,
    encoder: Encoder | None = None,
    mqtt: MqttOut | None = None,
    out: BinaryIO | None = None,
    bad: BadMaker | None = None,
    bad_out: BinaryIO | None = None,
    speed: float = 0.0,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
) -> Stats:
    """Run the simulation to its end (or until `stop` is set) and return what was produced."""
    stop = stop or threading.Event()
    stats = Stats(sim_ts=sim.start)
    writer = JsonlWriter(sim.keys) if out is not None else None
    t0 = time.monotonic()
    publish = mqtt.publish if mqtt is not None else None
    encode = encoder.encode if (encoder is not None and publish is not None) else None
    if mqtt is not None and encoder is not None:
        for m in encoder.node_births():
            mqtt.publish(m.client, m.topic, m.payload)
            stats.messages += 1
    try:
        for n, sample in enumerate(sim.samples()):
            ts = sample[0]
            if speed > 0:
                delay = t0 + (ts - sim.start) / (speed * 1000.0) - time.monotonic()
                if delay > 0.002 and stop.wait(delay):
                    break
            if stop.is_set():
                break
            stats.sim_ts = ts
            stats.samples += 1
            stats.readings += len(sample[2])
            if writer is not None:
                out.write(writer.lines(sample))  # type: ignore[union-attr]
            if encode is not None:
                for m in encode(sample):
                    publish(m.client, m.topic, m.payload)  # type: ignore[misc]
                    stats.messages += 1
            if bad is not None and (b := bad.maybe(ts, sample[1])) is not None:
                stats.bad += 1
                if publish is not None:
                    publish(None, b.topic, b.payload)
                if bad_out is not None:
                    bad_out.write(b.record())
            if progress is not None and not n & 1023:
                stats.elapsed_s = time.monotonic() - t0
                progress.maybe(stats)
    except KeyboardInterrupt:
        stop.set()
    stats.interrupted = stop.is_set()
    if mqtt is not None:
        if encoder is not None:
            for m in encoder.deaths(stats.sim_ts):
                mqtt.publish(m.client, m.topic, m.payload)
                stats.messages += 1
        if not mqtt.drain(30.0):
            stats.unacked = mqtt.pending
    stats.elapsed_s = time.monotonic() - t0
    for fh in (out, bad_out):
        if fh is not None:
            fh.flush()
    if progress is not None:
        progress.maybe(stats, force=True)
    return stats


def default_progress_stream() -> TextIO:
    return sys.stderr
