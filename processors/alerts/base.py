"""The rule interface and registry: a rule type is one class, registered by its `type` name.

    @register
    class MyRule(Rule):
        type = "my_rule"
        params = {"limit": Param("number", required=True)}   # keys it adds to the plant config
        inputs = frozenset({"reading", "tick"})              # what it wants to see

        def scopes(self, inp):       # which alert scopes an input concerns (default: its machine)
            ...
        def observe(self, ctx, inp, now):  # update ctx (JSON), say breach/band/ok -> Observation
            ...

`Rule.evaluate(state, inp, now) -> list[AlertEvent]` runs `observe` and the shared episode state
machine (episode.py: `for`, hysteresis, `clear_for`, `renotify`) and renders the messages; a rule
that needs other timing may override `evaluate` itself. `state` is the JSON-serialisable dict the
engine keeps per alert id: `{"rule", "scope", "ctx": <the rule's own>, "ep": <the episode>}`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from brain.plant import Plant, state_code_key
from brain.plant.alerts import AlertRule, Param, register_rule_params
from processors.alerts.episode import Observation, step
from processors.alerts.events import AlertEvent, Scope, alert_id
from processors.alerts.templates import render, template_for

READING, KPI, DEADLETTER, TICK = "reading", "kpi", "deadletter", "tick"


@dataclass(frozen=True, slots=True)
class Input:
    """One thing to evaluate: a reading, a KPI record or a dead letter (decoded JSON), or a
    wall-clock tick (`data` None), for one alert scope."""

    kind: str
    data: dict[str, Any] | None
    scope: Scope | None = None


class Rule:
    type: ClassVar[str] = ""
    params: ClassVar[dict[str, Param]] = {}
    inputs: ClassVar[frozenset[str]] = frozenset()
    level: ClassVar[str] = "machine"

    def __init__(self, config: AlertRule, plant: Plant | None = None) -> None:
        self.config = config
        self.plant = plant
        self.p = config.params
        self.id = config.id
        self.tz = plant.timezone if plant else "Asia/Shanghai"

    # -- what an input concerns ------------------------------------------------------------------
    def scopes(self, inp: Input) -> list[Scope]:
        """Default: a reading concerns its machine, when the selector matches."""
        d = inp.data or {}
        if inp.kind == READING and self.config.scope.matches(d.get("site"), d.get("line"), d.get("machine")):
            return [Scope(d["site"], d["line"], d["machine"])]
        return []

    def tick_scopes(self, known: Iterable[Scope], now: int) -> Iterable[Scope]:
        """Scopes to re-evaluate on a wall-clock tick. Default: those with state already."""
        return known

    # -- the rule's own logic ----------------------------------------------------------------------
    def observe(self, ctx: dict[str, Any], inp: Input, now: int) -> Observation | None:
        raise NotImplementedError

    def extra_fields(self) -> dict[str, Any]:
        """Template fields specific to the rule (metric, field, window, unit)."""
        return {}

    def clear_value(self) -> float | None:
        return self.p.get("clear")

    # -- shared -----------------------------------------------------------------------------------
    def evaluate(self, state: dict[str, Any], inp: Input, now: int) -> list[AlertEvent]:
        assert inp.scope is not None
        obs = self.observe(state.setdefault("ctx", {}), inp, now)
        if obs is None:
            return []
        cfg = self.config
        tr = step(
            state.setdefault("ep", {}),
            obs,
            for_ms=int(cfg.for_s * 1000),
            clear_for_ms=int(cfg.clear_for_s * 1000),
            renotify_ms=int(cfg.renotify_s * 1000) if cfg.renotify_s else None,
        )
        if tr is None:
            return []
        scope = inp.scope
        fields: dict[str, Any] = {
            "id": alert_id(self.id, scope),
            "rule": self.id,
            "type": self.type,
            "state": tr.state,
            "severity": cfg.severity,
            "scope": scope.level,
            "site": scope.site,
            "line": scope.line,
            "machine": scope.machine,
            "value": tr.value,
            "threshold": tr.threshold,
            "clear": self.clear_value(),
            "started": tr.started,
            "ended": tr.ended,
            "ts": tr.ts,
            "notification": tr.notification,
            "runbook": cfg.runbook,
        }
        text = {**fields, "where": scope.path, **self.extra_fields()}
        messages = {
            lang: render(template_for(self.type, lang, cfg.message), text, lang, self.tz)
            for lang in ("en", "zh")
        }
        return [AlertEvent(**fields, message_en=messages["en"], message_zh=messages["zh"])]

    # -- helpers for subclasses -------------------------------------------------------------------
    def state_name(self, d: dict[str, Any]) -> str | None:
        """A `state` reading's value as a state name (numeric codes through the machine's map)."""
        value = d.get("value")
        if isinstance(value, str) and not value.lstrip("-").isdigit():
            return value
        if self.plant is not None:
            machine = self.plant.machine(d.get("site", ""), d.get("line", ""), d.get("machine", ""))
            if machine is not None:
                return machine.state_codes.get(state_code_key(value))
        return None


RULES: dict[str, type[Rule]] = {}


def register(cls: type[Rule]) -> type[Rule]:
    """Register a rule class under its `type` (a decorator); its `params` join the config schema."""
    if not cls.type:
        raise ValueError(f"{cls.__name__}: set `type` to the rule type name")
    RULES[cls.type] = cls
    register_rule_params(cls.type, cls.params)
    return cls


def number(value: Any) -> float | None:
    """A reading's value as a number (bools 0/1); None for strings and non-finite values."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and value == value and value not in (float("inf"), float("-inf")):
        return float(value)
    return None
