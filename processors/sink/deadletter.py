"""The sink's dead letters (pure): same JSON shape as ingest's, with `source` "sink".

{"topic": "brain.kpis", "partition": 3, "offset": 1207, "payload": "<base64 of the value>",
 "reason": "kpi.bad_window", "detail": "kpi.window: expected one of ..., found '2m'",
 "received_ts": 1700000000000, "source": "sink"}
"""

from __future__ import annotations

import base64
from typing import Any

import orjson


def dead_letter(
    *,
    topic: str,
    partition: int,
    offset: int,
    payload: bytes | None,
    reason: str,
    detail: str,
    received_ts: int,
    source: str = "sink",
) -> bytes:
    record: dict[str, Any] = {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "payload": base64.b64encode(payload or b"").decode("ascii"),
        "reason": str(reason),
        "detail": detail,
        "received_ts": received_ts,
        "source": source,  # "sink", "export" (processors/export) or "city" (brain/city/service.py)
    }
    return orjson.dumps(record)
