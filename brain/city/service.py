"""`brain city --register REGISTER.yaml` without `--input`: the city stream service.

It reads every `<enterprise>.brain.export` topic of the city cluster (what MirrorMaker 2 writes,
`brain mirror`), feeds the same `Ledger` the batch command feeds from a file, and every
`--interval-s` re-evaluates the periods (year, month) that received records and writes them to
the city InfluxDB (brain/city/influx.py). So its figures are `brain city`'s on the same records.

- Idempotent: the ledger keeps the last export per key (MM2 re-deliveries, re-exported
  corrections) and the points overwrite the same series and time.
- Durable without a state store of its own: the mirrored topics are the store (a factory's
  export is a few hundred records a year). At start the service reads them from the beginning
  and rebuilds its ledger; it commits nothing.
- A record it cannot take goes to the city's `brain.deadletter` with the reason (`source` city):
  not JSON, a bad export (`export.invalid`), an enterprise not in the register or on another
  enterprise's topic; counted, never a crash.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from brain.city.influx import CITY_DATABASE, CITY_RETENTION, city_points
from brain.city.ledger import Ledger
from brain.city.register import Register
from brain.logs import event
from brain.settings import TOPIC_DEADLETTER, Settings

log = logging.getLogger("brain.city")
EXPORT_SUFFIX = ".brain.export"
EXPORT_TOPICS = re.compile(r"^[A-Za-z0-9_-]+\.brain\.export$")
DEAD_REASONS = ("city.unknown_enterprise", "city.enterprise_mismatch")


def enterprise_of(topic: str) -> str:
    """`e1.brain.export` -> `e1` (MM2's DefaultReplicationPolicy: `<source alias>.<topic>`)."""
    return topic[: -len(EXPORT_SUFFIX)]


def dead_reason(reason: str) -> tuple[str, str]:
    """The ledger's `code: detail` -> (dead-letter reason, detail)."""
    code = reason.split(":", 1)[0]
    return (code if code in DEAD_REASONS else "export.invalid"), reason


def periods_of(start_ms: Any, timezone: str) -> tuple[int, str] | None:
    """(year, "YYYY-MM") of a record's window start in the register's time zone."""
    if isinstance(start_ms, bool) or not isinstance(start_ms, int):
        return None
    local = dt.datetime.fromtimestamp(start_ms / 1000, ZoneInfo(timezone))
    return local.year, f"{local.year:04d}-{local.month:02d}"


@dataclass
class CityState:
    """The pure part of the service: the ledger and the periods to evaluate again."""

    register: Register
    ledger: Ledger = field(init=False)
    dirty: set[tuple[int, str | None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.ledger = Ledger(self.register, keep_rejected=False)

    def take(self, topic: str, value: bytes | None) -> tuple[str, str] | None:
        """One mirrored message: None when accepted, else (dead-letter reason, detail)."""
        try:
            record = json.loads(value or b"")
        except ValueError as exc:
            self.ledger.counters["rejected"] += 1
            return "payload.bad_json", f"not JSON: {exc}"
        reason = self.ledger.add(record, source=enterprise_of(topic))
        if reason is not None:
            return dead_reason(reason)
        found = periods_of(record["start"], self.register.timezone)
        if found is not None:
            year, month = found
            self.dirty |= {(year, None), (year, month)}
        return None

    def evaluate_dirty(self) -> list[dict[str, Any]]:
        """Rows of every period that changed since the last call (years and months)."""
        rows: list[dict[str, Any]] = []
        for year, month in sorted(self.dirty, key=lambda p: (p[0], p[1] or "")):
            rows += self.ledger.evaluate(year, month).rows()
        self.dirty.clear()
        return rows


def serve(register: Register, settings: Settings, *, interval_s: float = 5.0, group: str = "brain-city",
          run_for_s: float | None = None, stop: threading.Event | None = None,
          database: str = CITY_DATABASE) -> dict[str, int]:  # fmt: skip
    """Run until interrupted, `run_for_s` has passed or `stop` is set; returns the counters.
    `database`: the city InfluxDB database (default `brain_city`; a test uses its own)."""
    from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer

    from brain.influx_admin import ensure_databases
    from brain.kafka_admin import kafka_python_client
    from processors.sink.deadletter import dead_letter
    from processors.sink.writer import InfluxWriter, Unavailable

    state = CityState(register)
    ensure_databases(settings.influx_url, token=settings.influx_token, databases={database: CITY_RETENTION})
    writer = InfluxWriter(url=settings.influx_url, token=settings.influx_token, org=settings.influx_org,
                          buckets={"city": f"{database}/{CITY_RETENTION[0]}"})  # fmt: skip
    client = {"kafka_client": kafka_python_client(), "bootstrap_servers": settings.kafka_bootstrap,
              **settings.kafka_kwargs()}  # fmt: skip
    consumer = KafkaConsumer(**client, group_id=group, enable_auto_commit=False, auto_offset_reset="earliest",
                             metadata_max_age_ms=5000)  # fmt: skip
    producer = KafkaProducer(**client, acks="all")

    class _FromTheBeginning(
        ConsumerRebalanceListener
    ):  # the mirrored topics are the store: rebuild the ledger from them
        def on_partitions_assigned(self, assigned: Any) -> None:
            if assigned:
                consumer.seek_to_beginning(*assigned)

        def on_partitions_revoked(self, revoked: Any) -> None:
            pass

    consumer.subscribe(pattern=EXPORT_TOPICS.pattern, listener=_FromTheBeginning())
    counters = {"written": 0, "dead": 0}
    event(log, "city.started", enterprises=len(register.enterprises), interval_s=interval_s)
    began = next_eval = time.monotonic()
    try:
        while (run_for_s is None or time.monotonic() - began < run_for_s) and not (stop and stop.is_set()):
            for tp, messages in consumer.poll(timeout_ms=500, max_records=5000).items():
                for message in messages:
                    rejected = state.take(tp.topic, message.value)
                    if rejected is not None:
                        reason, detail = rejected
                        producer.send(TOPIC_DEADLETTER, dead_letter(
                            topic=tp.topic, partition=tp.partition, offset=message.offset,
                            payload=message.value, reason=reason, detail=detail,
                            received_ts=int(time.time() * 1000), source="city"))  # fmt: skip
                        counters["dead"] += 1
                        event(log, "city.rejected", logging.WARNING, topic=tp.topic, offset=message.offset,
                              reason=reason, detail=detail[:200])  # fmt: skip
            if state.dirty and time.monotonic() >= next_eval:
                producer.flush()
                periods = set(state.dirty)
                rows = state.evaluate_dirty()
                next_eval = time.monotonic() + interval_s
                try:
                    refused = writer.write(city_points(rows, register.timezone))
                except Unavailable as exc:  # InfluxDB away: the same periods again next time
                    state.dirty |= periods
                    event(log, "city.influx_unavailable", logging.WARNING, detail=str(exc)[:200])
                    continue
                counters["written"] += len(rows) - len(refused)
                event(log, "city.evaluated", rows=len(rows), refused=len(refused), **state.ledger.counters)
    except KeyboardInterrupt:
        pass
    finally:
        producer.flush()
        producer.close()
        consumer.close()
        writer.close()
    return {**state.ledger.counters, **counters}
