"""The city's state between evaluations: the last accepted export per identity key.

The city stream service `add`s each record as it arrives (MirrorMaker 2 is at-least-once, and a
factory re-exports corrected windows: the last one received for a key wins) and dead-letters what
`add` rejects with its reason; `evaluate(year, month)` then computes exactly what the batch command
computes from a file, because the batch command is this same ledger fed from the file.
Only the fields the evaluation reads are kept (a year of 1,000 enterprises is 365,000 records).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from brain.city.exports import ExportKey, export_key, validate_for_register

if TYPE_CHECKING:
    from brain.city.evaluate import CityResult
    from brain.city.register import Register

KEPT_FIELDS: Final = (
    "enterprise", "scope", "window", "start", "final", "energy_kwh", "gq", "pq", "pot_s", "unknown_s", "oee",
)  # fmt: skip


class Ledger:
    """Last export per key, counters, and (optionally) the rejected records with their reasons."""

    def __init__(self, register: Register, *, keep_rejected: bool = True) -> None:
        self.register = register
        self.latest: dict[ExportKey, dict[str, Any]] = {}
        self.counters = {"records": 0, "accepted": 0, "rejected": 0, "duplicates": 0}
        self.rejected: list[tuple[Any, str]] = []
        self._keep_rejected = keep_rejected

    def add(self, record: Any, source: str | None = None) -> str | None:
        """Take one export record: None when accepted, else the dead-letter reason. `source`: the
        enterprise whose topic it came from (`<enterprise>.brain.export`), when known."""
        self.counters["records"] += 1
        reason = validate_for_register(record, self.register, source)
        if reason is not None:
            self.counters["rejected"] += 1
            if self._keep_rejected:
                self.rejected.append((record, reason))
            return reason
        self.counters["accepted"] += 1
        key = export_key(record)
        if key in self.latest:
            self.counters["duplicates"] += 1  # a re-delivery or a correction: the last one wins
        self.latest[key] = {name: record.get(name) for name in KEPT_FIELDS}
        return None

    def add_all(self, records: Iterable[Mapping[str, Any]]) -> Ledger:
        for record in records:
            self.add(record)
        return self

    def evaluate(self, year: int, month: str | None = None) -> CityResult:
        """The evaluation of a period on the current state (brain/city/evaluate.py)."""
        from brain.city.evaluate import evaluate_ledger

        return evaluate_ledger(self, year, month)
