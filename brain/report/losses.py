"""What the downtime Pareto is made of. Pure; ONE switch (`pareto_rows`).

Today KPI records carry the ISO 22400 time elements, so the Pareto ranks stop time by element:
fault (ADET), setup (AUST), idle (ADOT), planned stops (PDOT) and unknown. Loss analysis
(shared/KPIS.md, "Loss analysis") adds `loss_<category>_s` fields to the records and a per-reason
`loss` measurement (tags `reason`, `category`): when they are there, the Pareto ranks by reason,
else by category, else by time element — without any other change to the report.
"""

from __future__ import annotations

from typing import Any

TIME_ELEMENTS = (
    ("fault", "adet_s"),
    ("setup", "aust_s"),
    ("idle", "adot_s"),
    ("planned", "pdot_s"),
    ("unknown", "unknown_s"),
)
# loss_<x>_s fields that are not stop categories (performance and quality losses as time)
NOT_STOPS = frozenset(("loss_speed_s", "loss_defect_s"))


def loss_categories(record: dict[str, Any]) -> dict[str, float]:
    """{category: seconds} from a record's `loss_<category>_s` fields (empty before loss analysis)."""
    return {
        k[5:-2]: float(v)
        for k, v in record.items()
        if k.startswith("loss_") and k.endswith("_s") and k not in NOT_STOPS and v is not None
    }


def pareto_rows(
    record: dict[str, Any] | None, reasons: list[dict[str, Any]] | None = None
) -> tuple[str, list[tuple[str, str | None, float]]]:
    """(basis, [(name, category, seconds)] largest first, zeros dropped).

    basis: `reason` (per-reason rows of the `loss` measurement), `category` (`loss_<c>_s`
    fields) or `element` (ISO 22400 time elements). THE place to change when losses change.
    """
    if record is None:
        return "element", []
    if reasons:
        rows = [(str(r["reason"]), r.get("category"), float(r["seconds"])) for r in reasons]
        basis = "reason"
    elif cats := loss_categories(record):
        rows = [(c, c, s) for c, s in cats.items()]
        basis = "category"
    else:
        rows = [(name, None, float(record.get(field) or 0.0)) for name, field in TIME_ELEMENTS]
        basis = "element"
    rows = sorted((r for r in rows if r[2] > 0), key=lambda r: -r[2])
    return basis, rows
