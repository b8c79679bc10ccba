"""The alert engine: routes each input to the rules that want it and keeps one JSON state per alert
id in a `store` (any MutableMapping: a dict in tests and `brain kpi`-style replays, a Faust Table
with a changelog in the service). Pure: no I/O, no clock — `now` is passed in.

    engine = AlertEngine.from_plant(plant)
    events = engine.process("reading", reading_dict, store, now_ms)
    events += engine.tick(store, now_ms)          # wall-clock timer: for-durations, silence
"""

from __future__ import annotations

import copy
from collections.abc import MutableMapping, Sequence
from typing import Any

from brain.plant import Plant
from brain.plant.alerts import AlertRule
from processors.alerts.base import DEADLETTER, KPI, READING, RULES, TICK, Input, Rule
from processors.alerts.events import AlertEvent, Scope, alert_id

KINDS = (READING, KPI, DEADLETTER)


class AlertEngine:
    def __init__(self, rules: Sequence[AlertRule], plant: Plant | None = None) -> None:
        missing = [r.type for r in rules if r.type not in RULES]
        if missing:
            raise ValueError(f"no rule class registered for type(s) {', '.join(sorted(set(missing)))}")
        self.rules: list[Rule] = [RULES[r.type](r, plant) for r in rules]
        self.by_kind: dict[str, list[Rule]] = {
            k: [r for r in self.rules if k in r.inputs] for k in (*KINDS, TICK)
        }

    @classmethod
    def from_plant(cls, plant: Plant) -> AlertEngine:
        return cls(plant.alerts, plant)

    def process(
        self, kind: str, data: dict[str, Any], store: MutableMapping[str, Any], now: int
    ) -> list[AlertEvent]:
        """Evaluate one reading / KPI record / dead letter (decoded JSON) against every rule."""
        if kind not in KINDS:
            raise ValueError(f"kind: expected one of {', '.join(KINDS)}, found {kind!r}")
        if kind == READING and not _reading_ok(data):
            return []
        events: list[AlertEvent] = []
        for rule in self.by_kind[kind]:
            for scope in rule.scopes(Input(kind, data)):
                events += self._evaluate(rule, scope, Input(kind, data, scope), store, now)
        return events

    def tick(self, store: MutableMapping[str, Any], now: int) -> list[AlertEvent]:
        """Re-evaluate the rules that depend on the passing of time at wall-clock `now`."""
        ticking = self.by_kind[TICK]
        if not ticking:
            return []
        known: dict[str, list[Scope]] = {r.id: [] for r in ticking}
        for state in list(store.values()):
            if isinstance(state, dict) and state.get("rule") in known:
                known[state["rule"]].append(Scope(*state["scope"]))
        events: list[AlertEvent] = []
        for rule in ticking:
            for scope in rule.tick_scopes(known[rule.id], now):
                events += self._evaluate(rule, scope, Input(TICK, None, scope), store, now)
        return events

    def _evaluate(
        self, rule: Rule, scope: Scope, inp: Input, store: MutableMapping[str, Any], now: int
    ) -> list[AlertEvent]:
        key = alert_id(rule.id, scope)
        before = store.get(key)
        state = copy.deepcopy(before) if before else {"rule": rule.id, "scope": list(scope)}
        events = rule.evaluate(state, inp, now)
        if state != before:
            store[key] = state  # reassign: a Faust Table only sees __setitem__
        return events

    def firing(self, store: MutableMapping[str, Any]) -> list[str]:
        """Ids of the alerts firing now."""
        return sorted(k for k, s in store.items() if isinstance(s, dict) and s.get("ep", {}).get("firing"))


def _reading_ok(d: Any) -> bool:
    return (
        isinstance(d, dict)
        and all(isinstance(d.get(k), str) and d.get(k) for k in ("site", "line", "machine", "metric"))
        and isinstance(d.get("ts"), int)
        and not isinstance(d.get("ts"), bool)
    )
