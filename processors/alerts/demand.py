"""`demand_projection`: the open 15-minute demand block of a site, projected to its end, above the
contracted demand × `factor` — raised while the block is still open, so load can be shed.

projection (kW) = (kWh so far in the block + current kW × time left in the block) × 4

kWh so far: the increases of the `energy_kwh` meters (the rule's `metric`) of the machines the
selector matches, an increase that straddles the block start split by time (docs/KPI.md); for a
machine without a meter, its `power_kw` held until the next reading (at most 5 minutes). Current
kW: each machine's latest `power_kw` (`power_metric`) when it is at most 5 minutes old, else the
rate of its meter's last increase. Choose the meters with the selector (e.g. only the feeder
meter, `scope: {machine: main_meter}`) so that nothing is counted twice. The projection needs
`min_elapsed` (default 60 s) of the block before it says anything.
"""

from __future__ import annotations

from typing import Any

from brain.plant.alerts import RULE_PARAMS
from processors.alerts.base import READING, TICK, Input, Rule, number, register
from processors.alerts.episode import Observation, compare
from processors.alerts.events import Scope
from processors.kpi.counters import increase

BLOCK_MS = 15 * 60 * 1000
HOUR_MS = 3_600_000
POWER_FRESH_MS = 5 * 60 * 1000


def block_start(t: int) -> int:
    """Start of the 15-minute block containing t (every current UTC offset is a multiple of 15 min)."""
    return t - t % BLOCK_MS


def projected_block_demand_kw(
    kwh_so_far: float, kw_now: float, elapsed_ms: int, block_ms: int = BLOCK_MS
) -> float:
    """The block's demand if the current power holds to the block's end (pure)."""
    remaining_h = max(0, block_ms - elapsed_ms) / HOUR_MS
    return (kwh_so_far + kw_now * remaining_h) * HOUR_MS / block_ms


@register
class DemandProjectionRule(Rule):
    type = "demand_projection"
    params = RULE_PARAMS["demand_projection"]
    inputs = frozenset({READING, TICK})
    level = "site"

    def scopes(self, inp: Input) -> list[Scope]:
        d = inp.data or {}
        if inp.kind != READING or d.get("metric") not in (self.p["metric"], self.p["power_metric"]):
            return []
        if not self.config.scope.matches(d.get("site"), d.get("line"), d.get("machine")):
            return []
        return [Scope(d["site"])]

    def contracted_kw(self, site: str) -> float | None:
        if self.p["contracted_kw"] is not None:
            return self.p["contracted_kw"]
        for s in self.plant.sites if self.plant else ():
            if s.id == site:
                return s.contracted_demand_kw
        return None

    def clear_value(self) -> float | None:
        return None  # reported per event as a kW value in `threshold`; the factor is in the rule

    def observe(self, ctx: dict[str, Any], inp: Input, now: int) -> Observation | None:
        assert inp.scope is not None
        at = now if inp.kind == TICK else (inp.data or {})["ts"]
        if inp.kind == READING:
            self._feed(ctx, inp.data or {})
        b = block_start(at)
        if ctx.get("b") != b:
            if ctx.get("b") is not None and b < ctx["b"]:
                return None  # a reading of an earlier block: counted in its block already
            ctx["b"], ctx["e"] = b, 0.0
        elapsed = at - b
        contracted = self.contracted_kw(inp.scope.site)
        if contracted is None or elapsed < self.p["min_elapsed"] * 1000:
            return None
        machines = ctx.get("m", {}).values()
        kw_now = sum(self._kw(m, at) for m in machines)
        held = sum(  # energy of meterless machines since their last power reading
            m["kw"] * (at - max(m["pt"], b)) / HOUR_MS
            for m in machines
            if "k" not in m and "kw" in m and 0 <= at - m["pt"] <= POWER_FRESH_MS
        )
        projection = projected_block_demand_kw(ctx["e"] + held, kw_now, elapsed)
        limit = contracted * self.p["factor"]
        clear = contracted * self.p["clear"] if self.p["clear"] is not None else None
        return Observation(
            compare(projection, above=limit, below=None, clear=clear), at, round(projection, 3), limit
        )

    def _feed(self, ctx: dict[str, Any], d: dict[str, Any]) -> None:
        value, ts = number(d.get("value")), d["ts"]
        if value is None:
            return
        key = f"{d['line']}/{d['machine']}"
        m = ctx.setdefault("m", {}).setdefault(key, {})
        b = block_start(ts)
        if ctx.get("b") is None or b > ctx["b"]:
            ctx["b"], ctx["e"] = b, 0.0
        if d["metric"] == self.p["power_metric"]:
            if ts < m.get("pt", ts):
                return
            if "k" not in m and "pt" in m and b == ctx["b"] and ts - m["pt"] <= POWER_FRESH_MS:
                ctx["e"] += m["kw"] * (ts - max(m["pt"], b)) / HOUR_MS  # no meter: energy from power
            m["kw"], m["pt"] = value, ts
            return
        prev_k, prev_t = m.get("k"), m.get("t")
        if prev_t is not None and ts <= prev_t:
            return
        m["k"], m["t"] = value, ts
        if prev_k is None or prev_t is None:
            return
        machine = self.plant.machine(d["site"], d["line"], d["machine"]) if self.plant else None
        inc = increase(prev_k, value, machine.meter_modulus if machine else None)
        dt = ts - prev_t
        m["mkw"] = inc / (dt / HOUR_MS)
        if b == ctx["b"]:
            ctx["e"] += inc if prev_t >= b else inc * (ts - b) / dt

    @staticmethod
    def _kw(m: dict[str, Any], at: int) -> float:
        if "kw" in m and at - m["pt"] <= POWER_FRESH_MS:
            return m["kw"]
        return m.get("mkw", 0.0)

    def extra_fields(self) -> dict[str, Any]:
        return {"metric": self.p["metric"], "unit": "kW"}
