"""`brain reports` on the real servers: final shift records in Kafka -> the real sink -> InfluxDB ->
the report -> DingTalk / WeCom / Feishu / generic receivers (a local HTTP server checking the
documented shapes and signatures) and e-mail (a real SMTP server, aiosmtpd, with STARTTLS and
login) with both attachments; a failing receiver and an unreachable SMTP server end in dead
letters after their retries; SIGKILL and a restart do not send the report twice."""

from __future__ import annotations

import base64
import contextlib
import email
import hashlib
import hmac
import json
import logging
import os
import queue
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from brain.plant import load_plant
from brain.settings import Settings
from brain.stack.security import tls_init
from processors.kpi import compute_records
from processors.kpi.cli import read_rows
from tests.report.helpers import REPO, simulate, write_plant
from tests.sink.helpers import fresh_topics, kpi_key, produce, read_topic, running_sink

SECRET = "SECreport-secret-42"
TOKEN = "tok-report-0123"
USER, PASSWORD = "plant-reports", "pw-secret-0123"


class Receiver(BaseHTTPRequestHandler):
    calls: queue.Queue = queue.Queue()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.calls.put((self.path, dict(self.headers), body))
        status = 500 if self.path.startswith("/fail") else 200
        answer = b'{"code":0,"msg":"success"}' if "/feishu" in self.path else b'{"errcode":0,"errmsg":"ok"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


class Mailbox:
    """What the SMTP server received, and how (TLS, login)."""

    def __init__(self) -> None:
        self.messages: queue.Queue = queue.Queue()

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.put(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "data": envelope.content,
                "tls": session.ssl is not None,
                "login": session.authenticated,
            }
        )
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(tmp_path: Path):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    certs = tls_init(tmp_path / "tls", ["127.0.0.1", "localhost"])
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(certs["server.crt"], certs["server.key"])

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        return AuthResult(success=ok)

    box = Mailbox()
    port = _free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        tls_context=ctx,
        require_starttls=True,
        auth_require_tls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    yield port, box, certs["ca.crt"]
    controller.stop()


@pytest.fixture
def http_receiver():
    Receiver.calls = queue.Queue()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", Receiver.calls
    server.shutdown()
    server.server_close()


class Service:
    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.argv, self.env, self.log = argv, env, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        fh = open(self.log, "a", encoding="utf-8")  # noqa: SIM115 - the child writes it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "brain.cli", "reports", *self.argv],
            env=self.env,
            cwd=REPO,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def wait_log(self, text: str, count: int = 1, timeout_s: float = 120) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            content = self.log.read_text(encoding="utf-8")
            if content.count(text) >= count:
                return content
            assert self.proc is None or self.proc.poll() is None, f"brain reports exited:\n{content[-3000:]}"
            time.sleep(0.5)
        raise AssertionError(f"{text!r} x{count} not logged within {timeout_s}s:\n{content[-3000:]}")


def _calls(calls: queue.Queue, n: int, timeout_s: float) -> list[tuple[str, dict, bytes]]:
    out = []
    deadline = time.monotonic() + timeout_s
    while len(out) < n:
        out.append(calls.get(timeout=max(0.1, deadline - time.monotonic())))
    return out


