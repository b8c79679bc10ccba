"""Webhook requests per receiver kind (pure): URL, headers and body for one alert event.

- dingtalk: custom robot. Body `{"msgtype": "markdown", "markdown": {"title", "text"}}`. With a
  secret ("加签"): string_to_sign = f"{timestamp_ms}\\n{secret}", HMAC-SHA256 keyed by the secret,
  Base64, then URL-encoded, appended as `&timestamp=...&sign=...` to the webhook URL.
- wecom: group robot (`.../cgi-bin/webhook/send?key=...`). Body
  `{"msgtype": "markdown", "markdown": {"content"}}`; no signature (the key is in the URL).
- feishu: custom bot (`.../open-apis/bot/v2/hook/...`). Body `{"msg_type": "text", "content":
  {"text"}}`; with a secret, also `timestamp` (seconds, a string) and `sign` =
  Base64(HMAC-SHA256 keyed by f"{timestamp}\\n{secret}" over an empty message).
- generic: the alert event JSON itself; with a secret, headers `X-Brain-Timestamp` (ms) and
  `X-Brain-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

SEVERITY_ICON = {"critical": "🔴", "warning": "🟠", "info": "🔵"}


@dataclass(frozen=True, slots=True)
class Request:
    url: str
    body: bytes
    headers: dict[str, str]

    def __repr__(self) -> str:  # never print the URL: it carries the robot's token
        return f"Request(<url hidden>, {len(self.body)} bytes)"


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature, URL-encoded (as it goes into the query string)."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def feishu_sign(secret: str, timestamp_s: int) -> str:
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def generic_sign(secret: str, timestamp_ms: int, body: bytes) -> str:
    return (
        "sha256=" + hmac.new(secret.encode(), f"{timestamp_ms}.".encode() + body, hashlib.sha256).hexdigest()
    )


def text_of(event: dict[str, Any], lang: str) -> str:
    if lang == "both":
        return f"{event.get('message_zh') or ''}\n{event.get('message_en') or event.get('message') or ''}"
    return event.get(f"message_{lang}") or event.get("message") or f"{event.get('rule')} {event.get('state')}"


def markdown_of(event: dict[str, Any], lang: str) -> tuple[str, str]:
    """(title, markdown text) for DingTalk/WeCom."""
    icon = "✅" if event.get("state") == "resolved" else SEVERITY_ICON.get(str(event.get("severity")), "")
    title = f"{icon} {event.get('rule')} {event.get('state')}".strip()
    lines = [f"### {title}", "", text_of(event, lang).replace("\n", "\n\n")]
    if event.get("runbook"):
        lines += ["", f"[runbook]({event['runbook']})"]
    return title, "\n".join(lines)


def build_request(
    kind: str, event: dict[str, Any], url: str, secret: str | None, now_ms: int, lang: str
) -> Request:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if kind == "dingtalk":
        title, text = markdown_of(event, lang)
        body: Any = {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
        if secret:
            sep = "&" if "?" in url else "?"
            url = f"{url}{sep}timestamp={now_ms}&sign={dingtalk_sign(secret, now_ms)}"
    elif kind == "wecom":
        _, text = markdown_of(event, lang)
        body = {"msgtype": "markdown", "markdown": {"content": text}}
    elif kind == "feishu":
        body = {"msg_type": "text", "content": {"text": text_of(event, lang)}}
        if secret:
            ts = now_ms // 1000
            body = {"timestamp": str(ts), "sign": feishu_sign(secret, ts), **body}
    elif kind == "generic":
        data = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        if secret:
            headers["X-Brain-Timestamp"] = str(now_ms)
            headers["X-Brain-Signature"] = generic_sign(secret, now_ms, data)
        return Request(url, data, headers)
    else:
        raise ValueError(f"unknown receiver kind {kind!r}")
    return Request(url, json.dumps(body, ensure_ascii=False).encode(), headers)


def accepted(kind: str, status: int, body: bytes) -> bool:
    """2xx, and for the robots an `errcode`/`code` of 0 in the JSON answer when there is one."""
    if not 200 <= status < 300:
        return False
    if kind == "generic":
        return True
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        return True
    if not isinstance(answer, dict):
        return True
    code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
    return code in (0, None)
