"""The loss split of one machine (shared/KPIS.md "Loss analysis (v2)"). Pure; not yet wired into
the stream or `brain kpi` (docs/KPI.md "Loss analysis"): this is the core both will call.

A stop episode is a maximal run of adjacent non-running state intervals. A `reason` reading
labels the episode whose [start, end) holds its `ts`; of several, the latest received wins (the
highest receive order, so stream and batch agree). Every second of the window lands in APT or in
exactly one category:

- `planned_stop` seconds are `planned`, `offline` seconds `unknown`, whatever the label;
- the unplanned seconds (fault, setup, idle) of an episode whose unplanned total (the whole
  episode, not only the part in the window) is shorter than `minor_stop_s` are `minor_stop`;
- otherwise the label's category from the reason tree; unlabelled, or a code the tree lacks
  (label `unmapped:<code>`), the state's: fault -> breakdown, setup -> setup, idle -> idle.

An episode is one stop (and one minor stop if minor) in the window holding its first unplanned
second. Per reason (label, category): the unplanned seconds in the window and the stops.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from brain.vocabulary import (
    BREAKDOWN,
    FAULT,
    IDLE,
    LOSS_CATEGORIES,
    MINOR_STOP,
    OFFLINE,
    PLANNED,
    PLANNED_STOP,
    RUNNING,
    SETUP,
    UNKNOWN,
    UNLABELLED,
    UNMAPPED_PREFIX,
)

_STATE_CATEGORY = {FAULT: BREAKDOWN, SETUP: SETUP, IDLE: IDLE, PLANNED_STOP: PLANNED, OFFLINE: UNKNOWN}
_FIXED = {PLANNED_STOP: PLANNED, OFFLINE: UNKNOWN}  # categories no label changes


@dataclass(frozen=True, slots=True)
class Interval:
    """A state held over [start, end), epoch ms."""

    start: int
    end: int
    state: str


@dataclass(frozen=True, slots=True)
class ReasonReading:
    """A reason code at event time `ts`; `order` is its receive order (higher = received later)."""

    ts: int
    code: str
    order: int


@dataclass(slots=True)
class Losses:
    """The split of [start, end): seconds per category, APT, stops, and per (reason, category)."""

    apt_s: float = 0.0
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(LOSS_CATEGORIES, 0.0))
    stops: int = 0
    minor_stops: int = 0
    by_reason: dict[tuple[str, str], list[float]] = field(default_factory=dict)  # -> [seconds, stops]
    unattached: int = 0  # reason readings that fell in no stop episode (a running machine, no data)


def split(
    intervals: Sequence[Interval],
    reasons: Iterable[ReasonReading],
    categories: Mapping[str, str],
    minor_stop_s: float,
    start: int,
    end: int,
) -> Losses:
    """Split [start, end) of one machine. `intervals` sorted by start, not overlapping (a gap is
    time without data: it is in no window total and ends an episode); `categories` maps the
    machine's reason codes to their category (the tree, brain/plant/reasons.py)."""
    out = Losses()
    episodes = _episodes(intervals)
    starts = [ep[0].start for ep in episodes]
    labels: dict[int, ReasonReading] = {}
    for r in reasons:
        i = _find(starts, r.ts)
        if i < 0 or r.ts >= episodes[i][-1].end:
            out.unattached += 1
            continue
        best = labels.get(i)
        if best is None or r.order > best.order:
            labels[i] = r
    minor_ms = minor_stop_s * 1000.0
    for iv in intervals:
        if iv.state == RUNNING:
            out.apt_s += _overlap(iv, start, end)
    for i, ep in enumerate(episodes):
        label = labels.get(i)
        reason = UNLABELLED if label is None else label.code
        cat = None if label is None else categories.get(label.code)
        if label is not None and cat is None:
            reason = UNMAPPED_PREFIX + label.code
        unplanned = [iv for iv in ep if iv.state not in _FIXED]
        minor = bool(unplanned) and sum(iv.end - iv.start for iv in unplanned) < minor_ms
        for iv in ep:
            s = _overlap(iv, start, end)
            if s <= 0:
                continue
            fixed = _FIXED.get(iv.state)
            if fixed is not None:
                out.seconds[fixed] += s
                continue
            c = MINOR_STOP if minor else (cat or _STATE_CATEGORY[iv.state])
            out.seconds[c] += s
            _row(out, reason, c)[0] += s
        if unplanned and start <= unplanned[0].start < end:
            out.stops += 1
            out.minor_stops += minor
            c = MINOR_STOP if minor else (cat or _STATE_CATEGORY[unplanned[0].state])
            _row(out, reason, c)[1] += 1
    return out


def pareto(losses: Losses) -> list[tuple[str, float]]:
    """The stop categories with lost time, most first (ties in LOSS_CATEGORIES order)."""
    rank = {c: i for i, c in enumerate(LOSS_CATEGORIES)}
    cats = [(c, s) for c, s in losses.seconds.items() if s > 0 and c not in (PLANNED, UNKNOWN)]
    return sorted(cats, key=lambda cs: (-cs[1], rank[cs[0]]))


def _row(out: Losses, reason: str, category: str) -> list[float]:
    row = out.by_reason.get((reason, category))
    if row is None:
        row = out.by_reason[(reason, category)] = [0.0, 0]
    return row


def _episodes(intervals: Sequence[Interval]) -> list[list[Interval]]:
    eps: list[list[Interval]] = []
    prev: Interval | None = None
    for iv in intervals:
        if iv.end <= iv.start:
            continue
        if iv.state != RUNNING:
            if prev is not None and prev.state != RUNNING and prev.end == iv.start and eps:
                eps[-1].append(iv)
            else:
                eps.append([iv])
        prev = iv
    return eps


def _find(starts: list[int], ts: int) -> int:
    """Index of the last episode starting at or before ts (-1: none)."""
    return bisect_right(starts, ts) - 1


def _overlap(iv: Interval, start: int, end: int) -> float:
    return max(0, min(iv.end, end) - max(iv.start, start)) / 1000.0
