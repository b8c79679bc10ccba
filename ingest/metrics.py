"""Bridge counters: one status line for people, Prometheus text on /metrics for machines.

The bridge's worker thread is the only writer; the HTTP thread only reads (plain ints: a
scrape may see one counter a message ahead of another, never a torn value).
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(slots=True)
class BridgeCounters:
    messages_in: int = 0  # MQTT messages taken from the broker
    messages_acked: int = 0  # QoS 1 PUBACKs sent (after Kafka stored everything from the message)
    messages_ignored: int = 0
    dropped_qos0: int = 0  # QoS 0 messages dropped because the inbound queue was full
    readings_sent: int = 0  # readings handed to the Kafka producer
    readings_out: int = 0  # readings Kafka confirmed
    dead_letters_out: int = 0  # dead letters Kafka confirmed
    dead_letter_reasons: Counter[str] = field(default_factory=Counter)
    kafka_errors: int = 0  # failed sends / deliveries (each one retried)
    kafka_latency_ms_sum: float = 0.0
    kafka_latency_count: int = 0
    kafka_latency_ms_max: float = 0.0  # since the last status line
    rebirth_requests: int = 0
    mqtt_connects: int = 0
    mqtt_disconnects: int = 0
    # gauges, refreshed by the worker
    inflight: int = 0  # MQTT messages received, not yet acked
    unsent: int = 0  # records waiting for Kafka to come back
    mqtt_connected: int = 0
    kafka_up: int = 0
    sparkplug: dict[str, int] = field(default_factory=dict)


_HELP = {
    "messages_in": ("counter", "MQTT messages received"),
    "messages_acked": ("counter", "QoS 1 messages acknowledged after Kafka stored all their records"),
    "messages_ignored": (
        "counter",
        "messages that produce nothing by design (alerts, Sparkplug commands/STATE)",
    ),
    "dropped_qos0": ("counter", "QoS 0 messages dropped because the inbound queue was full"),
    "readings_sent": ("counter", "readings handed to the Kafka producer"),
    "readings_out": ("counter", "readings Kafka confirmed (acks=all)"),
    "dead_letters_out": ("counter", "dead letters Kafka confirmed"),
    "kafka_errors": ("counter", "Kafka send or delivery failures (the record is retried)"),
    "rebirth_requests": ("counter", "Sparkplug rebirth requests published"),
    "mqtt_connects": ("counter", "MQTT connections established"),
    "mqtt_disconnects": ("counter", "MQTT connections lost"),
    "inflight": ("gauge", "MQTT messages received and not yet acknowledged"),
    "unsent": ("gauge", "records waiting to be handed to Kafka"),
    "mqtt_connected": ("gauge", "1 while connected to the MQTT broker"),
    "kafka_up": ("gauge", "1 while the last Kafka send or delivery succeeded"),
}


def prometheus_text(c: BridgeCounters, prefix: str = "brain_bridge") -> str:
    """The counters in Prometheus text exposition format 0.0.4."""
    lines: list[str] = []
    for name, (kind, text) in _HELP.items():
        metric = f"{prefix}_{name}_total" if kind == "counter" else f"{prefix}_{name}"
        lines += [f"# HELP {metric} {text}", f"# TYPE {metric} {kind}", f"{metric} {getattr(c, name)}"]
    metric = f"{prefix}_dead_letters_total"
    lines += [f"# HELP {metric} dead letters by reason code", f"# TYPE {metric} counter"]
    lines += [
        f'{metric}{{reason="{reason}"}} {n}' for reason, n in sorted(dict(c.dead_letter_reasons).items())
    ]
    metric = f"{prefix}_kafka_latency_ms"
    lines += [
        f"# HELP {metric} time from send to Kafka acknowledgement",
        f"# TYPE {metric} summary",
        f"{metric}_sum {c.kafka_latency_ms_sum:.3f}",
        f"{metric}_count {c.kafka_latency_count}",
    ]
    for name, value in sorted(dict(c.sparkplug).items()):
        metric = f"{prefix}_sparkplug_{name}_total"
        lines += [f"# TYPE {metric} counter", f"{metric} {value}"]
    return "\n".join(lines) + "\n"


def serve_metrics(counters: BridgeCounters, host: str, port: int) -> ThreadingHTTPServer:
    """Serve GET /metrics (and /healthz) on a daemon thread; returns the server (call shutdown())."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] == "/metrics":
                body = prometheus_text(counters).encode()
                ctype = "text/plain; version=0.0.4; charset=utf-8"
            elif self.path == "/healthz":
                ok = counters.mqtt_connected and counters.kafka_up
                body = b"ok\n" if ok else b"degraded\n"
                ctype = "text/plain"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="bridge-metrics", daemon=True).start()
    return server
