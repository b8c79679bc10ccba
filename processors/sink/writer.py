"""Confirmed InfluxDB writes: influxdb-client with SYNCHRONOUS writes and the sink's own batching.

`InfluxWriter.write(points)` returns only when InfluxDB confirmed every point it did not reject:
- the points it rejects as such (HTTP 400/413/422: a type conflict, outside the retention, a key
  too long, ...) are isolated by bisecting the batch and returned with InfluxDB's message, so the
  sink dead-letters exactly those (a 1.x "partial write" wrote the others; rewriting them is an
  idempotent overwrite);
- anything else (refused connection, timeout, 5xx, 429, 401/403, 404 database not found) raises
  `Unavailable`: nothing may be committed, the sink backs off and tries the whole batch again.

influxdb-client's batching WriteApi is not used on purpose: its flush() does nothing and it drops
failed batches after its retries, which would lose data behind committed Kafka offsets.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from processors.sink.lineproto import Point

REJECTING_STATUSES = frozenset({400, 413, 422})


class Unavailable(Exception):
    """InfluxDB did not confirm the write and may later: retry the whole batch."""


class InfluxWriter:
    """Writes points to the bucket of their target ("kpi" or "raw"); `buckets` maps target -> bucket.

    On InfluxDB 1.x a bucket is `database` or `database/retention_policy`.
    """

    def __init__(
        self,
        *,
        url: str,
        token: str,
        org: str,
        buckets: dict[str, str],
        timeout_ms: int = 10_000,
    ) -> None:
        from influxdb_client import InfluxDBClient
        from influxdb_client.client.write_api import SYNCHRONOUS

        self.url = url
        self.org = org
        self.buckets = dict(buckets)
        self._client = InfluxDBClient(url=url, token=token or None, org=org, timeout=timeout_ms)
        self._api = self._client.write_api(write_options=SYNCHRONOUS)
        self.requests = 0

    def close(self) -> None:
        self._client.close()

    def write(self, points: Sequence[Point]) -> list[tuple[int, str]]:
        """Write all points; return (index, InfluxDB's message) for each point InfluxDB rejected."""
        by_target: dict[str, list[int]] = {}
        for i, point in enumerate(points):
            by_target.setdefault(point.target, []).append(i)
        rejected: list[tuple[int, str]] = []
        for target, indexes in by_target.items():
            bucket = self.buckets[target]
            lines = [points[i].line() for i in indexes]
            rejected += [(indexes[j], detail) for j, detail in self._write(bucket, lines, 0)]
        return sorted(rejected)

    def _write(self, bucket: str, lines: list[str], base: int) -> list[tuple[int, str]]:
        status, detail = self._post(bucket, lines)
        if status is None:
            return []
        if len(lines) == 1:
            return [(base, f"HTTP {status}: {detail}")]
        mid = len(lines) // 2
        return self._write(bucket, lines[:mid], base) + self._write(bucket, lines[mid:], base + mid)

    def _post(self, bucket: str, lines: list[str]) -> tuple[int | None, str]:
        """(None, "") when confirmed, (status, message) when InfluxDB rejected the points."""
        import urllib3
        from influxdb_client import WritePrecision
        from influxdb_client.rest import ApiException

        self.requests += 1
        try:
            self._api.write(
                bucket=bucket, org=self.org, record="\n".join(lines), write_precision=WritePrecision.MS
            )
        except ApiException as exc:
            message = _message(exc.body) or str(exc.reason)
            if exc.status in REJECTING_STATUSES:
                return exc.status, message
            raise Unavailable(f"HTTP {exc.status} from {self.url} writing to {bucket!r}: {message}") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise Unavailable(f"{type(exc).__name__} writing to {self.url}: {exc}") from None
        return None, ""


def _message(body: Any) -> str:
    if not body:
        return ""
    text = body.decode(errors="replace") if isinstance(body, bytes) else str(body)
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()
    if isinstance(data, dict):
        return str(data.get("message") or data.get("error") or text).strip()
    return text.strip()
