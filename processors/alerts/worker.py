"""`brain alerts` on the stream: input records -> the alert engine -> events (no Faust here).

The worker owns one store partition (0) holding every alert's JSON state and the markers of its
inputs (readings, KPI records, dead letters; any partition counts): one owner per app id at a
time, so a second worker with the same app id is a hot standby that takes over when the first
dies (after the session timeout). Each step pulls every input partition from its marker, applies
each record once (processors/runtime/cursor.py: a record is never applied twice unless a crash
cut a step short — at least once), runs the engine's wall-clock tick every `tick_s`, sends the
events (key = alert id) and waits for Kafka, then writes the changed states and, last, the
markers. Re-applied after a crash, an event may go out twice with the same id and `started`
(the sink overwrites, the notifier deduplicates).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from brain import logs
from processors.alerts.engine import AlertEngine
from processors.alerts.events import AlertEvent
from processors.alerts.options import AlertOptions
from processors.runtime.ports import Fetched, InputLog, Outbox, StateStore
from processors.runtime.worker import Clock, PartitionWorker

log = logging.getLogger("brain.alerts")
HOME = 0  # the one store partition


class TrackedDict(dict):
    """The engine's store: a dict that remembers which keys were assigned (to be written)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.dirty: set[str] = set()

    def __setitem__(self, key: str, value: Any) -> None:
        self.dirty.add(key)
        super().__setitem__(key, value)


class AlertWorker(PartitionWorker):
    agent = "alerts"
    logger = log

    def __init__(
        self,
        engine: AlertEngine,
        opts: AlertOptions,
        partitions: Mapping[str, int],
        *,
        log: InputLog,
        store: StateStore,
        outbox: Outbox,
        clock: Clock | None = None,
        stats: Counter[str] | None = None,
    ) -> None:
        """`partitions`: partition count of each input topic (`opts.inputs`)."""
        super().__init__(log=log, store=store, outbox=outbox, limit=opts.pull_max, clock=clock, stats=stats,
                         stats_interval_s=opts.stats_interval_s)  # fmt: skip
        self.engine, self.opts = engine, opts
        self.kinds = opts.inputs
        self._sources = [(t, q) for t in self.kinds for q in range(partitions[t])]
        self._states: TrackedDict | None = None
        self._ticked_at = -1e18

    def sources(self, partition: int) -> Sequence[tuple[str, int]]:
        return self._sources

    def reset(self) -> None:
        super().reset()
        self._states = None

    @property
    def states(self) -> TrackedDict:
        """Every alert's state (recovered from the store after an assignment)."""
        if self._states is None:
            keys = [k for k in self.store.keys(HOME) if not k.startswith("@")]
            self._states = TrackedDict({k: self.store.get(k) for k in keys})
        return self._states

    def apply(self, partition: int, topic: str, records: list[Fetched], now_ms: float) -> None:
        kind, states, now = self.kinds[topic], self.states, int(now_ms)
        for r in records:
            self.stats["in"] += 1
            try:
                data = orjson.loads(r.value or b"null")
            except orjson.JSONDecodeError:
                data = None
            if not isinstance(data, dict):
                self.stats["bad"] += 1
                continue
            self._send(self.engine.process(kind, data, states, now))

    def settle(self, partition: int, caught_up: bool, now_ms: float) -> None:
        if now_ms - self._ticked_at >= self.opts.tick_s * 1000:
            self._ticked_at = now_ms
            self._send(self.engine.tick(self.states, int(now_ms)))

    def _send(self, events: list[AlertEvent]) -> None:
        for event in events:
            self.outbox.add(self.opts.output_topic, event.id.encode(), orjson.dumps(event.to_dict()))
            self.stats["out"] += 1
            logs.event(log, "alerts.event", id=event.id, state=event.state, severity=event.severity,
                       value=event.value, notification=event.notification)  # fmt: skip

    def stage(self, partition: int) -> None:
        states = self.states
        for key in sorted(states.dirty):
            self.store.put(HOME, key, states.get(key))
        states.dirty.clear()
