"""Dead letters: what the bridge could not accept, kept whole so that it can be replayed or audited.

One dead letter is one JSON object on `brain.deadletter`::

    {"topic": "brain/v1/s1/l1/m1/power_kw", "payload": "<base64 of the original bytes>",
     "reason": "value.not_finite", "detail": "power_kw: NaN is not a finite number",
     "received_ts": 1700000000000, "source": "mqtt", "metric": "power_kw"}

`metric` is present when one reading of a message was rejected and the others accepted.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import orjson

from ingest.reasons import Reason

MAX_DETAIL_CHARS = 500
# The payload a dead letter keeps: base64 of 256 KiB is ~342 KiB, well under Kafka's default 1 MB
# record limit. A bigger payload (payload.too_large; Mosquitto's default has no size limit) is cut
# to this, with `payload_bytes` = its real size: a whole multi-MB payload made a record that
# producer.send() refuses (MessageSizeTooLargeError) and the bridge retried it forever.
MAX_KEPT_PAYLOAD_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One rejected message, or one rejected reading of a message (then `metric` names it)."""

    topic: str
    payload: bytes
    reason: Reason
    detail: str
    received_ts: int
    source: str
    metric: str | None = None
    payload_bytes: int | None = None  # set when `payload` is only the first bytes of a bigger one

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "topic": self.topic,
            "payload": base64.b64encode(self.payload).decode("ascii"),
            "reason": self.reason.value,
            "detail": self.detail,
            "received_ts": self.received_ts,
            "source": self.source,
        }
        if self.metric is not None:
            out["metric"] = self.metric
        if self.payload_bytes is not None:
            out["payload_bytes"] = self.payload_bytes
            out["truncated"] = True
        return out

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())


def dead_letter(
    topic: str,
    payload: bytes,
    reason: Reason,
    detail: str,
    received_ts: int,
    source: str,
    metric: str | None = None,
) -> DeadLetter:
    """Build a dead letter; the detail is cut to a bounded length (it may quote the input)."""
    if len(detail) > MAX_DETAIL_CHARS:
        detail = detail[: MAX_DETAIL_CHARS - 1] + "…"
    if not topic.isascii():  # a lone surrogate cannot be JSON-encoded: keep it visible, escaped
        topic, detail = _utf8_safe(topic), _utf8_safe(detail)
    size = len(payload)
    if size > MAX_KEPT_PAYLOAD_BYTES:
        return DeadLetter(
            topic, bytes(payload[:MAX_KEPT_PAYLOAD_BYTES]), reason, detail, received_ts, source, metric, size
        )
    return DeadLetter(topic, bytes(payload), reason, detail, received_ts, source, metric)


def _utf8_safe(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def dead_letter_record(
    topic: str,
    payload: bytes,
    reason: Reason,
    detail: str,
    received_ts: int,
    source: str,
    metric: str | None = None,
) -> dict[str, Any]:
    """The dead-letter JSON object for `brain.deadletter` (pure)."""
    return dead_letter(topic, payload, reason, detail, received_ts, source, metric).to_dict()


def from_dict(data: dict[str, Any]) -> DeadLetter:
    """Read a dead-letter record back (replay tools, tests)."""
    return DeadLetter(
        data["topic"],
        base64.b64decode(data["payload"]),
        Reason(data["reason"]),
        data["detail"],
        data["received_ts"],
        data["source"],
        data.get("metric"),
        data.get("payload_bytes"),
    )
