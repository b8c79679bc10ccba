"""Bad messages for dead-letter testing: one kind per ingest rule they break. Pure.

At a rate of `rate` per sample (one machine's readings at one instant), a bad message is added
next to the good ones (the good stream is the same whatever the rate). Kinds rotate, so every
kind appears once `rate` x samples >= len(BAD_KINDS). Each names the dead-letter reason ingest
must give it (`ingest.reasons.Reason`).
"""

from __future__ import annotations

import random
from typing import NamedTuple

import orjson

from ingest.reasons import Reason

FUTURE_MS = 400 * 86_400_000  # a device clock a year ahead: rejected as ts.future unless very old data

BAD_KINDS: dict[str, Reason] = {
    "bad_json": Reason.PAYLOAD_BAD_JSON,
    "nan": Reason.VALUE_NOT_FINITE,
    "negative_counter": Reason.VALUE_NEGATIVE_COUNTER,
    "unknown_state": Reason.STATE_UNKNOWN,
    "future_ts": Reason.TS_FUTURE,
    "bad_topic": Reason.TOPIC_BAD_LEVEL,
}


class BadMessage(NamedTuple):
    kind: str
    topic: str
    payload: bytes
    reason: str  # the dead-letter reason ingest gives it
    ts: int

    def record(self) -> bytes:
        """One JSON line for `--bad-out`."""
        return (
            orjson.dumps(
                {
                    "kind": self.kind,
                    "reason": self.reason,
                    "topic": self.topic,
                    "payload": self.payload.decode("utf-8", "replace"),
                    "ts": self.ts,
                }
            )
            + b"\n"
        )


class BadMaker:
    def __init__(self, keys: list[tuple[str, str, str]], rate: float, rng: random.Random) -> None:
        self.topics = [f"brain/v1/{s}/{ln}/{m}" for s, ln, m in keys]
        self.rate = rate
        self.rng = rng
        self.kinds = tuple(BAD_KINDS)
        self.n = 0

    def maybe(self, ts: int, index: int) -> BadMessage | None:
        if self.rate <= 0 or self.rng.random() >= self.rate:
            return None
        kind = self.kinds[self.n % len(self.kinds)]
        self.n += 1
        return make(kind, self.topics[index], ts, self.rng)


def make(kind: str, base: str, ts: int, rng: random.Random) -> BadMessage:
    """One bad message of `kind` for the machine topic `base` (brain/v1/site/line/machine)."""
    t = str(ts).encode()
    if kind == "bad_json":
        topic, payload = f"{base}/power_kw", b'{"value": 12.5, "ts": ' + t[: max(1, len(t) // 2)]
    elif kind == "nan":
        topic, payload = f"{base}/power_kw", b'{"value": NaN, "ts": ' + t + b"}"
    elif kind == "negative_counter":
        value = -rng.randint(1, 1000)
        topic, payload = f"{base}/count_total", orjson.dumps({"value": value, "ts": ts})
    elif kind == "unknown_state":
        topic, payload = f"{base}/state", orjson.dumps({"value": rng.choice(["exploded", 97]), "ts": ts})
    elif kind == "future_ts":
        topic, payload = f"{base}/power_kw", orjson.dumps({"value": 1.0, "ts": ts + FUTURE_MS})
    elif kind == "bad_topic":
        topic, payload = f"{base}/power kw!", orjson.dumps({"value": 1.0, "ts": ts})
    else:
        raise ValueError(f"unknown bad message kind {kind!r}; known: {', '.join(BAD_KINDS)}")
    return BadMessage(kind, topic, payload, BAD_KINDS[kind].value, ts)
