"""The glue of `brain alerts` (AlertWorker) on fakes of the table, the output topic and Kafka: each
input record is applied once — a re-delivered one is skipped by the table's offset marker, one
Faust skipped is read again first — and the marker is written after the states it covers.

The real-Kafka versions: tests/alerts/test_stack.py (offsets rewound under a real worker) and the
fault suite (Kafka frozen 30 s: the group rebalanced and re-read 30 s of KPI records)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from processors.alerts import worker as alert_worker
from processors.alerts.engine import AlertEngine
from processors.alerts.worker import AlertWorker, marker_key
from processors.gaps import Fetched
from tests.alerts.helpers import MIN, T0, plant

KPIS = "brain.kpis"
RULE = {"id": "oee", "type": "kpi", "field": "oee", "below": 0.65, "clear": 0.7}


def _record(oee: float, start_min: int) -> bytes:
    return orjson.dumps(
        {"scope": "line", "site": "s1", "line": "l1", "machine": None, "window": "15m", "final": True,
         "start": T0 + start_min * MIN, "end": T0 + (start_min + 15) * MIN, "oee": oee}
    )  # fmt: skip


class _Out:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, key: bytes, value: bytes) -> None:
        self.sent.append(orjson.loads(value))


class _Table(dict):
    """Records the order of writes: the marker must come after the states it covers."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes.append(key)
        super().__setitem__(key, value)


class _Log:
    def __init__(self, values: list[bytes]) -> None:
        self.values = values
        self.reads: list[tuple[str, int, int, int]] = []

    async def read(self, topic: str, partition: int, start: int, end: int) -> list[Fetched]:
        self.reads.append((topic, partition, start, end))
        return [Fetched(o, self.values[o]) for o in range(start, end)]


# breach (fires), ok (resolves), ok, breach (fires), ok (resolves)
LOG = [_record(0.5, 0), _record(0.9, 15), _record(0.9, 30), _record(0.5, 45), _record(0.9, 60)]


def _worker(log: _Log, table: _Table | None = None) -> tuple[AlertWorker, _Out, _Table]:
    out, table = _Out(), table if table is not None else _Table()
    engine = AlertEngine.from_plant(plant(RULE))
    return AlertWorker(engine, table, out, {KPIS: "kpi"}, log.read), out, table


def _feed(worker: AlertWorker, offsets: list[int], partition: int = 0) -> None:
    records = [(KPIS, partition, o, LOG[o]) for o in offsets]
    asyncio.run(worker.handle_batch(records))