def test_service_delivers_each_shift_once_to_every_receiver(
    stack: Settings, tmp_path: Path, smtp_server, http_receiver
) -> None:
    smtp_port, mailbox, ca = smtp_server
    base, calls = http_receiver
    site = f"q{uuid.uuid4().hex[:8]}"
    config = write_plant(tmp_path, site)
    readings = simulate(config, tmp_path / "readings.jsonl", duration="16h")
    plant = load_plant(str(config))
    with open(readings, encoding="utf-8") as fh:
        rows = list(read_rows(fh, str(readings), plant.tz))
    t0, t1 = 1_770_912_000_000, 1_771_084_800_000  # 2026-02-13 00:00 .. 2026-02-15 00:00 +08:00
    night_start = 1_770_984_000_000  # 2026-02-13 20:00 +08:00: the night shift, across midnight
    records = [r for w in ("1h", "15m") for r in compute_records(plant, rows, w, t0, t1) if r["start"] >= t0]
    night = [r for r in compute_records(plant, rows, "shift", t0, t1) if r["start"] == night_start]
    records += night
    assert len(night) == 1 + 2 + 5  # site, 2 lines, 5 machines: 2026-02-13 20:00 -> 2026-02-14 08:00
    dead_port = _free_port()  # nothing listens there: SMTP unreachable
    env_vars = {
        "R_DING_URL": f"{base}/dingtalk/robot/send?access_token={TOKEN}",
        "R_DING_SECRET": SECRET,
        "R_WECOM_URL": f"{base}/wecom/cgi-bin/webhook/send?key={TOKEN}",
        "R_FEISHU_URL": f"{base}/feishu/open-apis/bot/v2/hook/{TOKEN}",
        "R_FEISHU_SECRET": SECRET,
        "R_JSON_URL": f"{base}/generic/{TOKEN}",
        "R_JSON_SECRET": SECRET,
        "R_FAIL_URL": f"{base}/fail/{TOKEN}",
        "R_SMTP_USER": USER,
        "R_SMTP_PASSWORD": PASSWORD,
    }
    mail = {
        "kind": "email",
        "host": "127.0.0.1",
        "port": smtp_port,
        "from": "brain@plant.example",
        "to": ["manager@plant.example", "shift-lead@plant.example"],
        "username_env": "R_SMTP_USER",
        "password_env": "R_SMTP_PASSWORD",
        "ca_file": str(ca),
    }
    notify = {
        "mqtt": {"enabled": False},
        "receivers": {
            "ding": {"kind": "dingtalk", "url_env": "R_DING_URL", "secret_env": "R_DING_SECRET"},
            "wecom": {"kind": "wecom", "url_env": "R_WECOM_URL"},
            "feishu": {"kind": "feishu", "url_env": "R_FEISHU_URL", "secret_env": "R_FEISHU_SECRET"},
            "json": {"kind": "generic", "url_env": "R_JSON_URL", "secret_env": "R_JSON_SECRET"},
            "broken": {"kind": "generic", "url_env": "R_FAIL_URL", "max_attempts": 2, "backoff_s": 0.1},
            "mail": mail,
            "mail_down": {**mail, "port": dead_port, "max_attempts": 3, "backoff_s": 0.1, "timeout_s": 2},
        },
        "reports": {
            "files_url": f"{base}/files/",
            "subscriptions": [
                {
                    "site": site,
                    "periods": ["shift"],
                    "lang": "zh",
                    "receivers": ["ding", "wecom", "feishu", "json", "broken", "mail", "mail_down"],
                }
            ],
        },
    }
    notify_path = tmp_path / "notify.yaml"
    notify_path.write_text(yaml.safe_dump(notify, allow_unicode=True), encoding="utf-8")
    topics = fresh_topics(stack, site, ("kpis", "state", "dead"))
    out = tmp_path / "reports"
    argv = [
        "--config",
        str(config),
        "--notify",
        str(notify_path),
        "--out",
        str(out),
        "--kpis-topic",
        topics["kpis"],
        "--state-topic",
        topics["state"],
        "--deadletter-topic",
        topics["dead"],
        "--group",
        f"reports-{site}",
        "--from-beginning",
        "--settle-s",
        "90",
    ]
    service = Service(argv, {**os.environ, **env_vars, "PYTHONUNBUFFERED": "1"}, tmp_path / "service.log")
    with running_sink(
        stack, topics={topics["kpis"]: "kpis"}, group=f"sink-{site}", deadletter_topic=topics["dead"]
    ):
        service.start()
        try:
            service.wait_log("reports.start", timeout_s=60)
            produce(
                stack,
                topics["kpis"],
                [json.dumps(r).encode() for r in records],
                [kpi_key(r) for r in records],
            )
            got = _calls(calls, 1 + 2 + 1 + 1 + 2, timeout_s=240)
            message = mailbox.messages.get(timeout=60)
            text = service.wait_log("reports.delivered", timeout_s=120)
            dead = read_topic(stack, topics["dead"], 2, timeout_s=30)
            # restart: SIGKILL, the night shift's final record again (a processor re-sends it), restart
            service.kill9()
            produce(stack, topics["kpis"], [json.dumps(night[0]).encode()], [kpi_key(night[0])])
            service.start()
            service.wait_log("reports.state_loaded", count=2, timeout_s=60)
            text = service.wait_log("reports.already_delivered", timeout_s=60)
            time.sleep(3)
            assert calls.empty() and mailbox.messages.empty(), "a report was sent twice"
        finally:
            service.stop()
    by = {}
    for path, headers, body in got:
        by.setdefault(path.split("/")[1], []).append((path, headers, body))
    report_dir = out / site / "2026-02-13_night"
    files = {
        n: (report_dir / n).read_bytes() for n in ("report.html", "report.png", "report.xlsx", "report.json")
    }
    # DingTalk: one markdown message, signed in the query, the picture by URL under files_url
    ((path, _, body),) = by["dingtalk"]
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    mac = hmac.new(SECRET.encode(), f"{q['timestamp'][0]}\n{SECRET}".encode(), hashlib.sha256).digest()
    assert q["access_token"] == [TOKEN] and q["sign"] == [base64.b64encode(mac).decode()]
    md = json.loads(body)
    assert md["msgtype"] == "markdown" and md["markdown"]["title"].startswith("班次报表")
    assert f"![report]({base}/files/{site}/2026-02-13_night/report.png)" in md["markdown"]["text"]
    assert "设备综合效率 OEE" in md["markdown"]["text"]
    # WeCom: markdown (<= 4096 bytes), then the image as base64 + md5 (<= 2 MB)
    (_, _, first), (_, _, second) = by["wecom"]
    m1, m2 = json.loads(first), json.loads(second)
    assert m1["msgtype"] == "markdown" and len(m1["markdown"]["content"].encode()) <= 4096
    image = base64.b64decode(m2["image"]["base64"])
    assert m2["msgtype"] == "image" and hashlib.md5(image).hexdigest() == m2["image"]["md5"]
    assert len(image) <= 2 * 1024 * 1024 and image[:4] in (
        b"\x89PNG",
        b"\xff\xd8\xff\xe0",
        b"\xff\xd8\xff\xdb",
    )
    # Feishu: a signed post with a link to the page
    ((_, _, body),) = by["feishu"]
    f = json.loads(body)
    mac = hmac.new(f"{f['timestamp']}\n{SECRET}".encode(), b"", hashlib.sha256).digest()
    assert f["sign"] == base64.b64encode(mac).decode() and f["msg_type"] == "post"
    post = f["content"]["post"]["zh_cn"]
    links = [c["href"] for row in post["content"] for c in row if c["tag"] == "a"]
    assert f"{base}/files/{site}/2026-02-13_night/report.html" in links
    # generic: the four files, signed over "ts.body"
    ((_, headers, body),) = by["generic"]
    mac_hex = hmac.new(SECRET.encode(), headers["X-Brain-Timestamp"].encode() + b"." + body, hashlib.sha256)
    assert headers["X-Brain-Signature"] == "sha256=" + mac_hex.hexdigest()
    sent = json.loads(body)
    assert {n: base64.b64decode(v["base64"]) for n, v in sent["files"].items()} == files
    assert sent["report"]["id"] == f"{site}:2026-02-13/night:zh"
    # the receiver answering 500: 2 attempts; SMTP unreachable: 3 attempts; then dead letters
    assert len(by["fail"]) == 2
    letters = {d["receiver"]: d for d in dead}
    assert set(letters) == {"broken", "mail_down"}
    assert all(d["reason"] == "report.failed" and d["source"] == "reports" for d in letters.values())
    assert "HTTP 500" in letters["broken"]["detail"] and TOKEN not in json.dumps(dead)
    assert text.count("receiver=mail_down") >= 3 and "ConnectionRefusedError" in text
    # e-mail: over STARTTLS with login, to both addresses, HTML body + the PNG and XLSX attached
    assert message["tls"] and message["login"] and sorted(message["to"]) == sorted(mail["to"])
    msg = email.message_from_bytes(message["data"], policy=policy.default)
    attached = {p.get_filename(): p.get_content() for p in msg.iter_attachments()}
    assert set(attached) == {"report.png", "report.xlsx"}
    assert attached["report.png"] == files["report.png"] and attached["report.xlsx"] == files["report.xlsx"]
    body_html = msg.get_body(("html",)).get_content()
    assert "班次报表" in body_html and body_html.count("cid:chart-") == 6 and "data:image" not in body_html
    assert msg["Subject"].startswith("班次报表")
    assert PASSWORD not in service.log.read_text(encoding="utf-8") and SECRET not in text


