"""The alert worker (processors/alerts/worker.py) on in-memory ports: each input record is applied
once — a restarted worker resumes from the markers it recovers, so an old breach never fires an
episode that resolved since — the markers are written after the states they cover, and a crash
in mid-step sends the same events again (same id and `started`: at least once), never a new
episode.

The real-Kafka versions: tests/alerts/test_stack.py and the fault suite (Kafka frozen 30 s: the
group rebalanced)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from processors.alerts.engine import AlertEngine
from processors.alerts.options import AlertOptions
from processors.alerts.worker import AlertWorker
from processors.runtime.cursor import marker_key
from processors.runtime.memory import MemoryLog, MemoryStore
from tests.alerts.helpers import MIN, T0, plant

OPTS = AlertOptions(app_id="t", stats_interval_s=1e9)
KPIS = OPTS.kpis_topic
RULE = {"id": "oee", "type": "kpi", "field": "oee", "below": 0.65, "clear": 0.7}


def _record(oee: float, start_min: int) -> bytes:
    return orjson.dumps(
        {"scope": "line", "site": "s1", "line": "l1", "machine": None, "window": "15m", "final": True,
         "start": T0 + start_min * MIN, "end": T0 + (start_min + 15) * MIN, "oee": oee}
    )  # fmt: skip


# breach (fires), ok (resolves), ok, breach (fires), ok (resolves)
LOG = [_record(0.5, 0), _record(0.9, 15), _record(0.9, 30), _record(0.5, 45), _record(0.9, 60)]


class _Store(MemoryStore):
    """Records the order of the keys put: markers must come after the states they cover."""

    def __init__(self) -> None:
        super().__init__()
        self.order: list[str] = []

    def put(self, partition: int, key: str, value: Any) -> None:
        self.order.append(key)
        super().put(partition, key, value)


def _setup(kpi_partitions: int = 1) -> tuple[MemoryLog, _Store]:
    log = MemoryLog({OPTS.readings_topic: 1, KPIS: kpi_partitions, OPTS.deadletter_topic: 1})
    return log, _Store()


def _worker(log: MemoryLog, store: MemoryStore) -> AlertWorker:
    counts = {t: log.partitions(t) for t in OPTS.inputs}
    return AlertWorker(AlertEngine.from_plant(plant(RULE)), OPTS, counts, log=log, store=store, outbox=log,
                       clock=lambda: T0 / 1000 + 7200)  # fmt: skip


def _produce(log: MemoryLog, *items: int, partition: int = 0) -> None:
    for i in items:
        log.produce(KPIS, b"line/s1/l1/-/15m", LOG[i], partition=partition)


def _events(log: MemoryLog) -> list[tuple[str, int]]:
    return [
        (e["state"], (e["started"] - T0) // MIN)
        for e in map(orjson.loads, (v for _, v in log.records(OPTS.output_topic)))
    ]


def test_a_restarted_worker_resumes_from_its_markers_and_fires_nothing_again() -> None:
    log, store = _setup()
    _produce(log, 0, 1)
    asyncio.run(_worker(log, store).step([0]))
    assert _events(log) == [("firing", 0), ("resolved", 0)]
    _produce(log, 2, 3, 4)
    again = _worker(log, store)  # a restart (or another process taking over): states from the store
    asyncio.run(again.step([0]))
    assert _events(log) == [("firing", 0), ("resolved", 0), ("firing", 45), ("resolved", 45)]
    assert store.get(marker_key(KPIS, 0))["off"] == 4
    assert again.stats["duplicates"] == 0


def test_markers_come_after_the_states_and_partitions_have_their_own() -> None:
    log, store = _setup(kpi_partitions=2)
    _produce(log, 0, partition=0)
    _produce(log, 0, 1, partition=1)
    worker = _worker(log, store)
    asyncio.run(worker.step([0]))
    assert store.get(marker_key(KPIS, 0))["off"] == 0 and store.get(marker_key(KPIS, 1))["off"] == 1
    assert store.order.index(marker_key(KPIS, 0)) > store.order.index("oee:s1/l1")
    assert [k for k in store.order if k.startswith("@")] == store.order[-2:]  # markers last
    assert worker.engine.firing(worker.states) == []  # markers are not alert states


class _FailingStore(_Store):
    fail = False

    async def flush(self) -> None:
        if self.fail:
            self.crash()
            raise RuntimeError("killed before the states were written")
        await super().flush()


def test_a_crash_before_the_states_sends_the_same_events_again_not_a_new_episode() -> None:
    log = MemoryLog({OPTS.readings_topic: 1, KPIS: 1, OPTS.deadletter_topic: 1})
    store = _FailingStore()
    _produce(log, 0)
    store.fail = True
    with pytest.raises(RuntimeError, match="killed before"):
        asyncio.run(_worker(log, store).step([0]))
    assert _events(log) == [("firing", 0)]  # sent, but neither state nor marker is durable
    store.fail = False
    _produce(log, 1)
    asyncio.run(_worker(log, store).step([0]))
    events = [orjson.loads(v) for _, v in log.records(OPTS.output_topic)]
    assert [(e["state"], e["started"]) for e in events] == [
        ("firing", T0),
        ("firing", T0),
        ("resolved", T0),
    ]  # the same episode (same id and start) again: the notifier deduplicates it
    assert len({e["id"] for e in events}) == 1


def test_the_engine_ticks_on_the_wall_clock_of_the_step() -> None:
    silence = {"id": "quiet", "type": "silence", "metric": "count_total", "for": 60}
    log = MemoryLog({OPTS.readings_topic: 1, KPIS: 1, OPTS.deadletter_topic: 1})
    now = [T0 / 1000]
    counts = {t: log.partitions(t) for t in OPTS.inputs}
    worker = AlertWorker(AlertEngine.from_plant(plant(silence)), OPTS, counts, log=log, store=MemoryStore(),
                         outbox=log, clock=lambda: now[0])  # fmt: skip
    reading = {"site": "s1", "line": "l1", "machine": "m1", "metric": "count_total", "value": 1, "ts": T0}
    log.produce(OPTS.readings_topic, b"s1/l1/m1", orjson.dumps(reading))

    def firing() -> set[str]:
        events = [orjson.loads(v) for _, v in log.records(OPTS.output_topic)]
        return {e["id"] for e in events if e["state"] == "firing"}

    asyncio.run(worker.step([0]))
    assert "quiet:s1/l1/m1" not in firing()
    now[0] += 30
    asyncio.run(worker.step([0]))
    assert "quiet:s1/l1/m1" not in firing()
    now[0] += 60  # 90 s without a reading of m1
    asyncio.run(worker.step([0]))
    assert "quiet:s1/l1/m1" in firing()
