"""Output KPIs (ISO 22400-2) from summed time elements and quantities. Undefined -> None."""

from __future__ import annotations

from typing import Any

PERFORMANCE_SUSPECT = 1.05  # above this the ideal cycle time is probably wrong


def ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def good_quantity(pq: float, sq: float) -> float | None:
    """GQ = PQ − SQ; None when the scrap count exceeds the produced count (the counters disagree,
    e.g. a scrap counter without `count_total`): a negative GQ, or one clamped to 0, would be a
    made-up number, and so would the quality, OEE and kWh per good unit built on it."""
    return pq - sq if sq <= pq + 1e-9 else None


def output_kpis(p: dict[str, Any], window_ms: int) -> dict[str, Any]:
    """availability, performance, quality, oee, nee, throughput, MTBF, MTTR (+ extras)."""
    timed = p["n_timed"] > 0
    counted = p["n_count"] > 0
    apt, aust, adet, pbt = p["apt"] / 1000, p["aust"] / 1000, p["adet"] / 1000, p["pbt"] / 1000
    aupt = apt + aust
    pq, sq = p["pq"], p["sq"]
    gq = good_quantity(pq, sq)
    fe = p["fe"]
    availability = ratio(apt, pbt) if timed else None
    performance = ratio(p["ideal_s"], p["apt_pri"] / 1000) if p["n_pri"] and counted else None
    quality = ratio(gq, pq) if counted and gq is not None else None
    oee = nee = None
    if availability is not None and performance is not None and quality is not None:
        oee = availability * performance * quality
        nee = aupt / pbt * performance * quality
    hours = window_ms / 3_600_000
    return {
        "availability": availability,
        "performance": performance,
        "quality": quality,
        "oee": oee,
        "nee": nee,
        "throughput_per_h": pq / hours if counted and hours > 0 else None,
        "mtbf_s": aupt / fe if timed and fe > 0 else None,
        "mttr_s": adet / fe if timed and fe > 0 else None,
        # extras (not in v1; documented in docs/KPI.md)
        "technical_efficiency": ratio(apt, apt + adet) if timed else None,
        "setup_rate": ratio(aust, aupt) if timed else None,
        "scrap_ratio": ratio(sq, pq) if counted else None,
        "performance_suspect": (performance > PERFORMANCE_SUSPECT) if performance is not None else None,
    }
