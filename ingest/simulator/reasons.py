"""Reason readings for the simulated stops (loss analysis, shared/KPIS.md "Loss analysis (v2)"). Pure.

When a machine enters a stop (fault, setup, idle from running), `ReasonPicker.pick` decides
whether the operator labels it and with which code of the machine's reason tree: a stop shorter
than `minor_stop_s` takes a `minor_stop` code when the tree has one, a fault a `breakdown` code,
a changeover a `setup` code, an idle episode a `no_order`, `starved` or `blocked` code. A share
`unlabelled_share` of the stops (and any stop the tree has no code for) stays unlabelled. The
picker draws from a generator of its own, so the states, counters and power of a seed do not
change when reasons are switched on.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from brain.vocabulary import FAULT, IDLE, SETUP

# Which categories a stop state's reason is drawn from (the category of the state itself first).
STATE_CATEGORIES: Mapping[str, tuple[str, ...]] = {
    FAULT: ("breakdown",),
    SETUP: ("setup",),
    IDLE: ("no_order", "starved", "blocked"),
}
MINOR_STOP = "minor_stop"


class ReasonPicker:
    """The reason code an operator gives a stop, or None (left unlabelled)."""

    def __init__(
        self,
        tree: Mapping[str, str],
        *,
        unlabelled_share: float,
        minor_stop_s: float,
        rng: random.Random,
    ) -> None:
        """`tree`: reason code -> category (the machine's reason tree)."""
        self.by_category: dict[str, list[str]] = {}
        for code, category in sorted(tree.items()):
            self.by_category.setdefault(category, []).append(code)
        self.unlabelled_share = min(max(unlabelled_share, 0.0), 1.0)
        self.minor_stop_ms = minor_stop_s * 1000
        self.rng = rng

    def pick(self, state: str, duration_ms: int) -> str | None:
        categories = STATE_CATEGORIES.get(state)
        if not categories:
            return None  # planned stops and offline are not labelled
        rng = self.rng
        if rng.random() < self.unlabelled_share:
            return None
        if duration_ms < self.minor_stop_ms and self.by_category.get(MINOR_STOP) and state != SETUP:
            codes = self.by_category[MINOR_STOP]
        else:
            codes = [c for cat in categories for c in self.by_category.get(cat, ())]
        if not codes:
            return None
        return codes[int(rng.random() * len(codes))]