def _episodes(out: _Out) -> list[tuple[str, int]]:
    return [(e["state"], (e["started"] - T0) // MIN) for e in out.sent]


def test_records_delivered_again_after_a_rebalance_are_skipped() -> None:
    log = _Log(LOG)
    worker, out, table = _worker(log)
    _feed(worker, [0, 1])
    assert _episodes(out) == [("firing", 0), ("resolved", 0)]
    _feed(worker, [0, 1, 2])  # the group rebalanced: Faust re-read from its last commit
    assert _episodes(out) == [("firing", 0), ("resolved", 0)]  # record 0 did not fire it again
    assert worker.counts["redelivered"] == 2 and table[marker_key(KPIS, 0)] == {"off": 2}
    assert log.reads == []


def test_records_faust_skipped_are_read_again_first() -> None:
    log = _Log(LOG)
    worker, out, _ = _worker(log)
    _feed(worker, [0, 1, 4])
    assert log.reads == [(KPIS, 0, 2, 4)]
    assert _episodes(out) == [("firing", 0), ("resolved", 0), ("firing", 45), ("resolved", 45)]
    assert (worker.counts["offset_gaps"], worker.counts["refetched"]) == (1, 2)


def test_a_restarted_worker_starts_from_the_recovered_marker() -> None:
    log = _Log(LOG)
    first, _, table = _worker(log)
    _feed(first, [0, 1, 2])
    recovered = _Table()
    recovered.update(orjson.loads(orjson.dumps(table)))  # what the changelog gives back
    second, out, _ = _worker(log, recovered)
    _feed(second, [1, 2, 3, 4])  # from the last commit, behind the marker
    assert _episodes(out) == [("firing", 45), ("resolved", 45)]
    assert second.counts["redelivered"] == 2 and log.reads == []


def test_a_restart_past_the_marker_reads_the_records_in_between() -> None:
    """Faust committed past records it never handed over: the recovered marker shows the hole."""
    log = _Log(LOG)
    first, _, table = _worker(log)
    _feed(first, [0, 1])
    second, out, _ = _worker(log, table)
    _feed(second, [4])
    assert log.reads == [(KPIS, 0, 2, 4)]
    assert _episodes(out) == [("firing", 45), ("resolved", 45)]


def test_partitions_have_their_own_markers_written_after_the_states() -> None:
    log = _Log(LOG)
    worker, _, table = _worker(log)
    _feed(worker, [0], partition=0)
    _feed(worker, [0, 1], partition=3)
    assert table[marker_key(KPIS, 0)] == {"off": 0} and table[marker_key(KPIS, 3)] == {"off": 1}
    assert table.writes[-1] == marker_key(KPIS, 3)
    assert table.writes.index(marker_key(KPIS, 0)) > table.writes.index("oee:s1/l1")
    assert worker.engine.firing(table) == []  # markers are not alert states


def test_records_lost_at_a_partition_end_are_read_after_three_quiet_ticks() -> None:
    log = _Log(LOG)
    worker, out, table = _worker(log)
    _feed(worker, [0, 1, 2])  # the log holds 5 records; Faust never hands over 3 and 4
    high = {(KPIS, 0): len(LOG)}.get

    def tick() -> None:
        asyncio.run(worker.read_tails(lambda topic, partition: high((topic, partition))))

    tick()
    tick()
    assert log.reads == []  # Faust may just be slow to hand them over
    tick()
    assert log.reads == [(KPIS, 0, 3, 5)]
    assert _episodes(out) == [("firing", 0), ("resolved", 0), ("firing", 45), ("resolved", 45)]
    assert table[marker_key(KPIS, 0)] == {"off": 4}
    _feed(worker, [3, 4])  # Faust's copies, late: skipped
    assert worker.counts["redelivered"] == 2 and len(out.sent) == 4
    tick()
    tick()
    tick()
    assert len(log.reads) == 1  # caught up: nothing more to read


def test_a_long_gap_is_read_again_a_chunk_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alert_worker, "GAP_CHUNK", 2)
    log = _Log(LOG)
    worker, out, _ = _worker(log)
    _feed(worker, [0, 4])
    assert log.reads == [(KPIS, 0, 1, 3), (KPIS, 0, 3, 4)]
    assert _episodes(out) == [("firing", 0), ("resolved", 0), ("firing", 45), ("resolved", 45)]


def test_a_tick_waits_for_the_batch_in_hand() -> None:
    """The timer's tick and the agent's batch never interleave: one alert's events go out in the
    order they were decided, and a tick never sees half a re-read range."""
    order: list[str] = []

    class _SlowOut(_Out):
        async def send(self, key: bytes, value: bytes) -> None:
            order.append("send")
            await asyncio.sleep(0.01)  # a send that yields (producer busy)
            await super().send(key, value)

    out = _SlowOut()
    engine = AlertEngine.from_plant(plant(RULE))
    worker = AlertWorker(engine, _Table(), out, {KPIS: "kpi"}, _Log(LOG).read)

    async def tick() -> None:
        await asyncio.sleep(0)  # the batch has started
        await worker.tick()
        order.append("tick")

    async def both() -> None:
        await asyncio.gather(worker.handle_batch([(KPIS, 0, o, LOG[o]) for o in range(5)]), tick())

    asyncio.run(both())
    assert order == ["send"] * 4 + ["tick"]
