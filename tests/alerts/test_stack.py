"""Alerts on the REAL servers: MQTT retained state, signed webhooks to a local HTTP receiver,
retries then a dead letter, and a `brain alerts` worker killed with SIGKILL that does not fire
again after its restart. Every test uses fresh topics and a unique site."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from kafka import KafkaConsumer, KafkaProducer

from brain.logs import _LogfmtFormatter
from brain.settings import Settings
from brain.stack.servers import ensure_topics
from processors.notify.config import parse_notify
from processors.notify.delivery import Deliverer
from processors.notify.service import Notifier, NotifyOptions

pytestmark = [pytest.mark.stack, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
SECRET = "SEC-integration-secret-5f3a"
TOKEN = "tok-integration-77aa"


def event(site: str, state: str, *, rule: str = "hot", started: int = 1_767_225_600_000, **kw: Any) -> dict:
    return {"id": f"{rule}:{site}/l1/m1", "rule": rule, "type": "threshold", "state": state,
            "severity": "critical", "scope": "machine", "site": site, "line": "l1", "machine": "m1",
            "value": 85.0, "threshold": 80.0, "clear": 70.0, "started": started,
            "ended": None if state == "firing" else started + 60_000, "ts": started, "notification": 1 if
            state == "firing" else 0, "message": "hot", "message_en": "hot", "message_zh": "过热",
            "runbook": None, **kw}  # fmt: skip


def fresh_topics(settings: Settings, *names: str) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    topics = {n: f"test.alerts.{n}.{suffix}" for n in names}
    ensure_topics(settings.kafka_bootstrap, dict.fromkeys(topics.values(), 1))
    return topics


def produce(settings: Settings, topic: str, *values: dict, key: str | None = None) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    for v in values:
        producer.send(topic, key=(key or v.get("id", "k")).encode(), value=json.dumps(v).encode())
    producer.flush()
    producer.close()


def consume(settings: Settings, topic: str, n: int, timeout_s: float) -> list[dict]:
    consumer = KafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest",
                             consumer_timeout_ms=500)  # fmt: skip
    out: list[dict] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(out) < n and time.monotonic() < deadline:
            out += [json.loads(m.value) for m in consumer]
    finally:
        consumer.close()
    return out


class Subscriber:
    """An MQTT subscriber collecting (topic, payload, retain) of brain/v1/alerts/{site}/#."""

    def __init__(self, settings: Settings, site: str) -> None:
        ep = settings.mqtt
        self.messages: queue.Queue = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}",
                                  protocol=mqtt.MQTTv5)  # fmt: skip
        subscribed = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(f"brain/v1/alerts/{site}/#", qos=1)
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, m.payload, bool(m.retain)))
        self.client.connect(ep.host, ep.port)
        self.client.loop_start()
        assert subscribed.wait(10), "MQTT subscription not acknowledged"

    def get(self, timeout_s: float = 15.0) -> tuple[str, bytes, bool]:
        return self.messages.get(timeout=timeout_s)

    def drain(self, wait_s: float = 1.0) -> list[tuple[str, bytes, bool]]:
        time.sleep(wait_s)
        out = []
        while not self.messages.empty():
            out.append(self.messages.get())
        return out

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def run_notifier(settings: Settings, cfg, topics: dict[str, str], **deliverer: Any):
    opts = NotifyOptions(topic=topics["alerts"], deadletter_topic=topics.get("dead", "brain.deadletter"),
                         group=f"t-notify-{uuid.uuid4().hex[:8]}", offset_reset="earliest")  # fmt: skip
    notifier = Notifier(cfg, settings, opts, deliverer=Deliverer(**deliverer) if deliverer else None)
    stop = threading.Event()
    thread = threading.Thread(target=notifier.run, args=(stop,), daemon=True)
    thread.start()
    return notifier, stop, thread


