"""Rules on KPI records (`brain.kpis`): `kpi` (a field of a window above/below a target) and
`sec_deviation` (kWh per good unit off a baseline by more than a percentage).

By default only **final** records are evaluated (`records: final`): a provisional record of an
open window moves as data arrives (an OEE at minute 2 of 15 says little), and alerting on it
would flap. `records: any` evaluates provisional records too, for earlier but noisier alerts.
A record is one observation at its window's end; a breach is pending from its window's start, so
`for: 30m` on 15-minute windows means two breaching windows in a row.
"""

from __future__ import annotations

from typing import Any

from brain.plant.alerts import RULE_PARAMS
from processors.alerts.base import KPI, Input, Rule, number, register
from processors.alerts.episode import Observation, compare
from processors.alerts.events import Scope


class _KpiRecordRule(Rule):
    inputs = frozenset({KPI})

    def scopes(self, inp: Input) -> list[Scope]:
        d = inp.data or {}
        if inp.kind != KPI or d.get("scope") != self.p["level"] or d.get("window") != self.p["window"]:
            return []
        if self.p["records"] == "final" and d.get("final") is not True:
            return []
        site, line, machine = d.get("site"), d.get("line"), d.get("machine")
        if not isinstance(site, str) or not self.config.scope.matches(site, line, machine):
            return []
        level = self.p["level"]
        return [Scope(site, line if level != "site" else None, machine if level == "machine" else None)]

    def record_value(self, d: dict[str, Any]) -> tuple[float, float] | None:
        """(value to report, value to compare) or None when undefined."""
        raise NotImplementedError

    def limits(self) -> dict[str, float | None]:
        raise NotImplementedError

    def observe(self, ctx: dict[str, Any], inp: Input, now: int) -> Observation | None:
        d = inp.data or {}
        start, end = d.get("start"), d.get("end")
        if not isinstance(start, int) or not isinstance(end, int) or _stale_final(ctx, d, end):
            return None
        values = self.record_value(d)
        if values is None:
            return None
        shown, compared = values
        limits = self.limits()
        level = compare(compared, **limits)
        threshold = limits["above"] if limits["above"] is not None else limits["below"]
        return Observation(level, end, shown, threshold, since=start if level == "breach" else None)


def _stale_final(ctx: dict[str, Any], d: dict[str, Any], end: int) -> bool:
    """A final record of a window older than the newest final one seen for this alert: old news
    (a processor re-sent it after a restart, or it came late). Evaluating it would treat a
    breach long over as current and fire an episode that already resolved — again. Kept in the
    rule's context as `final_end`. A final record of the newest window is evaluated again (a
    late reading corrected it); provisional records (`records: any`) are not checked."""
    if d.get("final") is not True:
        return False
    seen = ctx.get("final_end")
    if isinstance(seen, int) and end < seen:
        return True
    ctx["final_end"] = end
    return False


@register
class KpiRule(_KpiRecordRule):
    """A KPI `field` of `window` records of `level` above/below a target (e.g. oee below 0.65)."""

    type = "kpi"
    params = RULE_PARAMS["kpi"]

    def record_value(self, d: dict[str, Any]) -> tuple[float, float] | None:
        value = number(d.get(self.p["field"]))
        return None if value is None else (value, value)

    def limits(self) -> dict[str, float | None]:
        return {"above": self.p["above"], "below": self.p["below"], "clear": self.p["clear"]}

    def extra_fields(self) -> dict[str, Any]:
        return {"field": self.p["field"], "window": self.p["window"]}


@register
class SecDeviationRule(_KpiRecordRule):
    """`sec_kwh_per_unit` deviating from `baseline` by more than `percent` (% of the baseline):
    `direction: above` (default; more energy per unit), `below`, or `both`. The value reported is
    the signed deviation in %."""

    type = "sec_deviation"
    params = RULE_PARAMS["sec_deviation"]

    def record_value(self, d: dict[str, Any]) -> tuple[float, float] | None:
        sec = number(d.get("sec_kwh_per_unit"))
        if sec is None:
            return None
        dev = round((sec - self.p["baseline"]) / self.p["baseline"] * 100.0, 9)  # 10.000000000000009 is 10
        compared = {"above": dev, "below": -dev, "both": abs(dev)}[self.p["direction"]]
        return dev, compared

    def limits(self) -> dict[str, float | None]:
        return {"above": self.p["percent"], "below": None, "clear": self.p["clear"]}

    def extra_fields(self) -> dict[str, Any]:
        return {"field": "sec_kwh_per_unit", "window": self.p["window"], "unit": "%"}
