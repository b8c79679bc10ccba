"""The city's evaluation, pure: register + export records -> per-enterprise indicators, score,
rank and class, sector benchmarks and park roll-ups (docs/CITY.md has every rule and a worked example).

The batch command (`brain city`) and the city stream service call this same function, so the
stream's figures equal a recomputation from a file. No I/O, no clock.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from brain.city.ledger import Ledger
from brain.city.register import INDICATORS, NOT_EVALUATED, Enterprise, Register, RegisterError

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
PER_ENERGY = {"tce", "kwh"}  # indicator denominators that are metered, not master data


@dataclass
class CityResult:
    """What one evaluation produced: flat rows (each with `kind`) and what was rejected."""

    enterprises: list[dict[str, Any]]
    sectors: list[dict[str, Any]]
    parks: list[dict[str, Any]]
    rejected: list[tuple[Any, str]]
    counters: dict[str, int] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        """All rows, enterprises then sectors then parks: what `brain city` writes."""
        return [*self.enterprises, *self.sectors, *self.parks]


@dataclass
class _Sums:
    kwh: float = 0.0
    gq: float = 0.0
    pq: float = 0.0
    pot_s: float = 0.0
    unknown_s: float = 0.0
    oee_pot: float = 0.0  # sum of oee x pot_s over records with an oee
    pot_with_oee: float = 0.0
    days: int = 0


def evaluate(
    register: Register, exports: Iterable[Mapping[str, Any]], year: int, month: str | None = None
) -> CityResult:
    """Evaluate one period (`year`, or `month` "YYYY-MM" within it) on the last export per key."""
    return Ledger(register).add_all(exports).evaluate(year, month)


def evaluate_ledger(ledger: Ledger, year: int, month: str | None = None) -> CityResult:
    """Evaluate one period on a ledger's state: what the stream service publishes."""
    register = ledger.register
    period = _period(register, year, month)
    counters = {
        **ledger.counters,
        **dict.fromkeys(("summed", "not_summed", "outside_period", "non_final"), 0),
    }
    sums = _sum_site_days(register, ledger.latest.values(), period, month is not None, counters)
    kgce = register.scheme.kgce_per_kwh_for(year, register.source)
    fraction = (
        1.0
        if month is None
        else calendar.monthrange(year, int(month[5:]))[1] / (366 if calendar.isleap(year) else 365)
    )
    ents = [
        _enterprise_row(register, e, sums.get(e.id, _Sums()), year, period, kgce, fraction)
        for e in register.enterprises
    ]
    _rank(register, ents, counters)
    counters["enterprises"] = len(ents)
    counters["evaluated"] = sum(1 for r in ents if r["class"] != NOT_EVALUATED)
    counters["dq_flagged"] = sum(1 for r in ents if r["dq_flagged"])
    return CityResult(
        ents, _sectors(ents, period), _parks(ents, period, fraction), list(ledger.rejected), counters
    )


def _period(register: Register, year: int, month: str | None) -> str:
    if month is None:
        return str(year)
    m = _MONTH.match(month)
    if not m or int(m.group(1)) != year:
        raise RegisterError("--month", "month", f"a month YYYY-MM within {year}", month)
    return month


def _sum_site_days(
    register: Register,
    records: Iterable[Mapping[str, Any]],
    period: str,
    by_month: bool,
    counters: dict[str, int],
) -> dict[str, _Sums]:
    """Sum the site-scope `day` records of the period per enterprise; line and 1h ones are not summed."""
    tz = ZoneInfo(register.timezone)
    local: dict[int, str] = {}  # start ms -> its local period
    out: dict[str, _Sums] = {}
    cut = 7 if by_month else 4
    for r in records:
        if r["scope"] != "site" or r["window"] != "day":
            counters["not_summed"] += 1
            continue
        start = r["start"]
        p = local.get(start)
        if p is None:
            p = local[start] = dt.datetime.fromtimestamp(start / 1000, tz).strftime("%Y-%m")[:cut]
        if p != period:
            counters["outside_period"] += 1
            continue
        counters["summed"] += 1
        if r.get("final") is False:
            counters["non_final"] += 1
        s = out.get(r["enterprise"])
        if s is None:
            s = out[r["enterprise"]] = _Sums()
        s.days += 1
        s.kwh += r.get("energy_kwh") or 0.0
        s.gq += r.get("gq") or 0.0
        s.pq += r.get("pq") or 0.0
        pot = r.get("pot_s") or 0.0
        s.pot_s += pot
        s.unknown_s += r.get("unknown_s") or 0.0
        oee = r.get("oee")
        if oee is not None:
            s.oee_pot += oee * pot
            s.pot_with_oee += pot
    return out


