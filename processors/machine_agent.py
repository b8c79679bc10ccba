"""Per-machine KPI windows on the stream: the glue between Faust events and `MachineStream`.

One batch of events (readings, and ticks of the wall-clock timer) is handled as:

1. per partition: decode readings, apply them to their machine's state (a reading at or below the
   partition's last handled offset, or the offset the machine's state holds, is a re-delivery
   and skipped; a jump past the next offset means Faust skipped events: they are read again
   first, processors/gaps.py); on a tick, run the idle timeout of that partition's machines;
   then ask every touched machine which windows to emit;
2. send the KPI records (`brain.kpis`), partials (`brain.partials`) and too-late readings
   (`brain.late`), and wait until Kafka has them;
3. write the changed machine states and, last, the partition's `@p` offset marker to the table
   (changelog) and wait again.

Faust acks the batch (and may commit its offsets) only after this returns. A crash before 3
re-processes the batch from the old state and re-emits the same records; a crash after 3 skips
the re-delivered readings by offset. Either way nothing is lost or counted twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import Counter
from contextlib import contextmanager
from typing import Any

from aiokafka.errors import KafkaError, KafkaTimeoutError

from brain import logs
from brain.plant import Machine, Plant
from processors.direct import InputReader
from processors.gaps import ReadRange, TailWatch, fill_gap, highwater
from processors.kpi import TOO_LATE, Context
from processors.machine_state import DUP, MachineStream
from processors.messages import dumps, loads, machine_record, partial_message, record_key, watermark_message
from processors.options import ProcessorOptions

log = logging.getLogger("brain.process")


@contextmanager
def in_partition_of(event: Any):
    """Table writes go to the changelog partition of 'the current event': make it `event`."""
    from faust.streams import _current_event

    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


def stage_table(table: Any, event: Any, items: list[tuple[bytes, bytes | None]], send: Sender) -> None:
    """Write (value None: delete) table keys: into the local store now, and into `send` for the
    changelog partition of `event` (Faust's own `table[key] = value` only queues the changelog
    message, and Faust's producer flush may return while that queue is not empty — it gives up
    after 0.1 s without progress — which would let the offset commit overtake the state)."""
    partition = event.message.partition
    topic = table.changelog_topic.get_topic_name()
    with in_partition_of(event):  # stores that keep partitions apart (rocksdb) ask for it
        for key, value in items:
            if value is None:
                if key in table.data:
                    del table.data[key]
            else:
                table.data[key] = value
            send.add(topic, key, value, partition)


class Sender:
    """Collects the messages of one batch; `flush` hands them to the Kafka producer (aiokafka,
    under Faust's producer: one accumulator append per message instead of Faust's send path)
    and waits until Kafka acknowledged every one.

    The wait is bounded: an attempt that is not acknowledged within `timeout_s`, or that fails
    with a retriable Kafka error (broker gone, frozen, not leader, request timed out), is
    retried with the messages not acknowledged yet, until Kafka has them all. Re-sending is
    safe: records, partials and states are idempotent by key (a re-sent late reading may appear
    twice in the late topic, as after a crash). The batch is never acked without its messages,
    and never waits forever on one lost response: Faust's producer request timeout is 20 min
    by default, so one produce request left unanswered across a broker freeze used to hold the
    batch, and with it the group rebalance (`wait_empty`), for that long."""

    def __init__(self, app: Any, timeout_s: float = 35.0, stats: Counter[str] | None = None) -> None:
        self.app = app
        self.timeout_s = timeout_s
        self.stats = stats if stats is not None else Counter()
        self.out: list[tuple[str, bytes, bytes | None, int | None]] = []

    def add(self, topic: str, key: bytes, value: bytes | None, partition: int | None = None) -> None:
        self.out.append((topic, key, value, partition))

    async def flush(self) -> None:
        pending, self.out = self.out, []
        attempt = 0
        while pending:
            pending, error = await self._attempt(pending)
            if not pending:
                return
            attempt += 1
            self.stats["send_retries"] += 1
            logs.event(
                log, "process.send_retry", logging.WARNING,
                messages=len(pending), attempt=attempt, error=error[:200],
            )  # fmt: skip
            await asyncio.sleep(min(5.0, 0.5 * attempt))

    async def _attempt(self, items: list) -> tuple[list, str]:
        """Send `items` once; returns the ones Kafka did not acknowledge within the timeout (or
        that failed with a retriable error) and why."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        futures: list[asyncio.Future] = []
        error = ""

        async def enqueue() -> None:
            producer = self.app.producer._ensure_producer()  # the started AIOKafkaProducer
            for t, k, v, p in items:
                fut = await producer.send(t, value=v, key=k, partition=p)
                fut.add_done_callback(_retrieve)
                futures.append(fut)

        try:
            await asyncio.wait_for(enqueue(), self.timeout_s)
        except (TimeoutError, KafkaError) as exc:
            if isinstance(exc, KafkaError) and not _retriable(exc):
                raise
            error = f"enqueue: {exc!r}"
        if futures:
            await asyncio.wait(futures, timeout=max(0.0, deadline - loop.time()))
        left = []
        for i, item in enumerate(items):
            fut = futures[i] if i < len(futures) else None
            if fut is not None and fut.done() and not fut.cancelled():
                exc = fut.exception()
                if exc is None:
                    continue
                if not _retriable(exc):
                    raise exc
                error = error or repr(exc)
            left.append(item)
        if left and not error:
            error = f"no ack within {self.timeout_s:g} s"
        return left, error