def test_mqtt_firing_retained_then_resolved(stack: Settings, site_id: str) -> None:
    topics = fresh_topics(stack, "alerts")
    cfg = parse_notify({"mqtt": {"client_id": f"t-notify-{site_id}"}})
    live = Subscriber(stack, site_id)
    notifier, stop, thread = run_notifier(stack, cfg, topics)
    try:
        produce(stack, topics["alerts"], event(site_id, "firing"))
        topic, payload, _ = live.get()
        assert topic == f"brain/v1/alerts/{site_id}/l1/m1/hot" and json.loads(payload)["state"] == "firing"
        late = Subscriber(stack, site_id)  # connects while firing: gets the retained state
        topic, payload, retained = late.get()
        assert retained and json.loads(payload)["state"] == "firing"
        late.close()
        produce(stack, topics["alerts"], event(site_id, "resolved"))
        _, payload, _ = live.get()
        assert json.loads(payload)["state"] == "resolved"
        _, payload, _ = live.get()
        assert payload == b""  # the retained state cleared
        later = Subscriber(stack, site_id)  # connects after resolve: nothing is active
        assert later.drain(1.5) == []
        later.close()
    finally:
        stop.set()
        thread.join(10)
        live.close()
    assert notifier.counts["mqtt"] == 2


class Receiver(BaseHTTPRequestHandler):
    calls: queue.Queue = queue.Queue()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.calls.put((self.path, dict(self.headers), body))
        status = 500 if self.path.startswith("/fail") else 200
        answer = (
            b'{"errcode":0,"errmsg":"ok"}' if "/feishu" not in self.path else b'{"code":0,"msg":"success"}'
        )
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_receiver():
    Receiver.calls = queue.Queue()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", Receiver.calls
    server.shutdown()
    server.server_close()


def test_webhooks_signed_and_retried_into_a_dead_letter(
    stack: Settings,
    site_id: str,
    http_receiver,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    base, calls = http_receiver
    env = {
        "T_DING_URL": f"{base}/dingtalk/robot/send?access_token={TOKEN}", "T_DING_SECRET": SECRET,
        "T_WECOM_URL": f"{base}/wecom/cgi-bin/webhook/send?key={TOKEN}",
        "T_FEISHU_URL": f"{base}/feishu/open-apis/bot/v2/hook/{TOKEN}", "T_FEISHU_SECRET": SECRET,
        "T_JSON_URL": f"{base}/generic/{TOKEN}", "T_JSON_SECRET": SECRET,
        "T_FAIL_URL": f"{base}/fail/{TOKEN}",
    }  # fmt: skip
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    cfg = parse_notify({
        "mqtt": {"enabled": False},
        "receivers": {
            "ding": {"kind": "dingtalk", "url_env": "T_DING_URL", "secret_env": "T_DING_SECRET"},
            "wecom": {"kind": "wecom", "url_env": "T_WECOM_URL", "lang": "en"},
            "feishu": {"kind": "feishu", "url_env": "T_FEISHU_URL", "secret_env": "T_FEISHU_SECRET"},
            "json": {"kind": "generic", "url_env": "T_JSON_URL", "secret_env": "T_JSON_SECRET"},
            "broken": {"kind": "generic", "url_env": "T_FAIL_URL", "max_attempts": 3, "backoff_s": 0.1},
        },
        "routes": [{"site": site_id, "min_severity": "warning", "receivers": ["ding", "wecom", "feishu",
                                                                          "json"]},
                   {"site": site_id, "states": ["firing"], "receivers": ["broken"]}],
    }, "notify.yaml")  # fmt: skip
    cfg.check_env()
    topics = fresh_topics(stack, "alerts", "dead")
    with caplog.at_level(logging.DEBUG):
        _, stop, thread = run_notifier(stack, cfg, topics)
        try:
            produce(stack, topics["alerts"], event(site_id, "firing"))
            got: dict[str, tuple] = {}
            while len(got) < 4 or sum(1 for p in got if p.startswith("/fail")) < 3:
                path, headers, body = calls.get(timeout=20)
                got[path if not path.startswith("/fail") else f"/fail#{len(got)}"] = (path, headers, body)
            dead = consume(stack, topics["dead"], 1, 20)
        finally:
            stop.set()
            thread.join(10)
    by_kind = {p.split("/")[1].split("#")[0]: v for p, v in got.items()}
    # DingTalk: markdown, timestamp + sign in the query, sign = b64(HMAC-SHA256(secret, ts\nsecret))
    path, _, body = by_kind["dingtalk"]
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    ts = q["timestamp"][0]
    mac = hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(), hashlib.sha256).digest()
    assert q["access_token"] == [TOKEN] and q["sign"] == [base64.b64encode(mac).decode()]
    assert abs(int(ts) - time.time() * 1000) < 60_000
    assert json.loads(body)["msgtype"] == "markdown" and "过热" in json.loads(body)["markdown"]["text"]
    # WeCom: markdown content, key in the URL
    path, _, body = by_kind["wecom"]
    assert path.endswith(f"key={TOKEN}") and json.loads(body)["markdown"]["content"].count("hot") >= 1
    # Feishu: timestamp (s) and sign = b64(HMAC-SHA256(key=ts\nsecret, msg=""))
    _, _, body = by_kind["feishu"]
    f = json.loads(body)
    mac = hmac.new(f"{f['timestamp']}\n{SECRET}".encode(), b"", hashlib.sha256).digest()
    assert (
        f["sign"] == base64.b64encode(mac).decode()
        and f["msg_type"] == "text"
        and f["content"]["text"] == "过热"
    )
    # generic: the event, signed over "ts.body"
    _, headers, body = by_kind["generic"]
    mac_hex = hmac.new(SECRET.encode(), headers["X-Brain-Timestamp"].encode() + b"." + body, hashlib.sha256)
    assert headers["X-Brain-Signature"] == "sha256=" + mac_hex.hexdigest()
    assert json.loads(body)["id"] == f"hot:{site_id}/l1/m1"
    # the receiver answering 500: 3 attempts, then a dead letter naming the receiver, not its URL
    assert sum(1 for p in got if p.startswith("/fail")) == 3
    (letter,) = dead
    assert (letter["reason"], letter["receiver"], letter["source"]) == ("notify.failed", "broken", "notify")
    assert "HTTP 500" in letter["detail"] and TOKEN not in json.dumps(letter)
    text = "\n".join(_LogfmtFormatter().format(r) for r in caplog.records)
    assert "notify.deadletter" in text
    assert SECRET not in text and TOKEN not in text