def _ratio(num: float | None, den: float | None) -> float | None:
    return None if num is None or not den else num / den


def _enterprise_row(
    register: Register, e: Enterprise, s: _Sums, year: int, period: str, kgce: float, fraction: float
) -> dict[str, Any]:
    """Indicators of one enterprise: money is annual master data, scaled by `fraction` when
    divided by the period's energy (a month)."""
    factor = register.carbon_factor
    tce = s.kwh * kgce / 1000.0
    co2_t = s.kwh * factor.kg_per_kwh / 1000.0
    data = e.years.get(year)
    money = {
        k: getattr(data, k) if data else None for k in ("tax_wan_cny", "sales_wan_cny", "value_added_wan_cny")
    }
    va = money["value_added_wan_cny"]
    va_period = None if va is None else va * fraction
    out_value = data.output_value_wan_cny if data else None
    values: dict[str, float | None] = {}
    for ind, (num_key, den_key) in INDICATORS.items():
        num = money[num_key]
        if den_key == "land_mu":
            values[ind] = _ratio(num, e.land_mu)
        elif num is not None:
            den = tce if den_key == "tce" else s.kwh / 10_000.0  # tax_per_kwh in CNY per kWh
            values[ind] = _ratio(num * fraction, den)
        else:
            values[ind] = None
    dq = None if s.pot_s <= 0 else 1.0 - s.unknown_s / s.pot_s
    threshold = register.scheme.dq_threshold
    reason = _not_evaluated(register, e, s, year, period, values)
    score = None
    if reason is None:
        score = sum(i.weight * values[i.id] / i.baseline for i in register.scheme.indicators)  # type: ignore[operator]
    return {
        "kind": "enterprise",
        "enterprise": e.id,
        "name": e.name,
        "period": period,
        "sector": e.sector,
        "park": e.park,
        "land_mu": e.land_mu,
        "days": s.days,
        "kwh": s.kwh,
        "tce": tce,
        "energy_basis": register.scheme.energy_basis,
        "co2_t": co2_t,
        "carbon_factor": factor.id,
        "output_value": None if out_value is None else out_value * fraction,
        **money,
        **values,
        "tce_per_10k_value_added": _ratio(tce, va_period),
        "co2_t_per_10k_value_added": _ratio(co2_t, va_period),
        "kwh_per_unit": _ratio(s.kwh, s.gq),
        "gq": s.gq,
        "oee": _ratio(s.oee_pot, s.pot_with_oee),
        "dq_completeness": dq,
        "dq_flagged": dq is None or dq < threshold,
        "score": score,
        "rank": None,
        "class": NOT_EVALUATED if reason else None,
        "class_reason": reason,
    }


def _not_evaluated(
    register: Register, e: Enterprise, s: _Sums, year: int, period: str, values: dict[str, float | None]
) -> str | None:
    """Why the enterprise cannot be scored (class T), or None: never a division error."""
    if year not in e.years:
        return f"no master data for {year}"
    for ind in register.scheme.indicators:
        if values[ind.id] is not None:
            continue
        num_key, den_key = INDICATORS[ind.id]
        if getattr(e.years[year], num_key) is None:
            return f"no {num_key} for {year} ({ind.id})"
        if den_key == "land_mu":
            return f"no land area (land_mu) ({ind.id})"
        return f"no metered energy in {period} ({ind.id})"
    return None


