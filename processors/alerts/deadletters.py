"""`deadletter_rate`: dead letters per minute of a site (from `brain.deadletter`) above a limit.

The site of a dead letter: from its MQTT topic (`brain/v1/{site}/...`; for Sparkplug
`spBv1.0/{group}/...` the plant's `sparkplug.groups.{group}.site`, else the group), else from a
`site` in its (base64 JSON) payload (the sink's dead letters of KPI records), else `unknown`.
The rate counts the dead letters of the last `window` (default 60 s; one-second buckets) per
minute; ticks let it fall back (and resolve) when the dead letters stop.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from typing import Any

from brain.plant.alerts import RULE_PARAMS
from processors.alerts.base import DEADLETTER, TICK, Input, Rule, register
from processors.alerts.episode import Observation, compare
from processors.alerts.events import Scope

UNKNOWN_SITE = "unknown"


def deadletter_site(d: dict[str, Any], sparkplug: dict[str, Any] | None = None) -> str:
    topic = d.get("topic")
    if isinstance(topic, str):
        parts = topic.split("/")
        if len(parts) > 2 and parts[0] == "brain" and parts[1] == "v1" and parts[2] != "alerts" and parts[2]:
            return parts[2]
        if len(parts) > 1 and parts[0] == "spBv1.0" and parts[1]:
            group = (sparkplug or {}).get("groups", {}).get(parts[1])
            return group.get("site", parts[1]) if isinstance(group, dict) else parts[1]
    payload = d.get("payload")
    if isinstance(payload, str) and payload:
        try:
            inner = json.loads(base64.b64decode(payload, validate=True))
        except (binascii.Error, ValueError):
            inner = None
        if isinstance(inner, dict) and isinstance(inner.get("site"), str) and inner["site"]:
            return inner["site"]
    return UNKNOWN_SITE


@register
class DeadletterRateRule(Rule):
    type = "deadletter_rate"
    params = RULE_PARAMS["deadletter_rate"]
    inputs = frozenset({DEADLETTER, TICK})
    level = "site"

    def scopes(self, inp: Input) -> list[Scope]:
        if inp.kind != DEADLETTER:
            return []
        site = deadletter_site(inp.data or {}, self.plant.sparkplug if self.plant else None)
        return [Scope(site)] if self.config.scope.matches(site) else []

    def tick_scopes(self, known: Iterable[Scope], now: int) -> Iterable[Scope]:
        return known

    def observe(self, ctx: dict[str, Any], inp: Input, now: int) -> Observation | None:
        window_s = int(self.p["window"])
        if inp.kind == DEADLETTER:
            d = inp.data or {}
            at = d.get("received_ts") if isinstance(d.get("received_ts"), int) else now
            buckets = ctx.setdefault("n", {})
            key = str(at // 1000)
            buckets[key] = buckets.get(key, 0) + 1
        else:
            at = now
        at = max(at, ctx.get("t", at))
        ctx["t"] = at
        first = at // 1000 - window_s + 1
        buckets = {k: v for k, v in ctx.get("n", {}).items() if int(k) >= first}
        ctx["n"] = buckets
        rate = sum(buckets.values()) * 60.0 / window_s
        level = compare(rate, above=self.p["above"], below=None, clear=self.p["clear"])
        return Observation(level, at, rate, self.p["above"])

    def extra_fields(self) -> dict[str, Any]:
        return {"unit": "/min"}
