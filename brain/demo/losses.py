"""The top loss of each line for the demo's live view (pure): the reason with the most lost time
(from the per-reason records of `brain.losses`) and the loss category with the most (from the
`loss_<category>_s` fields of the line's KPI records), over the quarter hours seen so far.

A window re-emitted with corrected values (late data, a re-classified stop) replaces its earlier
figures, so nothing is counted twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

WINDOW = "15m"
LineKey = tuple[str, str]


def loss_fields(record: Mapping[str, Any]) -> dict[str, float]:
    """category -> seconds of a KPI record's `loss_<category>_s` fields (speed and defect too)."""
    return {
        k[5:-2]: float(v)
        for k, v in record.items()
        if k.startswith("loss_") and k.endswith("_s") and isinstance(v, (int, float))
    }


@dataclass
class LineLosses:
    """Lost seconds of one line by window start: per (reason, category) and per category."""

    reasons: dict[int, dict[tuple[str, str], float]] = field(default_factory=dict)
    categories: dict[int, dict[str, float]] = field(default_factory=dict)

    def top_reason(self) -> tuple[str, str, float] | None:
        total: dict[tuple[str, str], float] = {}
        for by_reason in self.reasons.values():
            for key, seconds in by_reason.items():
                total[key] = total.get(key, 0.0) + seconds
        return _top(total, lambda k, s: (*k, s))

    def top_category(self) -> tuple[str, float] | None:
        total: dict[str, float] = {}
        for by_category in self.categories.values():
            for category, seconds in by_category.items():
                total[category] = total.get(category, 0.0) + seconds
        return _top(total, lambda k, s: (k, s))


def _top(total: dict[Any, float], shape: Any) -> Any:
    """The largest positive entry (ties: the smaller key, so the view is deterministic)."""
    best = min((k for k, s in total.items() if s > 0), key=lambda k: (-total[k], k), default=None)
    return None if best is None else shape(best, total[best])


@dataclass
class Losses:
    """Every line's LineLosses, folded from line-scope 15-minute records."""

    lines: dict[LineKey, LineLosses] = field(default_factory=dict)

    def add_loss(self, record: Mapping[str, Any]) -> None:
        """One per-reason record (scope, site, line, window, start, reason, category, seconds)."""
        if record.get("scope") != "line" or record.get("window") != WINDOW:
            return
        line = self.lines.setdefault((record["site"], record["line"]), LineLosses())
        by_reason = line.reasons.setdefault(int(record["start"]), {})
        by_reason[(str(record.get("reason")), str(record.get("category")))] = float(
            record.get("seconds") or 0
        )

    def add_kpi(self, record: Mapping[str, Any]) -> None:
        """A line KPI record: its loss categories (the newest emission of a window wins)."""
        if record.get("scope") != "line" or record.get("window") != WINDOW:
            return
        fields = loss_fields(record)
        if fields:
            line = self.lines.setdefault((record["site"], record["line"]), LineLosses())
            line.categories[int(record["start"])] = fields

    def row(self, key: LineKey, names: Mapping[str, str] | None = None) -> str | None:
        """`  top loss: R01 Spindle fault (breakdown) 23.5 min · by category: breakdown 31.0 min`."""
        line = self.lines.get(key)
        if line is None:
            return None
        parts = []
        reason = line.top_reason()
        if reason is not None:
            code, category, seconds = reason
            name = (names or {}).get(code)
            label = f"{code} {name}" if name else code
            parts.append(f"top loss: {label} ({category}) {seconds / 60:.1f} min")
        category = line.top_category()
        if category is not None:
            parts.append(f"by category: {category[0]} {category[1] / 60:.1f} min")
        return "  " + " · ".join(parts) if parts else None