def test_influx_unreachable_is_retried_with_a_log_line_each(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """The service does not crash while InfluxDB is down: it retries (backoff) and logs each attempt."""
    from brain.report.period import Scope, shift_period
    from brain.report.service import Job, ReportService, ServiceOptions
    from processors.notify.config import parse_notify

    config = write_plant(tmp_path, "down")
    plant = load_plant(str(config))
    settings = Settings.from_env({"BRAIN_INFLUX_URL": f"http://127.0.0.1:{_free_port()}"})
    notify = parse_notify(
        {
            "receivers": {"j": {"kind": "generic", "url_env": "J"}},
            "reports": {"subscriptions": [{"site": "down", "receivers": ["j"]}]},
        }
    )
    service = ReportService(plant, notify, settings, ServiceOptions(retry_max_s=0.4, out=tmp_path))
    job = Job(
        "down:2026-02-13/night:zh", shift_period(plant, "2026-02-13/night"), Scope("down"), "zh", ("j",)
    )
    stop = threading.Event()

    def handle() -> None:
        with contextlib.suppress(Exception):  # InfluxUnavailable once stopped
            service.handle(job, stop)

    thread = threading.Thread(target=handle, daemon=True)
    with caplog.at_level(logging.WARNING, logger="brain.reports"):
        thread.start()
        time.sleep(2.5)
        stop.set()
        thread.join(10)
    retries = [r for r in caplog.records if r.getMessage() == "reports.influx_retry"]
    assert len(retries) >= 3 and [r.fields["attempt"] for r in retries[:3]] == [1, 2, 3]
    assert "unreachable" in retries[0].fields["error"]
