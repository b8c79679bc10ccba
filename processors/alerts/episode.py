"""One alert episode as a pure state machine: pending -> firing -> (clearing) -> resolved.

A rule turns its input into an `Observation` (breach, band or ok at a time); `step` applies the
shared timing rules to the episode's JSON state and returns the transition, if any:

- `for`: a breach must last `for_ms` (from `Observation.since`, or from the first breaching
  observation) before the alert fires; anything but a breach resets the pending time.
- hysteresis: while firing, the `band` (between threshold and clear) keeps it firing; only `ok`
  (back beyond the clear threshold) ends it, and only after `clear_for_ms` of uninterrupted ok.
- re-notify: while firing, a reminder (`firing` again, notification n+1) at most every
  `renotify_ms`; never when `renotify_ms` is 0/None. One `firing` and one `resolved` per episode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from brain.vocabulary import FIRING, RESOLVED

BREACH, BAND, OK = "breach", "band", "ok"


@dataclass(frozen=True, slots=True)
class Observation:
    """What a rule saw: `level` at time `at` (epoch ms); `since` when the rule itself knows when the
    condition began (in a state since, silent since)."""

    level: str
    at: int
    value: float | None = None
    threshold: float | None = None
    since: int | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    state: str  # firing | resolved
    ts: int
    started: int
    ended: int | None
    value: float | None
    threshold: float | None
    notification: int  # 1 for the first firing of an episode, 2.. for reminders; 0 for resolved


def compare(value: float, *, above: float | None, below: float | None, clear: float | None) -> str:
    """BREACH beyond the threshold, OK back beyond the clear threshold, BAND in between."""
    if above is not None:
        limit = above if clear is None else clear
        return BREACH if value > above else (OK if value <= limit else BAND)
    assert below is not None
    limit = below if clear is None else clear
    return BREACH if value < below else (OK if value >= limit else BAND)


def step(
    ep: dict[str, Any],
    obs: Observation,
    *,
    for_ms: int,
    clear_for_ms: int = 0,
    renotify_ms: int | None = None,
) -> Transition | None:
    """Apply one observation to the episode state `ep` (mutated, JSON-serialisable)."""
    at = max(obs.at, ep.get("last", obs.at))
    ep["last"] = at
    if obs.value is not None:
        ep["value"] = obs.value
    if obs.threshold is not None:
        ep["threshold"] = obs.threshold
    firing = bool(ep.get("firing"))
    if obs.level == BREACH:
        ep["clearing"] = None
        if not firing:
            since = at if obs.since is None else min(obs.since, at)
            ep["pending"] = since if ep.get("pending") is None else min(ep["pending"], since)
            if at - ep["pending"] >= for_ms:
                ep.update(firing=True, started=ep["pending"], notified=at, count=1, pending=None)
                return _transition(ep, FIRING, at)
            return None
        return _remind(ep, at, renotify_ms)
    ep["pending"] = None
    if not firing:
        return None
    if obs.level == BAND:
        ep["clearing"] = None
        return _remind(ep, at, renotify_ms)
    if ep.get("clearing") is None:
        ep["clearing"] = at
    if at - ep["clearing"] >= clear_for_ms:
        ended = ep["clearing"]
        ep.update(firing=False, clearing=None, ended=ended)
        return _transition(ep, RESOLVED, at, ended=ended)
    return None


def _remind(ep: dict[str, Any], at: int, renotify_ms: int | None) -> Transition | None:
    if renotify_ms and at - ep.get("notified", at) >= renotify_ms:
        ep["notified"] = at
        ep["count"] = ep.get("count", 1) + 1
        return _transition(ep, FIRING, at)
    return None


def _transition(ep: dict[str, Any], state: str, at: int, ended: int | None = None) -> Transition:
    return Transition(
        state=state,
        ts=at,
        started=ep["started"],
        ended=ended,
        value=ep.get("value"),
        threshold=ep.get("threshold"),
        notification=ep.get("count", 1) if state == FIRING else 0,
    )


def is_firing(ep: dict[str, Any]) -> bool:
    return bool(ep.get("firing"))
