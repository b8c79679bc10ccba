"""Rules on readings: `threshold` (a metric above/below), `state_duration` (in a state too long),
`silence` (no reading, or state offline, for too long). Ticks re-evaluate the held value at the
wall-clock time, so `for` durations and silence fire without new input."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from brain.plant.alerts import RULE_PARAMS
from processors.alerts.base import READING, TICK, Input, Rule, number, register
from processors.alerts.episode import BREACH, OK, Observation, compare
from processors.alerts.events import Scope


@register
class ThresholdRule(Rule):
    """`metric` above/below a threshold for `for`; resolves at `clear` (default: the threshold)."""

    type = "threshold"
    params = RULE_PARAMS["threshold"]
    inputs = frozenset({READING, TICK})

    def scopes(self, inp: Input) -> list[Scope]:
        if inp.kind == READING and (inp.data or {}).get("metric") != self.p["metric"]:
            return []
        return super().scopes(inp)

    def observe(self, ctx: dict[str, Any], inp: Input, now: int) -> Observation | None:
        if inp.kind == READING:
            d = inp.data or {}
            value = number(d.get("value"))
            if value is None or d["ts"] < ctx.get("t", d["ts"]):
                return None  # not a number, or older than what we hold
            ctx["v"], ctx["t"] = value, d["ts"]
            at = d["ts"]
        else:
            if "v" not in ctx:
                return None
            value, at = ctx["v"], max(now, ctx["t"])
        limit = self.p["above"] if self.p["above"] is not None else self.p["below"]
        level = compare(value, above=self.p["above"], below=self.p["below"], clear=self.p["clear"])
        return Observation(level, at, value, limit)

    def extra_fields(self) -> dict[str, Any]:
        return {"metric": self.p["metric"]}


@register
class StateDurationRule(Rule):
    """A machine in `state` (default fault) for longer than `for`."""

    type = "state_duration"
    params = RULE_PARAMS["state_duration"]
    inputs = frozenset({READING, TICK})

    def scopes(self, inp: Input) -> list[Scope]:
        if inp.kind == READING and (inp.data or {}).get("metric") != "state":
            return []
        return super().scopes(inp)

    def observe(self, ctx: dict[str, Any], inp: Input, now: int) -> Observation | None:
        if inp.kind == READING:
            d = inp.data or {}
            name = self.state_name(d)
            if name is None or d["ts"] < ctx.get("t", d["ts"]):
                return None
            if name != ctx.get("s"):
                ctx["s"], ctx["since"] = name, d["ts"]
            ctx["t"] = d["ts"]
            at = d["ts"]
        else:
            if "s" not in ctx:
                return None
            at = max(now, ctx["t"])
        limit = self.config.for_s
        if ctx["s"] == self.p["state"]:
            return Observation(BREACH, at, (at - ctx["since"]) / 1000, limit, since=ctx["since"])
        return Observation(OK, at, 0.0, limit)

    def extra_fields(self) -> dict[str, Any]:
        return {"metric": self.p["state"]}


@register
class SilenceRule(Rule):
    """No reading (of `metric`, or any) for longer than `for`, or the state `offline` that long.

    Time since the last reading uses its `received_ts` (the bridge's clock) when present, else its
    `ts`, against the wall clock of the tick: device clocks that run wrong do not fake silence.
    Every machine of the plant that the selector matches is watched from the first tick on, so a
    machine that never sent anything is silent too."""

    type = "silence"
    params = RULE_PARAMS["silence"]
    inputs = frozenset({READING, TICK})

    def scopes(self, inp: Input) -> list[Scope]:
        metric = self.p["metric"]
        d = inp.data or {}
        if inp.kind == READING and metric is not None and d.get("metric") not in (metric, "state"):
            return []
        return super().scopes(inp)

    def tick_scopes(self, known: Iterable[Scope], now: int) -> Iterable[Scope]:
        scopes = set(known)
        if self.plant is not None:
            for s, ln, m in self.plant.machines():
                if self.config.scope.matches(s.id, ln.id, m.id):
                    scopes.add(Scope(s.id, ln.id, m.id))
        return sorted(scopes, key=lambda sc: sc.path)

    def observe(self, ctx: dict[str, Any], inp: Input, now: int) -> Observation | None:
        limit = self.config.for_s
        if inp.kind == READING:
            d = inp.data or {}
            seen = d.get("received_ts") or d["ts"]
            if d.get("metric") == "state" and self.p["offline"]:
                offline = self.state_name(d) == "offline"
                if offline and ctx.get("off") is None:
                    ctx["off"] = seen
                elif not offline:
                    ctx["off"] = None
                if self.p["metric"] is not None:  # a state reading is no sign of life then
                    return None
            ctx["seen"] = max(seen, ctx.get("seen", seen))
            at = ctx["seen"]
            if ctx.get("off") is not None:
                return Observation(BREACH, at, (at - ctx["off"]) / 1000, limit, since=ctx["off"])
            return Observation(OK, at, 0.0, limit)
        ctx.setdefault("seen", now)  # watched from now on
        since = ctx["off"] if ctx.get("off") is not None else ctx["seen"]
        if now - since <= 0:
            return Observation(OK, now, 0.0, limit)
        return Observation(BREACH, now, (now - since) / 1000, limit, since=since)

    def extra_fields(self) -> dict[str, Any]:
        return {"metric": self.p["metric"] or "*"}
