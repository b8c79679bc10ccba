"""One machine's streaming state (pure: no faust, no kafka): event time, grace, windows, emission.

    ms = MachineStream(machine, ctx, grace_ms=30_000)
    outcome = ms.add(metric, value, ts, offset)   # OK | REPLAYED | TOO_LATE | DUP | LATE_DUP
    emits = ms.step(now_ms, interval_ms)          # windows to (re-)emit: Emit(kind, start, end, ...)
    ms.idle(now_ms, idle_ms)                      # wall-clock idle timeout (a silent machine)
    state = ms.to_dict()                          # plain JSON for the Faust table

- The **watermark** is the largest event time seen for this machine (one key). Readings older
  than watermark - grace are TOO_LATE (counted; the caller forwards them to the late topic).
- A `ReplayMachine` (processors/kpi/replay.py) holds the readings inside the grace period, so a
  late one rebuilds the live fold and its windows are re-emitted with corrected values.
- **Windows** (1m, 15m, 1h, shift, day) open when the watermark enters them or data touches them,
  and are emitted `final` once the watermark passes end + grace (re-emitted, still final, if a
  counter increase spread over a long gap changes them afterwards).
- **Sealing** keeps the state small: one-minute buckets that can no longer change (before the
  base fold's oldest pending attribution, see `_seal`) are added into each open window's
  accumulated partial and dropped. A window's partial = accumulated part + its remaining buckets;
  partials are additive, so this equals `machine_partial` over the whole window.
- `offset`: the input offset of the reading; a reading at or below the last applied one is a
  duplicate (re-delivered after a crash) and ignored, so a restart never double counts.
- **A copy of a reading already folded** that arrives too late (an MQTT re-delivery after a
  bridge restart: the same metric, time and value, at a new offset) is LATE_DUP, not late data:
  its data is in the windows already. The last `RECENT` readings of the machine are remembered
  for this, in memory only (hashes): after a processor restart such a copy counts as TOO_LATE.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from brain.plant import Machine
from brain.vocabulary import WINDOWS
from processors.kpi import OK, REPLAYED, TOO_LATE, Context, ReplayMachine, machine_partial, merge
from processors.kpi.calendar import MINUTE
from processors.kpi.packs import layout_of

DUP = "dup"
LATE_DUP = "late_dup"
RECENT = 512  # readings per machine remembered to recognise a late copy (in memory only)
FLAGS = ("n_timed", "n_pri", "n_count", "n_energy", "n_kvar")
NEVER = -(2**62)


class W(IntEnum):
    """The fields of an open window in the state: a list `[kind, start, end, shift, sealed, acc,
    final]` (plain JSON); `sealed`: buckets before it are in `acc`, the accumulated partial."""

    KIND = 0
    START = 1
    END = 2
    SHIFT = 3
    SEALED = 4
    ACC = 5
    FINAL = 6


# bound to exact ints for the hot paths (processors/kpi/slots.py says why)
_K, _S, _E, _SH, _C, _ACC, _FIN = (int(f) for f in W)

__all__ = ["DUP", "LATE_DUP", "OK", "REPLAYED", "TOO_LATE", "Emit", "MachineStream"]


@dataclass(frozen=True, slots=True)
class Emit:
    kind: str
    start: int
    end: int
    shift: str | None
    final: bool
    partial: dict[str, Any]


class MachineStream:
    def __init__(
        self,
        machine: Machine,
        ctx: Context,
        grace_ms: int,
        windows: tuple[str, ...] = WINDOWS,
        stale_counter_ms: int = 6 * 3_600_000,
    ) -> None:
        self.machine, self.ctx, self.grace_ms = machine, ctx, grace_ms
        self.kinds = windows
        self.stale_counter_ms = stale_counter_ms
        self.rm = ReplayMachine(machine, ctx.cal, grace_ms)
        layout = layout_of(machine)  # a pack's coverage is a flag too
        self._flags = FLAGS if layout is None else (*FLAGS, layout.coverage_key)
        self.wm: int | None = None
        self.off = -1
        self.windows: dict[str, list[Any]] = {}
        self.dirty: set[str] = set()
        self.sealed = NEVER
        self.seq = 0
        self.late = 0
        self.late_dups = 0
        self.stale = 0
        self.is_idle = False
        # in memory only (wall clock, recent readings): not part of the durable state
        self._recent: deque[int] = deque()
        self._recent_set: set[int] = set()
        self._edge = NEVER
        self.emitted_at = 0.0
        self.arrival: float | None = None
        self.arrival_wm: int | None = None

    # --- input ---
    def add(self, metric: str, value: Any, ts: int, offset: int | None = None, now_ms: float = 0.0) -> str:
        if offset is not None:
            if offset <= self.off:
                return DUP
            self.off = offset
        if self.wm is None:
            self.wm = ts
            self.rm.set_watermark(ts)
            self._open_range(ts, ts + 1)
        outcome = self.rm.add(metric, value, ts)
        try:
            fingerprint = hash((metric, ts, value))
        except TypeError:  # not a Reading v1 value (a list, say): nothing to recognise it by
            fingerprint = 0
        if outcome == TOO_LATE:
            if fingerprint in self._recent_set:
                self.late_dups += 1
                return LATE_DUP
            self.late += 1
            return outcome
        recent = self._recent
        if len(recent) >= RECENT:
            self._recent_set.discard(recent.popleft())
        recent.append(fingerprint)
        self._recent_set.add(fingerprint)
        self.is_idle = False
        if ts > self.wm:
            self._move(ts)
        self.arrival, self.arrival_wm = now_ms, self.wm
        return outcome

    def idle(self, now_ms: float, idle_ms: int) -> bool:
        """Wall-clock idle timeout: a machine silent for `idle_ms` has its watermark moved on with
        the clock (its windows close); from its last event time on, its state is offline (unknown).
        Returns True when the watermark moved."""
        if self.wm is None:
            return False
        if self.arrival is None or self.arrival_wm is None:
            self.arrival, self.arrival_wm = now_ms, self.wm
            return False
        silent = now_ms - self.arrival
        if silent < idle_ms:
            return False
        if not self.is_idle:
            self.is_idle = True
            if self.rm.live.s_seen:
                self.rm.add("state", "offline", self.wm)
        target = self.arrival_wm + int(silent)
        if target <= self.wm:
            return False
        self._move(target)
        return True

    # --- windows ---
    def _move(self, to: int) -> None:
        assert self.wm is not None
        if to >= self._edge:
            self._open_range(self.wm, to + 1)
        self.wm = to
        self.rm.set_watermark(to)

    def _open_range(self, a: int, b: int) -> None:
        cal = self.ctx.cal
        for kind in self.kinds:
            for w in cal.windows(kind, a, b):
                self._open(w.kind, w.start, w.end, w.shift)
        last = b - 1
        self._edge = last - last % MINUTE + MINUTE  # every window edge is a minute edge

    def _open(self, kind: str, start: int, end: int, shift: str | None) -> str:
        wid = f"{kind}@{start}"
        if wid not in self.windows:
            self.windows[wid] = [kind, start, end, shift, start, None, False]
        return wid

    def _touch_minute(self, minute: int) -> None:
        for kind, start, end, shift in _windows_of_minute(self.ctx, self.kinds, minute):
            self.dirty.add(self._open(kind, start, end, shift))

    # --- output ---
    def step(self, now_ms: float, interval_ms: int, force: bool = False) -> list[Emit]:
        """Windows to (re-)emit now: all newly final ones, and the changed ones at most every
        `interval_ms` (or always with `force`)."""
        if self.wm is None:
            return []
        rm = self.rm
        rm.advance(self.wm)
        for key in rm.live.take_dirty():
            self._touch_minute(key - key % MINUTE)
        horizon = self.wm - self.grace_ms
        self._seal(horizon)
        newly = [wid for wid, w in self.windows.items() if not w[_FIN] and w[_E] <= horizon]
        if not newly and not (self.dirty and (force or now_ms - self.emitted_at >= interval_ms)):
            return []
        keys = sorted(rm.live.buckets)
        out = []
        for wid in sorted(self.dirty.union(newly), key=lambda i: (self.windows[i][_S], i)):
            w = self.windows[wid]
            final = w[_E] <= horizon
            # A provisional record covers the window up to the watermark: time after it has not
            # happened yet and must not count as unknown (it would pull availability down).
            out.append(
                Emit(w[_K], w[_S], w[_E], w[_SH], final, self._partial(w, keys, None if final else self.wm))
            )
            if final:
                w[_FIN] = True
        self.dirty.clear()
        self.emitted_at = now_ms
        self.seq += 1
        for wid in [wid for wid, w in self.windows.items() if w[_FIN] and w[_E] <= self.sealed]:
            del self.windows[wid]
        return out

    def _partial(self, w: list[Any], keys: list[int], upto: int | None = None) -> dict[str, Any]:
        live = self.rm.live
        end = w[_E] if upto is None else max(w[_C], min(w[_E], upto))
        # With nothing accumulated yet, an empty span still gives a (zero) partial to emit.
        computed = w[_C] < end or w[_ACC] is None
        p = machine_partial(live.buckets, keys, w[_C], end, self.machine, self.ctx) if computed else None
        acc = w[_ACC]
        if acc is None:
            assert p is not None
            return p
        out = dict(acc)
        out["blocks"] = dict(acc["blocks"])
        if p is not None:
            merge(out, p)
        for f in self._flags:
            if out.get(f, 0) > 1:
                out[f] = 1
        return out

    def _seal(self, horizon: int) -> None:
        """Move buckets that can no longer change into the windows' accumulated partials.

        The base fold holds every reading older than the horizon; advanced to the horizon, its
        held signals (state, power) attribute nothing before it any more, and counters/meters
        attribute only after their last reading. So buckets before min(horizon, last counter
        reading) are final in base and live alike.
        """
        base = self.rm.base
        base.advance(horizon)
        base.take_dirty()
        upto = horizon
        stale_before = horizon - self.stale_counter_ms
        for metric in list(base.last):
            t = int(base.last[metric][0])
            if t < stale_before:  # silent too long: it starts over at its next reading
                del base.last[metric]
                self.rm.live.last.pop(metric, None)
                self.stale += 1
            elif t < upto:
                upto = t
        upto -= upto % MINUTE
        if upto <= self.sealed:
            return
        live = self.rm.live
        keys = sorted(live.buckets)
        for w in self.windows.values():
            if w[_C] < upto and w[_C] < w[_E]:
                end = min(upto, w[_E])
                part = machine_partial(live.buckets, keys, w[_C], end, self.machine, self.ctx)
                w[_ACC] = part if w[_ACC] is None else merge(w[_ACC], part)
                w[_C] = end
        self.rm.prune(upto)
        self.sealed = upto

    # --- durable state (plain JSON) ---
    def to_dict(self) -> dict[str, Any]:
        return {
            "rm": self.rm.to_dict(),
            "wm": self.wm,
            "off": self.off,
            "w": self.windows,
            "d": sorted(self.dirty),
            "sealed": self.sealed,
            "seq": self.seq,
            "late": self.late,
            "late_dups": self.late_dups,
            "stale": self.stale,
            "idle": self.is_idle,
        }

    @classmethod
    def from_dict(
        cls,
        data: dict[str, Any],
        machine: Machine,
        ctx: Context,
        grace_ms: int,
        windows: tuple[str, ...] = WINDOWS,
        stale_counter_ms: int = 6 * 3_600_000,
    ) -> MachineStream:
        ms = cls(machine, ctx, grace_ms, windows, stale_counter_ms)
        ms.rm = ReplayMachine.from_dict(data["rm"], machine, ctx.cal, grace_ms)
        ms.wm, ms.off, ms.windows = data["wm"], data["off"], data["w"]
        ms.dirty = set(data["d"])
        ms.sealed, ms.seq, ms.late, ms.stale = data["sealed"], data["seq"], data["late"], data["stale"]
        ms.late_dups = data.get("late_dups", 0)
        ms.is_idle = data["idle"]
        return ms


_MINUTE_WINDOWS: dict[tuple[Any, tuple[str, ...], int], list[tuple[str, int, int, str | None]]] = {}


def _windows_of_minute(
    ctx: Context, kinds: tuple[str, ...], minute: int
) -> list[tuple[str, int, int, str | None]]:
    key = (ctx.cal, kinds, minute)
    found = _MINUTE_WINDOWS.get(key)
    if found is None:
        found = [
            (w.kind, w.start, w.end, w.shift) for k in kinds for w in ctx.cal.windows(k, minute, minute + 1)
        ]
        if len(_MINUTE_WINDOWS) > 50_000:
            _MINUTE_WINDOWS.clear()
        _MINUTE_WINDOWS[key] = found
    return found