def _retriable(exc: BaseException) -> bool:
    return isinstance(exc, KafkaTimeoutError) or bool(getattr(exc, "retriable", False))


def _retrieve(fut: asyncio.Future) -> None:
    """A future given up on (retried) may still fail later: mark its exception as seen."""
    if not fut.cancelled():
        fut.exception()


class MachineWorker:
    def __init__(
        self,
        app: Any,
        plant: Plant,
        opts: ProcessorOptions,
        *,
        table: Any,
        topics: dict,
        read_range: ReadRange,
        reader: InputReader | None = None,
    ) -> None:
        self.app, self.opts, self.table = app, opts, table
        self.reader = reader  # `--consumer direct`: readings are pulled on ticks (processors/direct.py)
        self.topics: dict[str, str] = {k: t.get_topic_name() for k, t in topics.items()}
        self.ctx = Context.from_plant(plant)
        self.machines: dict[str, tuple[str, str, Machine]] = {
            f"{s.id}/{ln.id}/{m.id}": (s.id, ln.id, m) for s, ln, m in plant.machines()
        }
        self.cache: dict[str, MachineStream] = {}
        self.index: dict[int, set[str]] = {}  # partition -> machine keys (for the idle timeout)
        self.read_offset: dict[int, int | None] = {}  # partition -> last input offset handled
        self.read_range = read_range
        self.tail = TailWatch(read_range, "machines")
        self.stats: Counter[str] = Counter()
        self.timing: Counter[str] = Counter()  # seconds in handle(): compute, send+wait, state+wait
        self._unknown: set[str] = set()
        self._indexed: set[int] = set()
        self._stats_at = time.monotonic()

    def reset(self) -> None:
        """Partitions moved: forget cached states (the table is the truth)."""
        self.cache.clear()
        self.index.clear()
        self._indexed.clear()
        self.read_offset.clear()
        self.tail.reset()

    def _load(self, key: str, partition: int) -> MachineStream:
        ms = self.cache.get(key)
        if ms is None:
            _, _, machine = self.machines[key]
            raw = self.table.get(key.encode())
            o = self.opts
            if raw is None:
                ms = MachineStream(machine, self.ctx, o.grace_ms, o.windows, o.stale_counter_ms)
            else:
                ms = MachineStream.from_dict(
                    loads(raw), machine, self.ctx, o.grace_ms, o.windows, o.stale_counter_ms
                )
            self.cache[key] = ms
            self.index.setdefault(partition, set()).add(key)
        return ms

    def _index_partition(self, partition: int) -> set[str]:
        keys = self.index.setdefault(partition, set())
        if partition not in self._indexed:  # after a (re)assignment: this partition's machines
            self._indexed.add(partition)
            for k, raw in list(self.table.items()):
                if loads(raw).get("p") == partition:
                    keys.add(k.decode() if isinstance(k, bytes) else k)
        return keys

    def _last_offset(self, partition: int) -> int | None:
        """The last input offset handled in `partition` (None: nothing yet — a new app id), from
        the table's `@p` marker after an assignment."""
        if partition not in self.read_offset:
            raw = self.table.get(f"@{partition}".encode())
            self.read_offset[partition] = None if raw is None else loads(raw)["off"]
        return self.read_offset[partition]

    async def handle(self, events: list[Any]) -> None:
        t0 = time.perf_counter()
        now = time.time() * 1000
        send = Sender(self.app, self.opts.send_timeout_s + 5, self.stats)
        by_part: dict[int, list[Any]] = {}
        for ev in events:
            by_part.setdefault(ev.message.partition, []).append(ev)
        writes: list[tuple[Any, set[str], int | None]] = []
        for partition, evs in by_part.items():
            changed: set[str] = set()
            ticked = False
            first = last = self._last_offset(partition)
            for ev in evs:
                if ev.message.topic == self.opts.ticks:
                    ticked = True
                    continue
                offset = ev.message.offset
                if last is not None and offset <= last:  # re-delivered after a restart
                    self.stats["duplicates"] += 1
                    continue
                if last is not None and offset > last + 1:  # events Faust never handed over
                    missed = await fill_gap(self.read_range, self.opts.input_topic, partition, last + 1,
                                            offset, self.stats, "machines")  # fmt: skip
                    for m in missed:
                        self._reading(partition, m.offset, m.value, now, changed, send)
                self._reading(partition, offset, ev.value, now, changed, send)
                last = self.read_offset[partition] = offset
            at_end: bool | None = None
            if ticked and self.reader is not None:
                pulled, at_end = await self.reader.pull(partition, last, self.opts.pull_max)
                for m in pulled:
                    if last is not None and m.offset > last + 1:  # removed by retention before read
                        self._unrecoverable(partition, last + 1, m.offset)
                    self._reading(partition, m.offset, m.value, now, changed, send)
                    last = self.read_offset[partition] = m.offset
            elif ticked:  # events lost at the partition's end (no later event shows the jump)
                topic = self.opts.input_topic
                high = highwater(self.app.consumer, topic, partition)
                for m in await self.tail.check(topic, partition, last, high, self.stats):
                    self._reading(partition, m.offset, m.value, now, changed, send)
                    last = self.read_offset[partition] = m.offset
            stepped = set(changed)
            if ticked and (at_end if at_end is not None else await self._caught_up(partition)):
                for key in self._index_partition(partition):
                    if key in self.machines:
                        stepped.add(key)
                        if self._load(key, partition).idle(now, self.opts.idle_timeout_ms):
                            changed.add(key)
            for key in stepped:
                if self._emit(key, now, send):
                    changed.add(key)
            writes.append((evs[-1], changed, last if last != first else None))
        t1 = time.perf_counter()
        await send.flush()  # records first: a state is never ahead of what was emitted
        t2 = time.perf_counter()
        state_send = Sender(self.app, self.opts.send_timeout_s + 5, self.stats)
        for event, changed, marker in writes:
            items: list[tuple[bytes, bytes | None]] = []
            for key in changed:
                state = self.cache[key].to_dict()
                state["p"] = event.message.partition
                items.append((key.encode(), dumps(state)))
            if marker is not None:  # last: one changelog partition keeps the order
                items.append((f"@{event.message.partition}".encode(), dumps({"off": marker})))
            stage_table(self.table, event, items, state_send)
        await state_send.flush()
        if self.reader is not None:  # progress for lag tools (the markers above are the truth)
            await self.reader.commit({e.message.partition: m + 1 for e, _, m in writes if m is not None})
        t3 = time.perf_counter()
        self.stats["batches"] += 1
        self.timing["compute_s"] += t1 - t0
        self.timing["send_s"] += t2 - t1
        self.timing["state_s"] += t3 - t2
        self._log_stats()

    def _unrecoverable(self, partition: int, expected: int, got: int) -> None:
        self.stats["offset_gaps"] += 1
        self.stats["unrecoverable"] += got - expected
        logs.event(log, "process.offset_gap", logging.ERROR, agent="machines", topic=self.opts.input_topic,
                   partition=partition, expected=expected, got=got, refetched=0,
                   unrecoverable=got - expected)  # fmt: skip

    async def _caught_up(self, partition: int) -> bool:
        """Has this worker read its input partition to the end? Only then is a machine's silence
        real: while a backlog is being read (after downtime, a replay, a slow start) a machine
        whose readings are still queued must not be timed out — its readings would come back
        too late and its KPIs would under-count."""
        from faust.types import TP

        tp = TP(self.opts.input_topic, partition)
        consumer = self.app.consumer
        try:
            high = consumer.highwater(tp)
            done = self.read_offset.get(partition)
            caught_up = high is None or (
                done + 1 >= high if done is not None else (await consumer.position(tp) or 0) >= high
            )
        except Exception:  # no fetch yet or a rebalance: the position is unknown, keep the old rule
            return True
        if not caught_up:
            self.stats["idle_deferred"] += 1
        return caught_up

    def _reading(
        self, partition: int, offset: int, value: bytes | None, now: float, changed: set[str], send: Sender
    ) -> None:
        try:
            r = loads(value)
            key = f"{r['site']}/{r['line']}/{r['machine']}"
            metric, ts = r["metric"], r["ts"]
            if not isinstance(ts, int) or isinstance(ts, bool) or not isinstance(metric, str):
                raise TypeError("ts must be integer epoch ms, metric a string")
        except (ValueError, TypeError, KeyError) as exc:
            self.stats["bad"] += 1
            if self.stats["bad"] == 1:
                logs.event(log, "process.bad_reading", logging.WARNING, error=str(exc)[:200])
            return
        if key not in self.machines:
            self.stats["unknown_machine"] += 1
            if key not in self._unknown:
                self._unknown.add(key)
                logs.event(log, "process.unknown_machine", logging.WARNING, machine=key)
            return
        ms = self._load(key, partition)
        outcome = ms.add(metric, r["value"], ts, offset, now)
        self.stats["readings"] += 1
        if outcome == DUP:
            self.stats["duplicates"] += 1
            return
        changed.add(key)
        if outcome == TOO_LATE:
            self.stats["late"] += 1
            send.add(self.topics["late"], key.encode(), value)
            logs.event(
                log, "process.late", logging.INFO, machine=key, event_ts=ts, watermark=ms.wm, count=ms.late
            )

    def _emit(self, key: str, now: float, send: Sender) -> bool:
        ms = self.cache[key]
        emits = ms.step(now, self.opts.emit_interval_ms)
        if not emits:
            return False
        site, line, machine = self.machines[key][0], self.machines[key][1], self.machines[key][2].id
        site_key = site.encode()
        for e in emits:
            rec = machine_record(e, site, line, machine, self.ctx)
            send.add(self.topics["out"], record_key(rec), dumps(rec))
            send.add(self.topics["partials"], site_key, partial_message(e, site, line, machine, ms.seq))
        send.add(self.topics["partials"], site_key, watermark_message(site, line, machine, ms.wm or 0))
        self.stats["records"] += len(emits)
        return True

    def _log_stats(self) -> None:
        t = time.monotonic()
        if t - self._stats_at >= self.opts.stats_interval_s:
            self._stats_at = t
            timing = {k: round(v, 3) for k, v in self.timing.items()}
            logs.event(log, "process.stats", agent="machines", t=round(t, 3), **dict(self.stats), **timing)
