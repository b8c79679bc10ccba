"""Notifier, pure parts: NOTIFY.yaml validation, payloads and signatures per receiver kind,
retries with backoff, rate limit, dead letters, MQTT topics; secrets never logged."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import urllib.parse
from typing import Any

import pytest

from brain.logs import _LogfmtFormatter
from processors.notify.config import NotifyConfigError, parse_notify
from processors.notify.delivery import Deliverer, backoff_delays
from processors.notify.formats import build_request
from processors.notify.mqtt import alert_topic, publications
from processors.notify.service import Notifier

SECRET = "SECtop-secret-0123456789"
TOKEN_URL = "https://robot.example.com/send?access_token=tok-abcdef987654"
ENV = {"BOT_URL": TOKEN_URL, "BOT_SECRET": SECRET}
EVENT = {"id": "hot:s1/l1/m1", "rule": "hot", "state": "firing", "severity": "critical", "site": "s1",
         "line": "l1", "machine": "m1", "started": 1, "notification": 1, "message": "hot!",
         "message_en": "hot!", "message_zh": "过热！", "runbook": "https://wiki/x"}  # fmt: skip
W = {"kind": "wecom", "url_env": "U"}


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """Everything logged, as the service writes it: message AND structured fields."""
    fmt = _LogfmtFormatter()
    return "\n".join(fmt.format(r) for r in caplog.records)


def config(kind: str = "dingtalk", **receiver: Any):
    return parse_notify({
        "mqtt": {"enabled": False},
        "receivers": {"bot": {"kind": kind, "url_env": "BOT_URL", "secret_env": "BOT_SECRET", **receiver}},
        "routes": [{"site": "s1", "min_severity": "warning", "receivers": ["bot"]}],
    }, "notify.yaml")  # fmt: skip


def test_dingtalk_markdown_and_signature() -> None:
    req = build_request("dingtalk", EVENT, TOKEN_URL, SECRET, 1_700_000_000_123, "zh")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(req.url).query)
    assert query["access_token"] == ["tok-abcdef987654"] and query["timestamp"] == ["1700000000123"]
    expected = base64.b64encode(
        hmac.new(SECRET.encode(), f"1700000000123\n{SECRET}".encode(), hashlib.sha256).digest()
    ).decode()
    assert query["sign"] == [expected]  # parse_qs undoes the URL encoding
    body = json.loads(req.body)
    assert (
        body["msgtype"] == "markdown" and "过热！" in body["markdown"]["text"] and body["markdown"]["title"]
    )


def test_wecom_markdown() -> None:
    req = build_request("wecom", EVENT, "https://qyapi.example/send?key=k", None, 0, "en")
    assert req.url == "https://qyapi.example/send?key=k"
    body = json.loads(req.body)
    assert body["msgtype"] == "markdown" and "hot!" in body["markdown"]["content"]


def test_feishu_text_and_signature() -> None:
    req = build_request(
        "feishu", EVENT, "https://open.feishu.example/hook/x", SECRET, 1_700_000_000_999, "both"
    )
    body = json.loads(req.body)
    assert body["timestamp"] == "1700000000" and body["msg_type"] == "text"
    key = f"1700000000\n{SECRET}".encode()
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert body["content"]["text"] == "过热！\nhot!"


def test_generic_json_and_signature() -> None:
    req = build_request("generic", EVENT, "http://h/x", SECRET, 42, "zh")
    assert json.loads(req.body) == EVENT
    mac = hmac.new(SECRET.encode(), b"42." + req.body, hashlib.sha256).hexdigest()
    assert req.headers["X-Brain-Signature"] == f"sha256={mac}" and req.headers["X-Brain-Timestamp"] == "42"
    assert "access_token" not in repr(req)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"receivers": {"b": {"kind": "dingtalk", "url": TOKEN_URL}}}, "receivers.b.url: expected no secret"),
        ({"receivers": {"b": {**W, "secret": "x"}}}, "receivers.b.secret: expected no secret"),
        ({"receivers": {"b": {**W, "kind": "slack"}}}, "receivers.b.kind: expected one of dingtalk"),
        ({"receivers": {"b": {**W, "url_env": "bad name"}}}, "receivers.b.url_env: expected an environment"),
        ({"receivers": {"b": W}, "routes": [{"receivers": ["c"]}]}, "routes[0].receivers[0]: expected a rec"),
        ({"receivers": {"b": W}, "routes": [{"receivers": ["b"], "severity": "high"}]}, "routes[0].severity"),
        ({"mqtt": {"qos": 3}}, "mqtt.qos: expected 0, 1 or 2"),
        ({"routes": [{"receivers": []}]}, "routes[0].receivers: expected a non-empty list"),
    ],
)  # fmt: skip
def test_config_errors(data: dict, message: str) -> None:
    with pytest.raises(NotifyConfigError) as err:
        parse_notify(data, "notify.yaml")
    assert str(err.value).startswith("notify.yaml: ") and message in str(err.value), str(err.value)
    assert TOKEN_URL not in str(err.value)


def test_missing_env_names_the_variable_only() -> None:
    with pytest.raises(NotifyConfigError, match="environment variable BOT_SECRET to be set"):
        config().check_env({"BOT_URL": TOKEN_URL})


def test_routes_select_by_site_severity_and_state() -> None:
    cfg = parse_notify({
        "receivers": {"a": {"kind": "generic", "url_env": "A"}, "b": {"kind": "generic", "url_env": "B"}},
        "routes": [{"site": "s1", "line": "l*", "severity": "critical", "receivers": ["a"]},
                   {"states": ["firing"], "receivers": ["a", "b"]}],
    })  # fmt: skip
    assert [r.name for r in cfg.targets(EVENT)] == ["a", "b"]
    assert [r.name for r in cfg.targets({**EVENT, "state": "resolved"})] == ["a"]
    assert [r.name for r in cfg.targets({**EVENT, "state": "resolved", "site": "s2"})] == []
    assert [r.name for r in cfg.targets({**EVENT, "severity": "info", "line": None})] == ["a", "b"]
    assert [r.name for r in cfg.targets({**EVENT, "severity": "info", "state": "resolved"})] == []


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.t += s


def test_retries_with_exponential_backoff_then_dead_letter(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    calls: list[Any] = []

    def post(req, timeout):
        calls.append(req)
        return 500, b"internal error"

    cfg = config("generic", max_attempts=4, backoff_s=0.5, backoff_max_s=1.5)
    d = Deliverer(post=post, sleep=clock.sleep, clock=clock, env=ENV)
    with caplog.at_level(logging.DEBUG):
        outcome = d.deliver(cfg.receivers["bot"], EVENT)
    assert (outcome.ok, outcome.attempts, outcome.reason) == (False, 4, "notify.failed")
    assert clock.sleeps == [0.5, 1.0, 1.5] == backoff_delays(cfg.receivers["bot"])
    assert "HTTP 500" in outcome.detail and len(calls) == 4
    for secret in (SECRET, "tok-abcdef987654", TOKEN_URL):
        assert secret not in logged(caplog) and secret not in outcome.detail


def test_robot_errcode_is_a_failure_and_success_stops_retrying() -> None:
    answers = iter([(200, b'{"errcode": 310000, "errmsg": "sign not match"}'), (200, b'{"errcode": 0}')])
    clock = FakeClock()
    d = Deliverer(post=lambda req, t: next(answers), sleep=clock.sleep, clock=clock, env=ENV)
    outcome = d.deliver(config().receivers["bot"], EVENT)
    assert (outcome.ok, outcome.attempts) == (True, 2)


def test_rate_limit_waits_then_gives_up() -> None:
    clock = FakeClock()
    d = Deliverer(post=lambda req, t: (200, b"{}"), sleep=clock.sleep, clock=clock, env=ENV)
    receiver = config("wecom", rate_per_min=2, max_wait_s=40).receivers["bot"]
    assert [d.deliver(receiver, EVENT).ok for _ in range(2)] == [True, True]  # the burst
    assert clock.sleeps == []
    assert d.deliver(receiver, EVENT).ok and clock.sleeps == [30.0]  # one token every 30 s
    clock.t += 0  # immediately again: 30 s wait <= 40 s max
    assert d.deliver(receiver, EVENT).ok and clock.sleeps == [30.0, 30.0]
    tight = config("wecom", rate_per_min=1, max_wait_s=10).receivers["bot"]
    d2 = Deliverer(post=lambda req, t: (200, b"{}"), sleep=clock.sleep, clock=clock, env=ENV)
    assert d2.deliver(tight, EVENT).ok
    outcome = d2.deliver(tight, EVENT)
    assert (outcome.ok, outcome.reason) == (False, "notify.rate_limited")


def test_network_errors_are_retried_and_never_show_the_url(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()

    def post(req, timeout):
        raise OSError("URLError: ConnectionRefusedError")

    d = Deliverer(post=post, sleep=clock.sleep, clock=clock, env=ENV)
    with caplog.at_level(logging.DEBUG):
        outcome = d.deliver(config(max_attempts=2).receivers["bot"], EVENT)
    assert not outcome.ok and "network error" in outcome.detail
    assert SECRET not in logged(caplog) and "tok-abcdef987654" not in logged(caplog)


def test_notifier_dead_letters_and_deduplicates(caplog: pytest.LogCaptureFixture) -> None:
    sent: list[tuple] = []

    class Producer:
        def send(self, topic, key, value):
            sent.append((topic, key, json.loads(value)))
            return type("F", (), {"get": lambda self, t: None})()

    published: list[dict] = []
    clock = FakeClock()
    d = Deliverer(post=lambda req, t: (500, b""), sleep=clock.sleep, clock=clock, env=ENV)
    n = Notifier(config("generic", max_attempts=2), settings=None, deliverer=d,
                 publisher=type("P", (), {"publish": lambda self, e: published.append(e)})())  # fmt: skip
    n.producer = Producer()
    raw = json.dumps(EVENT).encode()
    with caplog.at_level(logging.DEBUG):
        n.handle(raw)
        n.handle(raw)  # a redelivery: nothing again
        n.handle(b"not json")
    assert len(published) == 1 and n.counts["dupes"] == 1 and n.counts["bad"] == 1
    ((topic, key, record),) = sent
    assert (topic, key, record["reason"], record["receiver"], record["source"]) == (
        "brain.deadletter",
        b"hot:s1/l1/m1",
        "notify.failed",
        "bot",
        "notify",
    )
    assert json.loads(base64.b64decode(record["payload"])) == EVENT
    assert (
        SECRET not in logged(caplog) and "tok-abcdef987654" not in logged(caplog) and SECRET not in repr(sent)
    )


def test_mqtt_topics_and_retained_state() -> None:
    assert alert_topic(EVENT) == "brain/v1/alerts/s1/l1/m1/hot"
    assert alert_topic({"site": "s1", "rule": "demand"}) == "brain/v1/alerts/s1/_/_/demand"
    (firing,) = publications(EVENT)
    assert firing[0] == "brain/v1/alerts/s1/l1/m1/hot" and firing[2] is True
    resolved, clear = publications({**EVENT, "state": "resolved"})
    assert (resolved[2], clear[1], clear[2]) == (False, b"", True)


def test_example_notify_config_loads() -> None:
    from pathlib import Path

    from processors.notify.config import load_notify

    cfg = load_notify(str(Path(__file__).resolve().parents[2] / "examples" / "notify" / "alerts-notify.yaml"))
    assert {r.kind for r in cfg.receivers.values()} == {"dingtalk", "wecom", "feishu", "generic"}
    assert cfg.mqtt.enabled and cfg.mqtt.qos == 1
