"""The per-machine fold: readings in event-time order -> one-minute buckets of additive sums.

A `MachineFold` keeps, per metric, the last reading (and for held signals the point up to which
their time is already attributed), and a dict of buckets: `{bucket_start_ms: [slots...]}`, one
bucket per clock minute (plus extra cut points, e.g. an unaligned `--from`). Every KPI of every
window, machine, line or site is a sum of buckets (see aggregate.py), so the golden rule holds by
construction. The whole state is plain JSON (`to_dict`/`from_dict`).

Readings must arrive in event-time order per metric; an older one is counted in `late` and
ignored (use `ReplayMachine` in replay.py to accept late data within a grace period).
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from brain.plant import Machine
from processors.kpi.calendar import BREAK, MINUTE, Calendar
from processors.kpi.counters import increase
from processors.kpi.packs import K_FLAG, K_GAUGE, K_SAMPLE, layout_of
from processors.kpi.slots import NSLOTS, Slot
from processors.kpi.timeline import FAULT, IDLE, OFFLINE, RUNNING, STATE_INDEX, state_index

# bucket slots bound to exact ints (slots.py says why); the state slots are timeline.py's
FE, PQ, SQ, PQ_OFF, SQ_OFF = int(Slot.FE), int(Slot.PQ), int(Slot.SQ), int(Slot.PQ_OFF), int(Slot.SQ_OFF)
EM, EP, QM, QP = int(Slot.EM), int(Slot.EP), int(Slot.QM), int(Slot.QP)
C_CNT, C_EM, C_EP, C_QM, C_QP = (
    int(Slot.C_CNT),
    int(Slot.C_EM),
    int(Slot.C_EP),
    int(Slot.C_QM),
    int(Slot.C_QP),
)
_K_STATE, _K_COUNTER, _K_METER, _K_POWER = range(4)
# metric -> (kind, slot in scheduled time, slot outside it, coverage slot)
_SPEC: dict[str, tuple[int, int, int, int]] = {
    "state": (_K_STATE, 0, 0, 0),
    "count_total": (_K_COUNTER, PQ, PQ_OFF, C_CNT),
    "count_scrap": (_K_COUNTER, SQ, SQ_OFF, C_CNT),
    "energy_kwh": (_K_METER, EM, EM, C_EM),
    "energy_kvarh": (_K_METER, QM, QM, C_QM),
    "power_kw": (_K_POWER, EP, EP, C_EP),
    "power_kvar": (_K_POWER, QP, QP, C_QP),
}
_NUMBER = frozenset((int, float))
METRICS = tuple(_SPEC)


class MachineFold:
    """initialize / agg / result for one machine: `feed` readings, `advance` time, read `buckets`."""

    __slots__ = (
        "_cb",
        "_cc",
        "_ck",
        "_codes",
        "_gap",
        "_mod_c",
        "_mod_m",
        "_n",
        "_pspec",
        "bad",
        "buckets",
        "cal",
        "cuts",
        "dirty",
        "fe_pending",
        "flags",
        "gauges",
        "last",
        "late",
        "machine",
        "power",
        "s",
        "s_at",
        "s_seen",
    )

    def __init__(self, machine: Machine, cal: Calendar, cuts: tuple[int, ...] = ()) -> None:
        self.machine = machine
        self.cal = cal
        self.cuts = tuple(sorted(cuts))
        self._codes = machine.state_codes
        self._gap = int(machine.power_max_gap_s * 1000)
        self._mod_c = machine.counter_modulus
        self._mod_m = machine.meter_modulus
        self.s: int | None = None  # current state slot (None: never seen)
        self.s_at = 0  # state time attributed up to here
        self.s_seen = False
        self.fe_pending = False  # entered fault, failure event not yet counted in scheduled time
        self.last: dict[str, list[float]] = {}  # counters/meters: metric -> [ts, value]
        self.power: dict[str, list[float]] = {}  # power: metric -> [ts, kW, attributed-up-to]
        layout = layout_of(machine)  # the machine's pack: its metrics' slots after the core's
        self._pspec = layout.spec if layout is not None else {}
        self._n = layout.n if layout is not None else NSLOTS
        self.flags: dict[str, list[float]] = {}  # pack flags: metric -> [attributed-up-to, 0|1]
        self.gauges: dict[str, list[float]] = {}  # pack gauges: metric -> [ts, value, attributed-up-to]
        self.buckets: dict[int, list[float]] = {}
        self.dirty: set[int] = set()
        self._ck, self._cb, self._cc = -1, [], 0  # cache: last bucket key, bucket, scheduled flag
        self.late = 0
        self.bad = 0

    # --- feeding ---
    def feed(self, metric: str, value: Any, ts: int) -> bool:
        """Apply one reading. False when it was late (older than this metric's last) or bad."""
        spec = _SPEC.get(metric)
        if spec is None:
            pack = self._pspec.get(metric)
            # a metric neither the core nor the machine's pack folds: telemetry only, not an error
            return False if pack is None else self._feed_pack(pack, metric, value, ts)
        kind = spec[0]
        if kind == _K_STATE:
            return self._feed_state(value, ts)
        if value.__class__ not in _NUMBER:
            self.bad += 1
            return False
        if kind == _K_POWER:
            p = self.power.get(metric)
            if p is not None:
                if ts < p[2]:
                    self.late += 1
                    return False
                self._riemann(p, ts, spec[1], spec[3])
            self.power[metric] = [ts, value, ts]
            return True
        last = self.last.get(metric)
        if last is None:
            self.last[metric] = [ts, value]
            return True
        t0 = last[0]
        if ts < t0:
            self.late += 1
            return False
        prev = last[1]
        d = value - prev
        if d < 0:
            d = increase(prev, value, self._mod_c if kind == _K_COUNTER else self._mod_m)
        if kind == _K_COUNTER and spec[1] == PQ and not self.s_seen and ts > t0:
            self._state(t0, ts, RUNNING if d > 0 else IDLE)
        last[0] = ts
        last[1] = value
        # fast path: the whole increase inside one bucket
        if t0 < ts and not self.cuts:
            base = t0 - t0 % MINUTE
            if ts <= base + MINUTE:
                if base == self._ck:
                    bk, cls = self._cb, self._cc
                else:
                    bk, cls = self._touch(base)
                bk[spec[1] if cls else spec[2]] += d
                bk[spec[3]] = 1.0
                return True
        self._spread(t0, ts, d, spec[1], spec[2], spec[3])
        return True

    def _feed_state(self, value: Any, ts: int) -> bool:
        idx = STATE_INDEX.get(value) if value.__class__ is str else None
        if idx is None:
            idx = state_index(value, self._codes)
            if idx is None:
                self.bad += 1
                return False
        s = self.s
        if s is not None:
            if ts < self.s_at:
                self.late += 1
                return False
            self._state(self.s_at, ts, s)
        if idx == FAULT:
            if s != FAULT:
                self.fe_pending = True
        else:
            self.fe_pending = False
        self.s, self.s_at, self.s_seen = idx, ts, True
        return True

    def advance(self, until: int) -> None:
        """Attribute held signals (state, power, a pack's flags and gauges) up to `until`: a state
        lasts until the next state reading or the window end. Readings older than `until` are
        late afterwards."""
        if self.s is not None and until > self.s_at:
            self._state(self.s_at, until, self.s)
            self.s_at = until
        for metric, p in self.power.items():
            if until > p[2]:
                spec = _SPEC[metric]
                self._riemann(p, until, spec[1], spec[3])
        if self._pspec:
            for metric, f in self.flags.items():
                if until > f[0]:
                    _, slot, cov, _, _ = self._pspec[metric]
                    self._flag(f[0], until, f[1], slot, cov)
                    f[0] = until
            for metric, g in self.gauges.items():
                if until > g[2]:
                    _, slot, cov, _, _ = self._pspec[metric]
                    self._gauge(g, until, slot, cov)

    # --- a pack's metrics (processors/kpi/packfold.py, brain/pack.py) ---
    def _feed_pack(self, spec: tuple[int, int, int, float, float], metric: str, value: Any, ts: int) -> bool:
        """A pack metric's reading; a value the bridge would dead-letter (wrong kind, a negative
        counter, out of the metric's bounds: ingest.validate.pack_value_problem) is skipped, in `bad`."""
        kind, slot, cov, lo, hi = spec
        if kind == K_FLAG:
            if not (value.__class__ is bool or (value.__class__ in _NUMBER and value in (0, 1))):
                self.bad += 1
                return False
            on = 1.0 if value else 0.0
            f = self.flags.get(metric)
            if f is not None:
                if ts < f[0]:
                    self.late += 1
                    return False
                self._flag(f[0], ts, f[1], slot, cov)
            self.flags[metric] = [ts, on]
            return True
        if value.__class__ not in _NUMBER or not lo <= value <= hi:  # NaN fails too
            self.bad += 1
            return False
        if kind == K_SAMPLE:
            key = self._key(ts)
            bk = self._touch(key)[0] if key != self._ck else self._cb
            bk[slot] += 1
            bk[slot + 1] += value
            bk[slot + 2] += value * value
            bk[cov] = 1.0
            return True
        if kind == K_GAUGE:
            g = self.gauges.get(metric)
            if g is not None:
                if ts < g[2]:
                    self.late += 1
                    return False
                self._gauge(g, ts, slot, cov)
            self.gauges[metric] = [ts, value, ts]
            return True
        # K_COUNTER: the core's counter rules (reset, wrap), its increase spread over the time
        last = self.last.get(metric)
        if last is None:
            self.last[metric] = [ts, value]
            return True
        t0, prev = last
        if ts < t0:
            self.late += 1
            return False
        d = value - prev
        if d < 0:
            d = increase(prev, value, self._mod_c)
        last[0], last[1] = ts, value
        self._spread(t0, ts, d, slot, slot, cov)
        return True

    def _flag(self, a: int, b: int, on: float, slot: int, cov: int) -> None:
        """Time a flag held `on` over [a, b): counted in scheduled time, like the states."""
        while a < b:
            e = self._edge(a)
            if e > b:
                e = b
            key = self._key(a)
            bk, cls = (self._cb, self._cc) if key == self._ck else self._touch(key)
            bk[cov] = 1.0
            if cls == 1 and on:
                bk[slot] += e - a
            a = e

    def _gauge(self, g: list[float], until: int, slot: int, cov: int) -> None:
        """Σ value·dt and Σ dt while a gauge value holds: at most the machine's max gap after it."""
        t0, value, done = g[0], g[1], g[2]
        stop = min(until, t0 + self._gap)
        if stop > done:
            self._spread(done, stop, value * (stop - done), slot, slot, cov)
            self._spread(done, stop, float(stop - done), slot + 1, slot + 1, cov)
        if until > done:
            g[2] = until

    def take_dirty(self) -> set[int]:
        """Bucket keys changed since the last call (the streaming layer re-emits their windows)."""
        out, self.dirty = self.dirty, set()
        self._ck = -1
        return out

    # --- attribution ---
    def _touch(self, key: int) -> tuple[list[float], int]:
        """The bucket at `key` (created if new, marked dirty) and whether its minute is scheduled
        (1) or not (0: unscheduled or a calendar break). Caches the last one."""
        b = self.buckets.get(key)
        if b is None:
            b = self.buckets[key] = [0.0] * self._n
        self.dirty.add(key)
        cls = 1 if self.cal.always else self.cal.minute_class(key - key % MINUTE)
        cls = 1 if cls == 1 else (2 if cls == BREAK else 0)
        self._ck, self._cb, self._cc = key, b, cls
        return b, cls

    def _edge(self, t: int) -> int:
        end = t - t % MINUTE + MINUTE
        if self.cuts:
            i = bisect_right(self.cuts, t)
            if i < len(self.cuts) and self.cuts[i] < end:
                return self.cuts[i]
        return end

    def _key(self, t: int) -> int:
        key = t - t % MINUTE
        if self.cuts:
            i = bisect_right(self.cuts, t)
            if i and self.cuts[i - 1] > key:
                return self.cuts[i - 1]
        return key

    def _state(self, a: int, b: int, s: int | None) -> None:
        if s is None or s == OFFLINE or b <= a:
            return
        while a < b:
            e = self._edge(a)
            if e > b:
                e = b
            key = self._key(a)
            bk, cls = (self._cb, self._cc) if key == self._ck else self._touch(key)
            if cls == 1:  # scheduled, not a break: breaks are PDOT from the calendar
                bk[s] += e - a
                if self.fe_pending and s == FAULT:
                    bk[FE] += 1
                    self.fe_pending = False
            a = e

    def _spread(self, a: int, b: int, amount: float, on: int, off: int, cov: int) -> None:
        """Spread `amount` evenly over [a, b); the last piece takes the remainder (exact sum)."""
        if b <= a:  # same timestamp: an instantaneous increase, in the bucket of `b`
            pieces = [(b, b + 1)]
        else:
            pieces = []
            t = a
            while t < b:
                e = self._edge(t)
                if e > b:
                    e = b
                pieces.append((t, e))
                t = e
        span = b - a if b > a else 1
        left = amount
        n = len(pieces)
        for i, (s, e) in enumerate(pieces):
            part = left if i == n - 1 else amount * (e - s) / span
            left -= part
            key = self._key(s)
            bk, cls = (self._cb, self._cc) if key == self._ck else self._touch(key)
            bk[on if cls else off] += part
            bk[cov] = 1.0

    def _riemann(self, p: list[float], until: int, slot: int, cov: int) -> None:
        """Left Riemann sum: the last power value holds until `until`, at most max-gap after it."""
        t0, kw, done = p[0], p[1], p[2]
        stop = t0 + self._gap
        if until < stop:
            stop = until
        if stop > done:
            self._spread(done, stop, kw * (stop - done) / 3_600_000, slot, slot, cov)
        if until > done:
            p[2] = until

    # --- state as plain JSON ---
    def to_dict(self) -> dict[str, Any]:
        return {
            "s": self.s,
            "s_at": self.s_at,
            "s_seen": self.s_seen,
            "fe_pending": self.fe_pending,
            "last": {k: list(v) for k, v in self.last.items()},
            "power": {k: list(v) for k, v in self.power.items()},
            "flags": {k: list(v) for k, v in self.flags.items()},
            "gauges": {k: list(v) for k, v in self.gauges.items()},
            "buckets": {str(k): list(v) for k, v in self.buckets.items()},
            "late": self.late,
            "bad": self.bad,
        }

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], machine: Machine, cal: Calendar, cuts: tuple[int, ...] = ()
    ) -> MachineFold:
        f = cls(machine, cal, cuts)
        f.s, f.s_at, f.s_seen, f.fe_pending = data["s"], data["s_at"], data["s_seen"], data["fe_pending"]
        f.last = {k: list(v) for k, v in data["last"].items()}
        f.power = {k: list(v) for k, v in data["power"].items()}
        f.flags = {k: list(v) for k, v in data.get("flags", {}).items()}
        f.gauges = {k: list(v) for k, v in data.get("gauges", {}).items()}
        pad = [0.0] * f._n
        f.buckets = {
            int(k): v + pad[len(v) :] if len(v) < f._n else list(v) for k, v in data["buckets"].items()
        }
        f.late, f.bad = data["late"], data["bad"]
        return f

    def prune(self, before: int) -> None:
        """Drop buckets older than `before` (their windows are final and emitted)."""
        self._ck = -1
        for k in [k for k in self.buckets if k < before]:
            del self.buckets[k]
