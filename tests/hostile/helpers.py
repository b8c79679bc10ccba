"""Shared invariants for the hostile-input tests (pure parsers, fuzzing, the flood)."""

from __future__ import annotations

import base64
import math
import re

import orjson

from brain.records import Reading
from ingest.deadletter import MAX_KEPT_PAYLOAD_BYTES
from ingest.outcome import Outcome
from ingest.reasons import ALL_REASONS

NOW = 1_795_000_000_000  # 2026-11-18T11:06:40Z: the receive time of every pure case
NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")
IGNORED_BY_DESIGN = ("platform alert topic", "sparkplug ", "stale NDEATH")


def check_outcome(out: Outcome, topic: str, payload: bytes, received_ts: int = NOW) -> None:
    """The invariants every message must satisfy, whatever it is."""
    assert out.readings or out.dead_letters or out.ignored, "message vanished"
    if out.ignored is not None:
        assert out.ignored.startswith(IGNORED_BY_DESIGN), out.ignored
    for r in out.readings:
        for level in (r.site, r.line, r.machine, r.metric):
            assert NAME.match(level), level
        assert type(r.value) in (int, float, str, bool)
        if type(r.value) is float:
            assert math.isfinite(r.value)
        if type(r.value) is int:
            assert -(2**63) <= r.value < 2**64  # what orjson can put on Kafka
        assert type(r.ts) is int and r.received_ts == received_ts
        data = orjson.loads(orjson.dumps(r.to_dict()))  # the exact bytes the bridge sends
        assert Reading.from_dict(data) == r
    for dl in out.dead_letters:
        record = orjson.loads(dl.to_json())
        assert record["reason"] in ALL_REASONS
        kept = base64.b64decode(record["payload"])
        if len(payload) > MAX_KEPT_PAYLOAD_BYTES:  # only payload.too_large gets here, cut and marked
            assert record["reason"] == "payload.too_large" and record["truncated"] is True
            assert record["payload_bytes"] == len(payload) and kept == bytes(payload[: len(kept)])
            assert len(dl.to_json()) < 1_000_000  # fits Kafka's default record size
        else:
            assert kept == bytes(payload) and "truncated" not in record
        assert record["detail"] and len(record["detail"]) <= 500
        assert record["received_ts"] == received_ts
        assert record["source"] in ("mqtt", "sparkplug")
    # a 256 KiB batch must not explode into megabytes of dead letters
    assert len(out.dead_letters) <= 21
