"""`brain export` on the real Kafka: KPI records in, the export records out, at least once.

Fresh topics per test (the shared brain.kpis carries other tests' records). One exporter runs
over a mixed input, is stopped, and a second one (same group) must resume after the committed
offsets: nothing is re-exported that was committed, the new record is exported.
"""

from __future__ import annotations

import threading
import time
import uuid

import orjson
import pytest

from brain.kafka_admin import ensure_topics
from brain.plant.export import Export
from brain.settings import Settings
from brain.vocabulary import EXPORT_DEFAULT_FIELDS, KPI_IDENTITY_FIELDS, KPI_RECORD_FIELDS
from processors.export.service import Exporter, ExportOptions
from tests.sink.helpers import _wait_for_metadata, kpi_key, produce

pytestmark = pytest.mark.stack

DAY_MS = 86_400_000
T0 = 1_780_000_000_000 // DAY_MS * DAY_MS


def _record(site: str, scope: str, window: str, final: bool, day: int, kwh: float) -> dict:
    rec: dict = {f: 1.0 for f in KPI_RECORD_FIELDS}
    rec.update(
        scope=scope,
        site=site,
        line=None if scope == "site" else "l1",
        machine="m1" if scope == "machine" else None,
        window=window,
        start=T0 + day * DAY_MS,
        end=T0 + (day + 1) * DAY_MS if window == "day" else T0 + day * DAY_MS + 3_600_000,
        shift=None,
        final=final,
        energy_kwh=kwh,
        performance_suspect=False,
        cnc_spindle_utilisation=0.5,  # a pack field: not in the allowlist
    )
    return rec


def _read_all(settings: Settings, topic: str, expected: int, timeout_s: float = 30.0) -> list:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=1000,
    )
    out: list = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            out.extend(consumer)
            if len(out) >= expected:
                break
        out.extend(consumer)  # anything beyond the expected count would show here
    finally:
        consumer.close()
    return out


def _run(settings: Settings, export: Export, options: ExportOptions, until: int) -> Exporter:
    """Run an exporter until it has consumed `until` records (or 30 s), then stop it."""
    exporter = Exporter(settings, export, options)
    stop = threading.Event()
    thread = threading.Thread(target=exporter.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while exporter.stats.consumed < until and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    thread.join(15)
    assert not thread.is_alive()
    return exporter


def test_export_on_real_kafka(stack: Settings) -> None:
    run = uuid.uuid4().hex[:10]
    site = f"x{run}"
    topics = {k: f"exporttest.{run}.{k}" for k in ("kpis", "export", "dl")}
    ensure_topics(stack, dict.fromkeys(topics.values(), 3))
    _wait_for_metadata(stack, list(topics.values()))
    options = ExportOptions(
        input_topic=topics["kpis"],
        output_topic=topics["export"],
        deadletter_topic=topics["dl"],
        group=f"exporttest-{run}",
        status_interval_s=60,
    )
    export = Export("ent-7")
    records = [
        _record(site, "line", "day", False, 0, 10.0),  # provisional: not exported
        _record(site, "line", "day", True, 0, 12.0),  # exported
        _record(site, "line", "day", True, 0, 12.5),  # a correction of the final window: exported again
        _record(site, "site", "day", True, 0, 30.0),  # exported
        _record(site, "machine", "day", True, 0, 5.0),  # machine scope: not exported
        _record(site, "line", "1h", True, 0, 1.0),  # 1h not allowed by default
        _record(site, "line", "1m", True, 0, 0.1),  # never
    ]
    values = [orjson.dumps(r) for r in records] + [b"{not json"]
    keys = [kpi_key(r) for r in records] + [b"bad"]
    produce(stack, topics["kpis"], values, keys)

    first = _run(stack, export, options, until=len(values))
    assert first.stats.consumed == len(values) and first.stats.exported == 3
    assert first.stats.dead_letters == 1
    assert dict(first.stats.skipped) == {"not_final": 1, "scope_not_allowed": 1, "window_not_allowed": 2}
    per_record = len(records[1]) - len(KPI_IDENTITY_FIELDS) - len(EXPORT_DEFAULT_FIELDS)
    assert first.stats.dropped_fields == 3 * per_record

    out = _read_all(stack, topics["export"], 3)
    assert len(out) == 3
    allowed = {"enterprise", *KPI_IDENTITY_FIELDS, *EXPORT_DEFAULT_FIELDS}
    got = [orjson.loads(m.value) for m in out]
    for m, rec in zip(out, got, strict=True):
        assert set(rec) == allowed and rec["enterprise"] == "ent-7" and rec["final"] is True
        assert rec["scope"] in ("site", "line") and rec["window"] == "day"
        line = rec["line"] or ""
        assert m.key == f"ent-7/{rec['scope']}/{site}/{line}/day/{T0}".encode()
    # both versions of the line window share a key, hence a partition, in their order: last wins
    line_msgs = [m for m, r in zip(out, got, strict=True) if r["scope"] == "line"]
    assert len({m.partition for m in line_msgs}) == 1
    assert [orjson.loads(m.value)["energy_kwh"] for m in sorted(line_msgs, key=lambda m: m.offset)] == [
        12.0,
        12.5,
    ]
    dead = _read_all(stack, topics["dl"], 1)
    assert len(dead) == 1
    letter = orjson.loads(dead[0].value)
    assert letter["reason"] == "export.bad_json" and letter["source"] == "export"

    # a restart resumes after the committed offsets: only the new record goes out
    produce(stack, topics["kpis"], [orjson.dumps(_record(site, "line", "day", True, 1, 7.0))])
    second = _run(stack, export, options, until=1)
    time.sleep(1.0)  # a re-read of the first batch would show up as more consumed records
    assert second.stats.consumed == 1 and second.stats.exported == 1
    out = _read_all(stack, topics["export"], 4)
    assert len(out) == 4
    assert sorted(orjson.loads(m.value)["start"] for m in out) == [T0, T0, T0, T0 + DAY_MS]
