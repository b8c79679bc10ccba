"""Events Faust's stream skipped are read again, in order, before the worker goes on.

The workers run here on fakes of Faust's app, table and producer (the pure part of the glue: which
offsets are handled, in which order, what is written). The real-Kafka restart test
(test_stream_kafka.py) kills a worker mid-stream and checks every final record against `brain kpi`.
"""

from __future__ import annotations

import asyncio
import math
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from processors.gaps import Fetched
from processors.machine_agent import MachineWorker
from processors.messages import loads
from processors.options import ProcessorOptions
from processors.rollup import RollupWorker
from tests.processors import data

TOPIC = "brain.readings"
OPTS = ProcessorOptions(input_topic=TOPIC, partials_topic="parts", emit_interval_ms=0)


class _Table(dict):
    """What the workers use of a Faust table: get/items, `.data`, the changelog topic name."""

    changelog_topic = SimpleNamespace(get_topic_name=lambda: "changelog")

    @property
    def data(self) -> dict:
        return self


class _Producer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes | None, int | None]] = []

    async def send(self, topic: str, value: Any, key: Any, partition: Any) -> asyncio.Future:
        self.sent.append((topic, key, value, partition))
        fut = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut


class _Event:
    """A Faust event as the workers see it (weak-referenceable, like Faust's)."""

    def __init__(self, topic: str, partition: int, offset: int, value: bytes) -> None:
        self.message = SimpleNamespace(topic=topic, partition=partition, offset=offset)
        self.value = value


class _Log:
    """The input partition: `read` serves ranges of it, as RangeReader does from Kafka."""

    def __init__(self, values: list[bytes], missing: frozenset[int] = frozenset()) -> None:
        self.values, self.missing = values, missing
        self.reads: list[tuple[str, int, int, int]] = []

    async def read(self, topic: str, partition: int, start: int, end: int) -> list[Fetched]:
        self.reads.append((topic, partition, start, end))
        return [Fetched(o, self.values[o]) for o in range(start, end) if o not in self.missing]


def _app(producer: _Producer, high: int | None = None) -> Any:
    consumer = SimpleNamespace(highwater=lambda tp: high)  # the log's end as the consumer saw it
    return SimpleNamespace(producer=SimpleNamespace(_ensure_producer=lambda: producer), consumer=consumer)


def _topics() -> dict[str, Any]:
    return {name: SimpleNamespace(get_topic_name=lambda n=name: n) for name in ("out", "late", "partials")}


def _machine_worker(log: _Log, table: _Table, producer: _Producer, high: int | None = None) -> MachineWorker:
    return MachineWorker(
        _app(producer, high), data.plant(), OPTS, table=table, topics=_topics(), read_range=log.read
    )


def _m1_values() -> list[bytes]:
    """Machine m1's readings (one partition holds all of them, as key s1/l1/m1 would)."""
    return [orjson.dumps(r) for r in data.readings() if r["machine"] == "m1"]


def _run(worker: Any, values: list[bytes], offsets: list[int], topic: str = TOPIC, batch: int = 40) -> None:
    events = [_Event(topic, 0, o, values[o]) for o in offsets]
    for i in range(0, len(events), batch):
        asyncio.run(worker.handle(events[i : i + batch]))


def _state(table: _Table) -> dict[str, Any]:
    return {k.decode(): loads(v) for k, v in table.items()}


