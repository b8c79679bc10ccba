"""Late data within a grace period: keep the readings not yet older than the horizon and, when
one arrives out of order, rebuild the live fold from a base snapshot (recompute).

    base    = fold of every reading older than the horizon (watermark - grace)
    pending = the readings at or after the horizon, in event-time order
    live    = base + pending, which is what windows are computed from

In-order readings cost one `feed`; an out-of-order one costs a replay of `pending`. Readings
older than the horizon are refused (`too_late`), to be counted by the caller, never dropped
silently. The whole state is plain JSON (`to_dict` / `from_dict`).
"""

from __future__ import annotations

from bisect import insort
from typing import Any

from brain.plant import Machine
from processors.kpi.calendar import Calendar
from processors.kpi.engine import MachineFold

OK, REPLAYED, TOO_LATE = "ok", "replayed", "too_late"


class ReplayMachine:
    def __init__(self, machine: Machine, cal: Calendar, grace_ms: int) -> None:
        self.machine, self.cal, self.grace_ms = machine, cal, grace_ms
        self.base = MachineFold(machine, cal)
        self.live = MachineFold(machine, cal)
        self.pending: list[tuple[int, int, str, Any]] = []
        self.horizon = -(2**62)
        self.advanced_to = -(2**62)
        self.seq = 0
        self.too_late = 0

    def add(self, metric: str, value: Any, ts: int) -> str:
        """Add one reading; returns OK, REPLAYED (live rebuilt: re-emit `live.take_dirty()` windows)
        or TOO_LATE (older than watermark - grace)."""
        if ts < self.horizon:
            self.too_late += 1
            return TOO_LATE
        self.seq += 1
        item = (ts, self.seq, metric, value)
        in_order = not self.pending or item > self.pending[-1]
        insort(self.pending, item)
        if in_order and ts >= self.advanced_to:
            self.live.feed(metric, value, ts)
            return OK
        self._rebuild()
        return REPLAYED

    def advance(self, until: int) -> None:
        """Attribute held signals (state, power) of the live fold up to `until` (e.g. the watermark)."""
        self.advanced_to = max(self.advanced_to, until)
        self.live.advance(until)

    def set_watermark(self, watermark: int) -> None:
        """Readings older than watermark - grace become final: fold them into the base."""
        horizon = watermark - self.grace_ms
        if horizon <= self.horizon:
            return
        self.horizon = horizon
        n = 0
        for ts, _, metric, value in self.pending:
            if ts >= horizon:
                break
            self.base.feed(metric, value, ts)
            n += 1
        del self.pending[:n]

    def prune(self, before: int) -> None:
        """Forget buckets older than `before` (their windows are emitted final)."""
        self.base.prune(before)
        self.live.prune(before)

    def _rebuild(self) -> None:
        dirty = self.live.dirty
        live = MachineFold.from_dict(self.base.to_dict(), self.machine, self.cal)
        for ts, _, metric, value in self.pending:
            live.feed(metric, value, ts)
        if self.advanced_to > -(2**62):
            live.advance(self.advanced_to)
        live.take_dirty()
        # everything the replay touched, plus what was dirty before, must be re-emitted
        live.dirty = dirty | set(live.buckets.keys() - self.live.buckets.keys()) | _changed(self.live, live)
        self.live = live

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": self.base.to_dict(),
            "live": self.live.to_dict(),
            "pending": [list(p) for p in self.pending],
            "horizon": self.horizon,
            "advanced_to": self.advanced_to,
            "seq": self.seq,
            "too_late": self.too_late,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], machine: Machine, cal: Calendar, grace_ms: int) -> ReplayMachine:
        r = cls(machine, cal, grace_ms)
        r.base = MachineFold.from_dict(data["base"], machine, cal)
        r.live = MachineFold.from_dict(data["live"], machine, cal)
        r.pending = [tuple(p) for p in data["pending"]]  # type: ignore[misc]
        r.horizon, r.advanced_to = data["horizon"], data["advanced_to"]
        r.seq, r.too_late = data["seq"], data["too_late"]
        return r


def _changed(old: MachineFold, new: MachineFold) -> set[int]:
    return {k for k, v in new.buckets.items() if old.buckets.get(k) != v}
