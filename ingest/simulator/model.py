"""One machine as a state machine in simulated time. Pure: no I/O, no wall clock.

`MachineSim.samples()` yields `(ts, metrics)` in time order: `ts` epoch ms, `metrics` the
metric -> value dict observed at that instant (one batch's worth). What is sampled when:

- `state` on every change (and every `periods["state"]` s if that is > 0);
- `count_total`, `count_scrap` every `periods["counters"]` s (clock-aligned);
- `energy_kwh`, `energy_kvarh` every `periods["energy"]` s;
- `power_kw`, `power_kvar` every `periods["power"]` s and on every state change;
- `reason` with the state reading that starts a stop, when the stop is labelled (reasons.py).

Power is a step signal that changes only at those instants, so the left Riemann sum of the
published power readings equals the meters' increase (up to rounding): the meters are the exact
integral of the model's power. A `kind: meter` machine (a feeder meter) has no state and no
counters: it is modelled as the line's auxiliary load (compressed air, HVAC, lighting).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

from brain import vocabulary
from brain.plant import Machine
from ingest.simulator.packs import PackSim
from ingest.simulator.params import MachineParams
from ingest.simulator.reasons import ReasonPicker
from ingest.simulator.schedule import BREAK, SCHEDULED, Segment

RUNNING, SETUP, FAULT, IDLE = vocabulary.RUNNING, vocabulary.SETUP, vocabulary.FAULT, vocabulary.IDLE
PLANNED, OFFLINE = vocabulary.PLANNED_STOP, vocabulary.OFFLINE
_KWH = 3_600_000.0  # kW x ms -> kWh
_NEVER = 1 << 62
_SETUP_SIGMA, _IDLE_SIGMA = 0.4, 0.7
_MIN_EPISODE_MS, _MAX_EPISODE_MS = 1_000, 8 * 3_600_000
# Reactive power: cos(phi) in each state (running uses the machine's power_factor).
_PF = {SETUP: 0.75, FAULT: 0.6, IDLE: 0.6, PLANNED: 0.55, OFFLINE: 0.5}


def _lognormal_ms(rng: random.Random, mean_s: float, sigma: float) -> int:
    if mean_s <= 0:
        return _MIN_EPISODE_MS
    mu = math.log(mean_s) - sigma * sigma / 2  # so that the mean is mean_s
    ms = int(rng.lognormvariate(mu, sigma) * 1000)
    return min(max(ms, _MIN_EPISODE_MS), _MAX_EPISODE_MS)


def _binomial(rng: random.Random, n: int, p: float) -> int:
    if p <= 0 or n <= 0:
        return 0
    if n < 40:
        return sum(1 for _ in range(n) if rng.random() < p)
    mean = n * p
    k = round(rng.gauss(mean, math.sqrt(mean * (1 - p))))
    return min(max(k, 0), n)


def _first_tick(start: int, period_ms: int) -> int:
    if period_ms <= 0:
        return _NEVER
    return (start // period_ms + 1) * period_ms


class MachineSim:
    """The simulated life of one machine over [start, end)."""

    def __init__(
        self,
        machine: Machine,
        params: MachineParams,
        segments: list[Segment],
        start: int,
        end: int,
        periods: dict[str, float],
        rng: random.Random,
        pack: PackSim | None = None,
        reasons: ReasonPicker | None = None,
    ) -> None:
        self.params = params
        self.reasons = reasons  # labels the stops (ingest/simulator/reasons.py), own generator
        self.pack = pack  # the machine's pack metrics (ingest/simulator/packs.py), own generator
        self.meter = machine.kind == "meter"
        cycle_s = machine.ideal_cycle_s or params.cycle_s
        self.base_rate = params.speed / cycle_s  # units per second while running
        self.counter_modulus = machine.counter_modulus
        self.meter_modulus = machine.meter_modulus
        self.segments = segments
        self.start, self.end = start, end
        self.periods_ms = {k: round(v * 1000) for k, v in periods.items()}
        self.rng = rng
        tick_p = self.periods_ms["energy"] / 86_400_000
        self.reset_p = params.meter_reset_per_day * tick_p
        self.kvar_ratio = {s: math.tan(math.acos(pf)) for s, pf in _PF.items()}
        self.kvar_ratio[RUNNING] = math.tan(math.acos(min(max(params.power_factor, 0.05), 1.0)))
        self.levels = {
            RUNNING: params.power_running_kw,
            SETUP: params.power_setup_kw,
            IDLE: params.power_idle_kw,
            FAULT: params.power_idle_kw * 0.9,
            PLANNED: params.power_idle_kw * 0.7,
            OFFLINE: params.power_off_kw,
        }
        # mutable state
        self.state = OFFLINE
        self.kw = self.kvar = 0.0
        self.rate = 0.0
        self.produced = 0.0
        self.total = self.scrap = 0
        self.kwh = self.kvarh = 0.0  # true cumulative energy since start
        self.kwh_offset = self.kvarh_offset = 0.0  # meter resets
        self.last_kwh = self.last_kvarh = 0.0  # at the previous energy sample
        self.resets = 0

    # --- draws ---
    def _power(self) -> None:
        p, rng = self.params, self.rng
        if self.meter:
            base = p.aux_scheduled_kw if self.seg_kind != 2 else p.aux_unscheduled_kw  # 2 = UNSCHEDULED
            state = RUNNING
        else:
            base = self.levels[self.state]
            state = self.state
        factor = 1.0 + rng.gauss(0.0, p.power_noise) if p.power_noise > 0 else 1.0
        self.kw = round(max(base * factor, 0.0), 3)
        self.kvar = round(self.kw * self.kvar_ratio[state], 3)

    def _rate(self) -> None:
        if self.state != RUNNING:
            self.rate = 0.0
            return
        j = self.params.cycle_jitter
        self.rate = self.base_rate * max(0.3, self.rng.gauss(1.0, j) if j > 0 else 1.0)

    def _episode(self, t: int) -> int:
        """Enter self.state at t: when does it end on its own (None for calendar-driven states)."""
        p, rng = self.params, self.rng
        if self.state == RUNNING:
            # competing hazards on running time: fault, changeover, starved/blocked
            tf = rng.expovariate(1.0 / p.mtbf_s) if p.mtbf_s > 0 else math.inf
            ts = rng.expovariate(1.0 / p.setup_every_s) if p.setup_every_s > 0 else math.inf
            ti = rng.expovariate(1.0 / p.idle_every_s) if p.idle_every_s > 0 else math.inf
            first = min(tf, ts, ti)
            if first == math.inf:
                self.next_state = RUNNING
                return _NEVER
            self.next_state = FAULT if first == tf else SETUP if first == ts else IDLE
            return t + max(int(first * 1000), _MIN_EPISODE_MS)
        self.next_state = RUNNING
        if self.state == FAULT:
            return t + _lognormal_ms(rng, p.mttr_s, p.mttr_sigma)
        if self.state == SETUP:
            return t + _lognormal_ms(rng, p.setup_s, _SETUP_SIGMA)
        if self.state == IDLE:
            return t + _lognormal_ms(rng, p.idle_s, _IDLE_SIGMA)
        return _NEVER

    def _calendar_state(self) -> str:
        if self.seg_kind == SCHEDULED:
            return RUNNING
        return PLANNED if self.seg_kind == BREAK else OFFLINE

    # --- time ---
    def _advance(self, t0: int, t1: int) -> None:
        dt = t1 - t0
        if dt <= 0:
            return
        self.kwh += self.kw * dt / _KWH
        self.kvarh += self.kvar * dt / _KWH
        if self.rate:
            self.produced += self.rate * dt / 1000.0
            total = int(self.produced)
            n = total - self.total
            if n:
                self.scrap += _binomial(self.rng, n, self.params.scrap_rate)
                self.total = total

    def _counters(self, out: dict[str, object]) -> None:
        m = self.counter_modulus
        total, scrap = self.total, self.scrap
        if m:
            total, scrap = int(total % m), int(scrap % m)
        out["count_total"] = total
        out["count_scrap"] = scrap

    def _energy(self, out: dict[str, object]) -> None:
        if self.reset_p and self.rng.random() < self.reset_p:
            # the register was cleared right after the previous sample: nothing is lost
            self.kwh_offset, self.kvarh_offset = self.last_kwh, self.last_kvarh
            self.resets += 1
        self.last_kwh, self.last_kvarh = self.kwh, self.kvarh
        kwh, kvarh = self.kwh - self.kwh_offset, self.kvarh - self.kvarh_offset
        m = self.meter_modulus
        if m:
            kwh, kvarh = kwh % m, kvarh % m
        out["energy_kwh"] = round(kwh, 4)
        out["energy_kvarh"] = round(kvarh, 4)

    def _pack(self, t: int, out: dict[str, object], tick: bool) -> None:
        if self.pack is not None:
            self.pack.sample(
                t, out, running=self.state == RUNNING, rate=self.rate, units=self.total, scrap=self.scrap,
                tick=tick,
            )  # fmt: skip

    def samples(self) -> Iterator[tuple[int, dict[str, object]]]:
        segs = self.segments
        seg_i = 0
        self.seg_kind = segs[0].kind
        seg_end = segs[0].end
        t, end = self.start, self.end
        meter = self.meter
        pms = self.periods_ms
        p_state, p_count, p_energy, p_power = pms["state"], pms["counters"], pms["energy"], pms["power"]
        n_state = _first_tick(t, p_state) if not meter else _NEVER
        n_count = _first_tick(t, p_count) if not meter else _NEVER
        n_energy = _first_tick(t, p_energy)
        n_power = _first_tick(t, p_power)

        out: dict[str, object] = {}
        if not meter:
            self.state = self._calendar_state()
            episode_end = self._episode(t)
            self._rate()
            out["state"] = self.state
        else:
            episode_end = _NEVER
        self._power()
        if not meter:
            self._counters(out)
            self._pack(t, out, True)
        self._energy(out)
        out["power_kw"], out["power_kvar"] = self.kw, self.kvar
        yield t, out

        while True:
            t_next = min(episode_end, seg_end, n_state, n_count, n_energy, n_power, end)
            self._advance(t, t_next)
            t = t_next
            if t >= end:
                return
            out = {}
            changed = False
            if t == seg_end:
                seg_i += 1
                self.seg_kind = segs[seg_i].kind
                seg_end = segs[seg_i].end
                if not meter:
                    new = self._calendar_state()
                    changed = new != self.state or new == RUNNING
                    if changed:
                        self.state = new
                        episode_end = self._episode(t)
                else:
                    self._power()
                    out["power_kw"], out["power_kvar"] = self.kw, self.kvar
            elif t == episode_end:
                self.state = self.next_state
                episode_end = self._episode(t)
                changed = True
                if self.reasons is not None and self.state != RUNNING:
                    code = self.reasons.pick(self.state, min(episode_end, seg_end, end) - t)
                    if code is not None:
                        out["reason"] = code  # the operator labels the stop as it starts
            if changed:
                out["state"] = self.state
                self._rate()
                self._pack(t, out, t == n_count)
                self._power()
                out["power_kw"], out["power_kvar"] = self.kw, self.kvar
            if t == n_state:
                out["state"] = self.state
                n_state += p_state
            if t == n_count:
                self._counters(out)
                self._rate()
                if not changed:
                    self._pack(t, out, True)
                n_count += p_count
            if t == n_energy:
                self._energy(out)
                n_energy += p_energy
            if t == n_power:
                self._power()
                out["power_kw"], out["power_kvar"] = self.kw, self.kvar
                n_power += p_power
            if out:
                yield t, out