PLANT = """
sites:
  - id: {site}
    lines:
      - id: l1
        machines:
          - {{id: m1}}
alerts:
  - {rule}
"""
HOT = "{id: hot, type: threshold, metric: temp_c, above: 80, clear: 70}"
AVAILABILITY_LOW = (
    "{id: avail, type: kpi, field: availability, window: 1m, level: machine, below: 0.6, clear: 0.9}"
)


class AlertsWorker:
    def __init__(
        self, settings: Settings, config: Path, topics: dict[str, str], app_id: str, data: Path
    ) -> None:
        self.argv = [sys.executable, "-m", "brain.cli", "alerts", "--config", str(config), "--app-id", app_id,
                     "--readings-topic", topics["readings"], "--kpis-topic", topics["kpis"],
                     "--deadletter-topic", topics["dead"], "--output-topic", topics["alerts"],
                     "--data-dir", str(data), "--from-beginning", "--stats-interval-s", "0.5"]  # fmt: skip
        self.env = {**os.environ, "BRAIN_KAFKA_BOOTSTRAP": settings.kafka_bootstrap}
        self.log = data / "worker.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        fh = open(self.log, "ab")  # noqa: SIM115 - the child keeps writing to it
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=fh, stderr=fh)

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def test_worker_killed_while_firing_does_not_fire_again(
    stack: Settings, site_id: str, tmp_path: Path
) -> None:
    topics = fresh_topics(stack, "readings", "kpis", "dead", "alerts")
    config = tmp_path / "plant.yaml"
    config.write_text(PLANT.format(site=site_id, rule=HOT))
    worker = AlertsWorker(stack, config, topics, f"t-alerts-{site_id}", tmp_path)

    def temp(value: float) -> dict:
        return {"site": site_id, "line": "l1", "machine": "m1", "metric": "temp_c", "value": value,
                "ts": int(time.time() * 1000)}  # fmt: skip

    key = f"{site_id}/l1/m1"
    worker.start()
    try:
        produce(stack, topics["readings"], temp(85), key=key)
        events = consume(stack, topics["alerts"], 1, 90)
        assert [e["state"] for e in events] == ["firing"], worker.log.read_text()[-3000:]
        time.sleep(4)  # the changelog and the offsets are written (commit interval 1 s)
        worker.kill9()
        produce(stack, topics["readings"], temp(86), temp(90), key=key)  # still above while it is down
        worker.start()
        produce(stack, topics["readings"], temp(95), key=key)
        time.sleep(25)  # rebalance after the kill, recovery of the table, the readings processed
        assert [e["state"] for e in consume(stack, topics["alerts"], 2, 5)] == ["firing"], "fired again"
        produce(stack, topics["readings"], temp(60), key=key)  # it remembers: this resolves it
        events = consume(stack, topics["alerts"], 2, 60)
        assert [e["state"] for e in events] == ["firing", "resolved"], worker.log.read_text()[-3000:]
        assert events[1]["started"] == events[0]["started"]
    finally:
        worker.stop()