def _same(a: Any, b: Any) -> bool:
    """Equal, floats to 1e-9 relative (a sum sealed at other batch boundaries adds in another order)."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, int | float) and isinstance(b, int | float) and math.isclose(a, b, rel_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _finals(producer: _Producer) -> dict[tuple[Any, ...], Any]:
    records = [loads(v) for t, _, v, _ in producer.sent if t == "out"]
    return {data.key(r): r for r in records if r["final"]}


def test_events_skipped_mid_stream_are_read_again_in_order() -> None:
    values = _m1_values()
    whole, whole_table, whole_out = _Log(values), _Table(), _Producer()
    _run(_machine_worker(whole, whole_table, whole_out), values, list(range(len(values))))
    assert whole.reads == []

    last = len(values) - 1
    skipped = {17, 18, 19, 120, 121, last}  # the last one, never followed: Faust redelivers it
    gapped, table, out = _Log(values), _Table(), _Producer()
    worker = _machine_worker(gapped, table, out)
    _run(worker, values, [o for o in range(len(values)) if o not in skipped] + [last])

    assert gapped.reads == [(TOPIC, 0, 17, 20), (TOPIC, 0, 120, 122)]
    assert worker.stats["offset_gaps"] == 2 and worker.stats["refetched"] == 5
    assert worker.stats["readings"] == len(values) and not worker.stats["unrecoverable"]
    assert _same(_state(table), _state(whole_table))  # the same machine state and marker
    assert _state(table)["@0"] == {"off": len(values) - 1}
    assert len(_finals(whole_out)) > 10 and _same(_finals(out), _finals(whole_out))


def test_after_a_restart_a_commit_past_unhandled_events_is_caught_by_the_marker() -> None:
    values = _m1_values()
    log, table, out = _Log(values), _Table(), _Producer()
    _run(_machine_worker(log, table, out), values, list(range(100)))
    assert _state(table)["@0"] == {"off": 99}
    # a new worker (restart, or the partition moved) with the table recovered from its changelog;
    # Faust re-delivers 95.. (an older commit), then jumps: it had committed past 130..149
    worker = _machine_worker(log, table, out)
    _run(worker, values, [*range(95, 130), *range(150, len(values))])
    assert worker.stats["duplicates"] == 5  # 95..99 were handled before the restart
    assert log.reads == [(TOPIC, 0, 130, 150)]
    ref_table = _Table()
    _run(_machine_worker(_Log(values), ref_table, _Producer()), values, list(range(len(values))))
    assert _same(_state(table), _state(ref_table))


def test_a_worker_restarted_past_its_marker_reads_the_hole_first() -> None:
    values = _m1_values()
    log, table = _Log(values), _Table()
    _run(_machine_worker(log, table, _Producer()), values, list(range(50)))
    worker = _machine_worker(log, table, _Producer())
    _run(worker, values, list(range(80, len(values))))  # Faust starts at 80: 50..79 were never handled
    assert log.reads == [(TOPIC, 0, 50, 80)]
    assert worker.stats["refetched"] == 30


def test_offsets_gone_from_kafka_are_counted_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    values = _m1_values()
    log = _Log(values, missing=frozenset({41, 42}))  # e.g. removed by retention meanwhile
    worker = _machine_worker(log, _Table(), _Producer())
    _run(worker, values, [o for o in range(len(values)) if o not in range(40, 45)])
    assert worker.stats["unrecoverable"] == 2 and worker.stats["refetched"] == 3
    gaps = [r for r in caplog.records if r.getMessage() == "process.offset_gap"]
    assert [
        (r.levelname, r.fields["expected"], r.fields["got"], r.fields["unrecoverable"]) for r in gaps
    ] == [("ERROR", 40, 45, 2)]


def test_a_new_app_id_starts_wherever_faust_starts() -> None:
    values = _m1_values()
    log, table = _Log(values), _Table()
    worker = _machine_worker(log, table, _Producer())
    _run(worker, values, list(range(200, len(values))))  # --start-at latest, or retention: no marker
    assert log.reads == [] and worker.stats["readings"] == len(values) - 200
    assert _state(table)["@0"] == {"off": len(values) - 1}


def test_rollup_reads_skipped_partials_again() -> None:
    values = _m1_values()
    out = _Producer()
    _run(_machine_worker(_Log(values), _Table(), out), values, list(range(len(values))))
    partials = [v for t, _, v, _ in out.sent if t == "partials"]
    assert len(partials) > 40

    def rollup(log: _Log, table: _Table, producer: _Producer) -> RollupWorker:
        topics = _topics()
        return RollupWorker(
            _app(producer), data.plant(), OPTS, table=table, topics=topics, read_range=log.read
        )

    whole_table = _Table()
    _run(rollup(_Log(partials), whole_table, _Producer()), partials, list(range(len(partials))), "parts")
    # skip the first two final partials (a later partial of the same window would hide a lost one)
    finals = [o for o, v in enumerate(partials) if loads(v).get("final")][:2]
    assert len(finals) == 2 and finals[1] > finals[0] + 1 and finals[1] < len(partials) - 1
    log, table = _Log(partials), _Table()
    worker = rollup(log, table, _Producer())
    _run(worker, partials, [o for o in range(len(partials)) if o not in finals], "parts")
    assert log.reads == [("parts", 0, o, o + 1) for o in finals]
    assert _same(_state(table), _state(whole_table))


def _tick(worker: MachineWorker, k: int) -> None:
    asyncio.run(worker.handle([_Event(OPTS.ticks, 0, k, b"tick")]))


def test_events_lost_at_the_end_of_a_partition_are_read_after_three_quiet_ticks() -> None:
    """Seen in the restart test: the last 4 readings of a partition never reached the handler,
    and with no later event nothing showed the jump; that machine's windows never closed."""
    values = _m1_values()
    n = len(values)
    log, table = _Log(values), _Table()
    worker = _machine_worker(log, table, _Producer(), high=n)
    _run(worker, values, list(range(n - 4)))  # the log holds n records; the last 4 never come
    _tick(worker, 0)
    _tick(worker, 1)
    assert log.reads == []  # two quiet ticks: Faust may just be slow to hand them over
    _tick(worker, 2)
    assert log.reads == [(TOPIC, 0, n - 4, n)]
    assert worker.stats["refetched"] == 4 and worker.stats["readings"] == n
    assert _state(table)["@0"] == {"off": n - 1}
    assert _state(table)["s1/l1/m1"]["off"] == n - 1
    _tick(worker, 3)
    _tick(worker, 4)
    _tick(worker, 5)
    assert len(log.reads) == 1  # at the end now: nothing more to read


def test_progress_between_ticks_is_not_a_lost_tail() -> None:
    values = _m1_values()
    n = len(values)
    log = _Log(values)
    worker = _machine_worker(log, _Table(), _Producer(), high=n)
    for k, start in enumerate(range(0, n, 100)):  # a backlog handed over steadily: no reads
        _run(worker, values, list(range(start, min(n, start + 100))))
        _tick(worker, k)
    assert log.reads == [] and worker.stats["readings"] == n
