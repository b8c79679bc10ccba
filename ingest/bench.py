"""Benchmark of one bridge process through the real Mosquitto and Kafka (not a timed test).

    .venv/bin/python -m ingest.bench [--form single|batch50|both] [--readings N] [--repeats 3]

The two forms of the ingest targets: `single` = one reading per MQTT message
(`brain/v1/{site}/{line}/{machine}/{metric}`, `{"value": .., "ts": ..}`), `batch50` = 50 metrics per
batch message (`brain/v1/{site}/{line}/{machine}`). The bridge's rate is measured without the
publisher in the way: the bridge subscribes once (persistent session), stops, the messages are
published at QoS 1 into its queue at Mosquitto, and the bridge starts again and drains it. Rate =
readings Kafka confirmed (the bridge's `readings_out` counter, polled every 0.1 s) / time from the
first to the last one. Each repeat uses a new site and client id. Prints one line per repeat and
the medians; the bridge writes to the real `brain.readings` (an unused site id).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import orjson
import yaml

from brain.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
MACHINES = 20
DEFAULT_READINGS = {"single": 200_000, "batch50": 1_000_000}  # a drain of 15-30 s at the rates seen
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC; the bridge runs with --backfill


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def messages(form: str, site: str, readings: int) -> list[tuple[str, bytes]]:
    """(topic, payload) pairs giving `readings` readings in `form`."""
    out = []
    if form == "single":
        for i in range(readings):
            m = i % MACHINES
            topic = f"brain/v1/{site}/l{m % 4}/m{m}/power_kw"
            out.append((topic, orjson.dumps({"value": 10.0 + i % 97, "ts": T0 + i})))
    else:
        names = [f"temp_{k:02d}" for k in range(50)]
        for i in range(readings // 50):
            m = i % MACHINES
            body = {"ts": T0 + i, "metrics": {n: 20.0 + (i + k) % 13 for k, n in enumerate(names)}}
            out.append((f"brain/v1/{site}/l{m % 4}/m{m}", orjson.dumps(body)))
    return out


def _plant(site: str, path: Path) -> Path:
    lines = [
        {"id": f"l{ln}", "machines": [{"id": f"m{m}"} for m in range(MACHINES) if m % 4 == ln]}
        for ln in range(4)
    ]
    path.write_text(yaml.safe_dump({"timezone": "UTC", "sites": [{"id": site, "lines": lines}]}))
    return path


class _Bridge:
    def __init__(self, site: str, client_id: str, config: Path, log: Path) -> None:
        self.port = _free_port()
        self.argv = [
            sys.executable, "-m", "brain.cli", "bridge", "--config", str(config), "--client-id", client_id,
            "--no-sparkplug", "--topic", f"brain/v1/{site}/#", "--session-expiry", "900", "--backfill",
            "--metrics-port", str(self.port), "--status-interval", "5",
        ]  # fmt: skip
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        seen = self.log.stat().st_size if self.log.exists() else 0
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                     stderr=self.log.open("ab"))  # fmt: skip
        deadline = time.monotonic() + 60
        while b"bridge.subscribed" not in self.log.read_bytes()[seen:]:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"bridge did not subscribe; log {self.log}")
            time.sleep(0.05)

    def counter(self, name: str) -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
            text = r.read().decode()
        found = re.search(rf"^brain_bridge_{name}_total (\d+)", text, re.M)
        return int(found.group(1)) if found else 0

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _publish(settings: Settings, client_id: str, msgs: list[tuple[str, bytes]]) -> float:
    """Publish at QoS 1 and wait for every PUBACK; returns the seconds it took."""
    import paho.mqtt.client as mqtt

    endpoint = settings.mqtt
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    settings.mqtt.apply(client)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    acked = threading.Semaphore(0)
    client.on_publish = lambda *a: acked.release()
    client.connect(endpoint.host, endpoint.port)
    client.loop_start()
    t0 = time.perf_counter()
    waiting = 0

    def wait_one() -> None:
        if not acked.acquire(timeout=60):
            raise RuntimeError("Mosquitto stopped acknowledging the published messages")

    try:
        for topic, payload in msgs:
            if waiting >= 20_000:  # paho holds at most 65,535 unacknowledged messages (message ids)
                wait_one()
                waiting -= 1
            if client.publish(topic, payload, qos=1).rc != mqtt.MQTT_ERR_SUCCESS:
                raise RuntimeError("paho refused a publish")
            waiting += 1
        for _ in range(waiting):
            wait_one()
        return time.perf_counter() - t0
    finally:
        client.loop_stop()
        client.disconnect()


def run_once(settings: Settings, form: str, readings: int, work: Path) -> dict[str, float | int | str]:
    tag = uuid.uuid4().hex[:8]
    site = f"bench-bridge-{tag}"
    bridge = _Bridge(site, f"bench-bridge-{tag}", _plant(site, work / f"{tag}.yaml"), work / f"{tag}.log")
    msgs = messages(form, site, readings)
    want = len(msgs) * (1 if form == "single" else 50)
    bridge.start()  # subscribe once: the persistent session queues what follows
    bridge.stop()
    publish_s = _publish(settings, f"bench-pub-{tag}", msgs)
    bridge.start()
    try:
        first = last = None
        seen, progress_at = 0, time.monotonic()
        while seen < want:
            now_count = bridge.counter("readings_out")
            t = time.perf_counter()
            if now_count and first is None:
                first = (t, now_count)
            if now_count > seen:
                seen, last, progress_at = now_count, t, time.monotonic()
            elif time.monotonic() - progress_at > 60:
                raise RuntimeError(f"bridge stalled at {seen:,} of {want:,} readings; log {bridge.log}")
            time.sleep(0.1)
        dead = bridge.counter("dead_letters_out")
    finally:
        bridge.stop()
    assert first is not None and last is not None
    seconds = max(last - first[0], 1e-9)
    rate = (seen - first[1]) / seconds
    return {"form": form, "readings": seen, "messages": len(msgs), "dead_letters": dead,
            "seconds": round(seconds, 2), "readings_per_s": round(rate),
            "messages_per_s": round(rate / (1 if form == "single" else 50)),
            "publish_msgs_per_s": round(len(msgs) / publish_s)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--form", choices=("single", "batch50", "both"), default="both")
    parser.add_argument(
        "--readings", type=int, help="readings per run (default: single 200,000, batch50 1,000,000)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    forms = ("single", "batch50") if args.form == "both" else (args.form,)
    results: dict[str, list[dict]] = {f: [] for f in forms}
    with tempfile.TemporaryDirectory(prefix="bench-bridge-") as tmp:
        for i in range(args.repeats):
            for form in forms:
                n = args.readings or DEFAULT_READINGS[form]
                r = run_once(settings, form, n, Path(tmp))
                results[form].append(r)
                print(f"run {i + 1} " + orjson.dumps(r).decode(), flush=True)
    for form, rs in results.items():
        med = statistics.median(r["readings_per_s"] for r in rs)
        print(f"median {form}: {med:,.0f} readings/s over {len(rs)} runs "
              f"(dead letters {sum(r['dead_letters'] for r in rs)})", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