def rewind(settings: Settings, group: str, topic: str, timeout_s: float = 60) -> None:
    """Set the consumer group's committed offset of `topic` partition 0 back to 0 (the group must
    be empty: retried while the stopped worker is still leaving it)."""
    from kafka import TopicPartition
    from kafka.structs import OffsetAndMetadata

    tp = TopicPartition(topic, 0)
    deadline = time.monotonic() + timeout_s
    while True:
        consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=group,
                                 enable_auto_commit=False)  # fmt: skip
        try:
            consumer.assign([tp])
            consumer.commit({tp: OffsetAndMetadata(0, "", -1)})
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
        finally:
            consumer.close(autocommit=False)


def applied(log_text: str) -> list[int]:
    """The worker's count of input records applied, from each of its stats lines (per process)."""
    return [int(n) for n in re.findall(r"event=process\.stats agent=alerts .*?\bin=(\d+)", log_text)]


def test_kpi_records_read_again_do_not_fire_a_resolved_alert_again(
    stack: Settings, site_id: str, tmp_path: Path
) -> None:
    """The fault suite's Kafka freeze once made the group re-read 30 s of KPI records, and an
    episode that had resolved fired again. The position is now the worker's own marker, written
    with its states: here the worker is stopped, its progress group set back to 0, and started
    again — it reads only what came after its marker."""
    topics = fresh_topics(stack, "readings", "kpis", "dead", "alerts")
    config = tmp_path / "plant.yaml"
    config.write_text(PLANT.format(site=site_id, rule=AVAILABILITY_LOW))
    app_id = f"t-alerts-{site_id}"
    worker = AlertsWorker(stack, config, topics, app_id, tmp_path)
    t0 = 1_767_225_600_000

    def record(availability: float, minute: int) -> dict:
        return {"scope": "machine", "site": site_id, "line": "l1", "machine": "m1", "window": "1m",
                "final": True, "start": t0 + minute * 60_000, "end": t0 + (minute + 1) * 60_000,
                "availability": availability}  # fmt: skip

    key = f"{site_id}/l1/m1"
    worker.start()
    try:
        produce(stack, topics["kpis"], record(0.3, 0), record(1.0, 1), key=key)
        events = consume(stack, topics["alerts"], 2, 90)
        assert [e["state"] for e in events] == ["firing", "resolved"], worker.log.read_text()[-3000:]
        time.sleep(2)  # a step writes states and markers within 0.2 s; give it room
        worker.stop()
        before = len(applied(worker.log.read_text()))
        rewind(stack, f"{app_id}-input", topics["kpis"])
        worker.start()
        produce(stack, topics["kpis"], record(1.0, 2), key=key)
        deadline = time.monotonic() + 90
        while (
            not [n for n in applied(worker.log.read_text())[before:] if n >= 1]
            and time.monotonic() < deadline
        ):
            time.sleep(0.5)
        log_text = worker.log.read_text()
        # the marker at work (the kpi rule's stale-final guard alone would also keep it quiet):
        # the restarted process applied the one new record, not the two before it again
        assert applied(log_text)[before:][-1:] == [1], log_text[-3000:]
        time.sleep(2)
        states = [e["state"] for e in consume(stack, topics["alerts"], 3, 5)]
        assert states == ["firing", "resolved"], f"fired again: {states}\n{log_text[-3000:]}"
    finally:
        worker.stop()
