"""Machine KPI windows on the stream: readings -> `MachineStream` per machine -> records, partials.

A step (processors/runtime/worker.py) pulls each owned partition of the input topic from its
marker and, per reading, applies it to its machine's state (a reading at or below the input
offset that state already holds is a re-delivery: skipped); every `tick_s` of wall clock, on a
partition read to its end, it runs the idle timeout of that partition's machines; then it asks
every touched machine which windows to emit. Each emitted window gives a machine KPI record
(`brain.kpis`) and the machine's partial for the rollup (`<app-id>-partials`, key site); a
reading later than watermark − grace goes unchanged to `brain.late` — unless it is a copy of a
reading already folded (an MQTT re-delivery after a bridge restart): that is counted
`late_duplicates` and dropped, since its data is in the KPIs already.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence

from brain import logs
from brain.plant import Machine, Plant
from processors.kpi import TOO_LATE, Context
from processors.machine_state import DUP, LATE_DUP, MachineStream
from processors.messages import dumps, loads, machine_record, partial_message, record_key, watermark_message
from processors.options import ProcessorOptions
from processors.runtime.ports import Fetched, InputLog, Outbox, StateStore
from processors.runtime.worker import Clock, PartitionWorker

log = logging.getLogger("brain.process")


class MachineWorker(PartitionWorker):
    agent = "machines"
    logger = log

    def __init__(
        self,
        plant: Plant,
        opts: ProcessorOptions,
        *,
        log: InputLog,
        store: StateStore,
        outbox: Outbox,
        clock: Clock | None = None,
        stats: Counter[str] | None = None,
    ) -> None:
        super().__init__(log=log, store=store, outbox=outbox, limit=opts.pull_max, clock=clock, stats=stats,
                         stats_interval_s=opts.stats_interval_s, legacy_key=_legacy_marker)  # fmt: skip
        self.opts = opts
        self.ctx = Context.from_plant(plant)
        self.machines: dict[str, tuple[str, str, Machine]] = {
            f"{s.id}/{ln.id}/{m.id}": (s.id, ln.id, m) for s, ln, m in plant.machines()
        }
        self.cache: dict[str, MachineStream] = {}
        self.index: dict[int, set[str]] = {}  # partition -> machine keys (for the idle timeout)
        self.changed: dict[int, set[str]] = {}  # partition -> machines to write this step
        self._idle_at: dict[int, float] = {}  # partition -> wall clock (ms) of its last idle pass
        self._unknown: set[str] = set()

    def sources(self, partition: int) -> Sequence[tuple[str, int]]:
        return ((self.opts.input_topic, partition),)

    def reset(self) -> None:
        super().reset()
        self.cache.clear()
        self.index.clear()
        self.changed.clear()
        self._idle_at.clear()

    def _load(self, key: str, partition: int) -> MachineStream:
        ms = self.cache.get(key)
        if ms is None:
            machine = self.machines[key][2]
            raw = self.store.get(key)
            o = self.opts
            if raw is None:
                ms = MachineStream(machine, self.ctx, o.grace_ms, o.windows, o.stale_counter_ms)
            else:
                ms = MachineStream.from_dict(
                    raw, machine, self.ctx, o.grace_ms, o.windows, o.stale_counter_ms
                )
            self.cache[key] = ms
            self._partition_keys(partition).add(key)
        return ms

    def _partition_keys(self, partition: int) -> set[str]:
        keys = self.index.get(partition)
        if keys is None:  # after a (re)assignment: the machines the store holds for it
            keys = self.index[partition] = {k for k in self.store.keys(partition) if k in self.machines}
        return keys

    def apply(self, partition: int, topic: str, records: list[Fetched], now_ms: float) -> None:
        changed = self.changed.setdefault(partition, set())
        for r in records:
            self._reading(partition, r.offset, r.value, now_ms, changed)

    def _reading(
        self, partition: int, offset: int, value: bytes | None, now: float, changed: set[str]
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
            self.outbox.add(self.opts.late_topic, key.encode(), value)
            logs.event(
                log, "process.late", logging.INFO, machine=key, event_ts=ts, watermark=ms.wm, count=ms.late
            )
        elif outcome == LATE_DUP:
            self.stats["late_duplicates"] += 1
            logs.event(log, "process.late_duplicate", logging.INFO, machine=key, metric=metric, event_ts=ts,
                       watermark=ms.wm, count=ms.late_dups)  # fmt: skip

    def settle(self, partition: int, caught_up: bool, now_ms: float) -> None:
        changed = self.changed.setdefault(partition, set())
        stepped = set(changed)
        if now_ms - self._idle_at.get(partition, -1e18) >= self.opts.tick_s * 1000:
            self._idle_at[partition] = now_ms
            if caught_up:  # only then is a machine's silence real (not a backlog still queued)
                for key in self._partition_keys(partition):
                    stepped.add(key)
                    if self._load(key, partition).idle(now_ms, self.opts.idle_timeout_ms):
                        changed.add(key)
            else:
                self.stats["idle_deferred"] += 1
        for key in stepped:
            if self._emit(key, now_ms):
                changed.add(key)

    def _emit(self, key: str, now: float) -> bool:
        ms = self.cache[key]
        emits = ms.step(now, self.opts.emit_interval_ms)
        if not emits:
            return False
        site, line, machine = self.machines[key][0], self.machines[key][1], self.machines[key][2].id
        site_key = site.encode()
        out, partials, add = self.opts.output_topic, self.opts.partials, self.outbox.add
        for e in emits:
            rec = machine_record(e, site, line, machine, self.ctx)
            add(out, record_key(rec), dumps(rec))
            add(partials, site_key, partial_message(e, site, line, machine, ms.seq))
        add(partials, site_key, watermark_message(site, line, machine, ms.wm or 0))
        self.stats["records"] += len(emits)
        return True

    def stage(self, partition: int) -> None:
        for key in self.changed.pop(partition, ()):
            self.store.put(partition, key, self.cache[key].to_dict())


def _legacy_marker(topic: str, partition: int) -> str:
    return f"@{partition}"
