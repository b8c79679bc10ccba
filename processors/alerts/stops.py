"""`stop_without_reason`: a machine in an unplanned stop for longer than `for` with no reason
reading for that stop, so the operator on duty is asked to label it (issue 14).

A stop episode is a maximal run of non-running states (shared/KPIS.md "Loss analysis (v2)"); a
`reason` reading labels the episode that contains its `ts`, whenever it arrives. The alert fires
while the machine is in an unplanned stop state (fault, setup, idle; not planned_stop or offline)
of an unlabelled episode for `for`, and resolves when the episode is labelled or the machine runs.
"""

from __future__ import annotations

from typing import Any

from brain.plant.alerts import RULE_PARAMS
from brain.vocabulary import FAULT, IDLE, RUNNING, SETUP
from processors.alerts.base import READING, TICK, Input, Rule, register
from processors.alerts.episode import BREACH, OK, Observation
from processors.alerts.events import Scope

REASON = "reason"  # the reason metric (brain/vocabulary.py of the loss analysis)
UNPLANNED_STOPS = frozenset({FAULT, SETUP, IDLE})


@register
class StopWithoutReasonRule(Rule):
    """An unplanned stop with no reason reading for longer than `for`."""

    type = "stop_without_reason"
    params = RULE_PARAMS["stop_without_reason"]
    inputs = frozenset({READING, TICK})

    def scopes(self, inp: Input) -> list[Scope]:
        if inp.kind == READING and (inp.data or {}).get("metric") not in ("state", REASON):
            return []
        return super().scopes(inp)

    def observe(self, ctx: dict[str, Any], inp: Input, now: int) -> Observation | None:
        if inp.kind == READING:
            d = inp.data or {}
            if d.get("metric") == REASON:
                # labels the episode containing ts: the current one when ts is at/after its start
                ctx["reason"] = max(d["ts"], ctx.get("reason", d["ts"]))
                if ctx.get("stop") is None or d["ts"] < ctx["stop"]:
                    return None  # no stop yet, or a past episode: nothing to do here
                at = max(d["ts"], ctx["t"])
            else:
                name = self.state_name(d)
                if name is None or d["ts"] < ctx.get("t", d["ts"]):
                    return None  # unknown code, or older than what we hold
                self._state(ctx, name, d["ts"])
                at = d["ts"]
        else:
            if "s" not in ctx:
                return None
            at = max(now, ctx["t"])
        return self._level(ctx, at)

    @staticmethod
    def _state(ctx: dict[str, Any], name: str, ts: int) -> None:
        if name == RUNNING:
            ctx["stop"] = ctx["since"] = None
        else:
            if ctx.get("stop") is None:
                ctx["stop"] = ts  # a new stop episode
            if name in UNPLANNED_STOPS and ctx.get("s") not in UNPLANNED_STOPS:
                ctx["since"] = ts  # unplanned (again) from now on
        ctx["s"], ctx["t"] = name, ts

    def _level(self, ctx: dict[str, Any], at: int) -> Observation:
        limit = self.config.for_s
        stop, since = ctx.get("stop"), ctx.get("since")
        labelled = stop is not None and ctx.get("reason", -1) >= stop
        if stop is None or since is None or ctx["s"] not in UNPLANNED_STOPS or labelled:
            return Observation(OK, at, 0.0, limit)
        return Observation(BREACH, at, (at - since) / 1000, limit, since=since)

    def extra_fields(self) -> dict[str, Any]:
        return {"metric": REASON}
