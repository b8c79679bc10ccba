"""Energy KPIs from a partial: kWh (meter preferred, else left-Riemann power), average power,
peak demand, power factor, load factor, specific energy, carbon, time-of-use split and cost.

The left-Riemann integration itself happens while folding (engine.MachineFold._riemann): the last
power value holds until the next reading, at most `power_max_gap_s`; beyond that no energy.
"""

from __future__ import annotations

import math
from typing import Any

from processors.kpi.demand import peak_demand_kw
from processors.kpi.oee import good_quantity, ratio


def power_factor(kwh: float, kvarh: float) -> float | None:
    """kWh / sqrt(kWh² + kvarh²); 0/0 -> None."""
    apparent = math.hypot(kwh, kvarh)
    return abs(kwh) / apparent if apparent > 0 else None


def energy_kpis(p: dict[str, Any], start: int, end: int, grid_factor: float, priced: bool) -> dict[str, Any]:
    has_e = p["n_energy"] > 0
    has_q = p["n_kvar"] > 0
    kwh = p["kwh"] if has_e else None
    kvarh = p["kvarh"] if has_q else None
    hours = (end - start) / 3_600_000
    peak = peak_demand_kw(p["blocks"], start, end) if has_e else None
    gq = good_quantity(p["pq"], p["sq"])
    counted = p["n_count"] > 0
    return {
        "energy_kwh": kwh,
        "energy_kvarh": kvarh,
        "avg_kw": kwh / hours if kwh is not None and hours > 0 else None,
        "peak_demand_kw": peak,
        "power_factor": power_factor(kwh, kvarh) if kwh is not None and kvarh is not None else None,
        "load_factor": ratio(kwh, peak * hours) if kwh is not None and peak else None,
        "sec_kwh_per_unit": ratio(kwh, gq) if kwh is not None and counted and gq is not None else None,
        "co2_kg": kwh * grid_factor if kwh is not None else None,
        "cost": p["cost"] if kwh is not None and priced else None,
        "kwh_peak": p["kwh_peak"] if has_e else None,
        "kwh_flat": p["kwh_flat"] if has_e else None,
        "kwh_valley": p["kwh_valley"] if has_e else None,
        # extra (not in v1): ISO 22400 comprehensive energy consumption, per produced unit
        "sec_kwh_per_pq": ratio(kwh, p["pq"]) if kwh is not None and counted else None,
    }