def _rank(register: Register, rows: list[dict[str, Any]], counters: dict[str, int]) -> None:
    """Competition ranking by score (rank 1 = highest; equal scores to 9 decimals share the lowest
    rank number, the next rank skips), share = rank / n, class = the first whose share bound holds."""
    scored = sorted((r for r in rows if r["score"] is not None), key=lambda r: -r["score"])
    n = len(scored)
    threshold = register.scheme.dq_threshold
    flagged = 0
    prev_score, prev_rank = None, 0
    for i, r in enumerate(scored, start=1):
        key = round(r["score"], 9)
        rank = prev_rank if key == prev_score else i
        prev_score, prev_rank = key, rank
        share = rank / n
        cls = next(
            (c for c, bound in register.scheme.classes if share <= bound + 1e-12), register.scheme.rest_class
        )
        bound_text = next(
            (f"<= {c} {b:g}" for c, b in register.scheme.classes if c == cls), "past the last share"
        )
        reason = f"rank {rank} of {n}, share {share:.4f} {bound_text}"
        if r["dq_flagged"]:
            flagged += 1
            dq = r["dq_completeness"]
            dq_text = "no export data" if dq is None else f"dq_completeness {dq:.4f} < {threshold:g}"
            reason += f"; ranked on flagged data ({dq_text})"
        r["rank"], r["class"], r["class_reason"] = rank, cls, reason
    counters["ranked_on_flagged_data"] = flagged


def _percentile(value: float, values: list[float]) -> float:
    """Percent of the sector's values at or below this one (100 for the highest)."""
    return 100.0 * sum(1 for v in values if v <= value) / len(values)


def _sectors(rows: list[dict[str, Any]], period: str) -> list[dict[str, Any]]:
    """Each enterprise's place in its sector: kWh per good unit (low = efficient) and OEE."""
    by_sector: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_sector.setdefault(r["sector"], []).append(r)
    out = []
    for sector in sorted(by_sector):
        members = by_sector[sector]
        kpu = [r["kwh_per_unit"] for r in members if r["kwh_per_unit"] is not None]
        oee = [r["oee"] for r in members if r["oee"] is not None]
        for r in members:
            out.append(
                {
                    "kind": "sector",
                    "sector": sector,
                    "enterprise": r["enterprise"],
                    "park": r["park"],
                    "period": period,
                    "sector_enterprises": len(members),
                    "kwh_per_unit": r["kwh_per_unit"],
                    "kwh_per_unit_percentile": None
                    if r["kwh_per_unit"] is None
                    else _percentile(r["kwh_per_unit"], kpu),
                    "oee": r["oee"],
                    "oee_percentile": None if r["oee"] is None else _percentile(r["oee"], oee),
                }
            )
    return out


def _parks(rows: list[dict[str, Any]], period: str, fraction: float) -> list[dict[str, Any]]:
    """Park roll-ups: sums of metered and master data, intensities from the sums, classes counted."""
    by_park: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_park.setdefault(r["park"], []).append(r)
    out = []
    for park in sorted(by_park):
        members = by_park[park]
        with_land = [r for r in members if r["land_mu"] and r["tax_wan_cny"] is not None]
        with_va = [r for r in members if r["value_added_wan_cny"]]
        va = sum(r["value_added_wan_cny"] for r in with_va) * fraction
        row: dict[str, Any] = {
            "kind": "park",
            "park": park,
            "period": period,
            "enterprises": len(members),
            "evaluated": sum(1 for r in members if r["class"] != NOT_EVALUATED),
            "dq_flagged": sum(1 for r in members if r["dq_flagged"]),
            "kwh": sum(r["kwh"] for r in members),
            "tce": sum(r["tce"] for r in members),
            "co2_t": sum(r["co2_t"] for r in members),
            "land_mu": sum(r["land_mu"] or 0.0 for r in members),
            "tax_wan_cny": sum(r["tax_wan_cny"] or 0.0 for r in members),
            "tax_per_mu": _ratio(
                sum(r["tax_wan_cny"] for r in with_land), sum(r["land_mu"] for r in with_land)
            ),
            "tce_per_10k_value_added": _ratio(sum(r["tce"] for r in with_va), va),
            "co2_t_per_10k_value_added": _ratio(sum(r["co2_t"] for r in with_va), va),
        }
        for cls in sorted({r["class"] for r in rows} | {NOT_EVALUATED}):
            row[f"class_{cls}"] = sum(1 for r in members if r["class"] == cls)
        out.append(row)
    return out
