"""Simulation parameters per machine: code defaults by line type, an optional `--profile` YAML.

The plant config (brain.plant) rejects unknown keys, so the simulator keeps its own parameters
here. Resolution, most specific last (each level overrides the keys it sets):

1. `LINE_TYPES`: the first row whose line-id pattern matches (`smt*`, `cnc*`, `weav*`, ...);
2. `MACHINE_TYPES`: the first row whose machine-id pattern matches (`reflow*`, `formation*`);
3. the profile's `defaults:`, then `lines:` (pattern on the line id), then `machines:`
   (pattern on `site/line/machine`), in file order.

Patterns are `fnmatch` globs. docs/SIMULATOR.md documents every key.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from fnmatch import fnmatchcase
from typing import Any

PERIOD_GROUPS = ("state", "counters", "energy", "power")
DEFAULT_PERIODS = {"state": 0.0, "counters": 5.0, "energy": 5.0, "power": 5.0}


class ProfileError(ValueError):
    """A simulation profile that cannot be used: file, key path, expected, found."""


@dataclass(frozen=True, slots=True)
class MachineParams:
    """How one machine behaves. Times in seconds, power in kW, rates as fractions."""

    cycle_s: float = 30.0  # used only when the plant config has no ideal_cycle_s
    speed: float = 0.92  # mean actual rate / ideal rate (the performance ratio)
    cycle_jitter: float = 0.04  # relative std dev of the rate, redrawn every counter sample
    scrap_rate: float = 0.015  # probability that a unit is scrap
    mtbf_s: float = 4 * 3600.0  # mean running time between faults (exponential)
    mttr_s: float = 15 * 60.0  # mean fault duration (lognormal)
    mttr_sigma: float = 0.8  # lognormal shape of fault durations
    setup_every_s: float = 4 * 3600.0  # mean running time between changeovers (exponential)
    setup_s: float = 20 * 60.0  # mean changeover duration (lognormal, shape 0.4)
    idle_every_s: float = 3600.0  # mean running time between starved/blocked episodes
    idle_s: float = 4 * 60.0  # mean idle duration (lognormal, shape 0.7)
    power_running_kw: float = 10.0
    power_setup_kw: float = 5.0
    power_idle_kw: float = 3.0  # also fault (x 0.9) and planned_stop (x 0.7)
    power_off_kw: float = 0.2  # offline, outside the shift calendar
    power_noise: float = 0.03  # relative std dev of power readings
    power_factor: float = 0.88  # cos(phi) while running; idle/off run at a poorer factor
    meter_reset_per_day: float = 0.02  # probability per meter and day of an energy-meter reset
    aux_scheduled_kw: float = 40.0  # `kind: meter` machines: auxiliary load during shifts
    aux_unscheduled_kw: float = 8.0  # ... and outside them
    unlabelled_share: float = 0.15  # share of the stops the operator leaves without a reason


KEYS = tuple(f.name for f in fields(MachineParams))

# Line types by line-id pattern: first match wins. Values are overrides of MachineParams.
LINE_TYPES: tuple[tuple[str, dict[str, float]], ...] = (
    ("smt*", dict(speed=0.93, cycle_jitter=0.03, scrap_rate=0.006, mtbf_s=3 * 3600, mttr_s=10 * 60,
                  setup_every_s=3 * 3600, setup_s=25 * 60, idle_every_s=40 * 60, idle_s=3 * 60,
                  power_running_kw=12, power_setup_kw=6, power_idle_kw=5, power_off_kw=0.3,
                  power_factor=0.9)),
    ("cnc*", dict(speed=0.9, cycle_jitter=0.05, scrap_rate=0.01, mtbf_s=6 * 3600, mttr_s=30 * 60,
                  setup_every_s=5 * 3600, setup_s=40 * 60, idle_every_s=80 * 60, idle_s=6 * 60,
                  power_running_kw=18, power_setup_kw=6, power_idle_kw=3, power_off_kw=0.2,
                  power_factor=0.82, aux_scheduled_kw=30, aux_unscheduled_kw=6)),
    ("weav*", dict(speed=0.9, cycle_jitter=0.02, scrap_rate=0.002, mtbf_s=1.2 * 3600, mttr_s=4 * 60,
                   mttr_sigma=0.6, setup_every_s=12 * 3600, setup_s=45 * 60, idle_every_s=2 * 3600,
                   idle_s=5 * 60, power_running_kw=7.5, power_setup_kw=1.5, power_idle_kw=1.2,
                   power_off_kw=0.1, power_factor=0.86)),
    ("cell*", dict(speed=0.9, cycle_jitter=0.03, scrap_rate=0.02, mtbf_s=5 * 3600, mttr_s=20 * 60,
                   setup_every_s=6 * 3600, setup_s=30 * 60, idle_every_s=90 * 60, idle_s=5 * 60,
                   power_running_kw=30, power_setup_kw=12, power_idle_kw=8, power_off_kw=1,
                   power_factor=0.9)),
)  # fmt: skip
LINE_TYPES = (*LINE_TYPES, ("spin*", LINE_TYPES[2][1]), ("batt*", LINE_TYPES[3][1]))

# Machine types by machine-id pattern (on top of the line type): first match wins.
MACHINE_TYPES: tuple[tuple[str, dict[str, float]], ...] = (
    ("reflow*", dict(power_running_kw=45, power_setup_kw=40, power_idle_kw=36, power_off_kw=0.5)),
    ("formation*", dict(power_running_kw=60, power_setup_kw=45, power_idle_kw=40, power_off_kw=2,
                        mtbf_s=8 * 3600)),
    ("coater*", dict(power_running_kw=55, power_setup_kw=25, power_idle_kw=20)),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Profile:
    """A parsed `--profile` file: overrides in order, and sample periods per metric group."""

    defaults: dict[str, float]
    lines: tuple[tuple[str, dict[str, float]], ...] = ()
    machines: tuple[tuple[str, dict[str, float]], ...] = ()
    periods: dict[str, float] | None = None

    def params(self, site: str, line: str, machine: str) -> MachineParams:
        return resolve(site, line, machine, self)


EMPTY_PROFILE = Profile(defaults={})


def resolve(site: str, line: str, machine: str, profile: Profile = EMPTY_PROFILE) -> MachineParams:
    """The parameters of one machine (see the module docstring for the order)."""
    params = MachineParams()
    for pattern, values in LINE_TYPES:
        if fnmatchcase(line, pattern):
            params = replace(params, **values)
            break
    for pattern, values in MACHINE_TYPES:
        if fnmatchcase(machine, pattern):
            params = replace(params, **values)
            break
    params = replace(params, **profile.defaults)
    for pattern, values in profile.lines:
        if fnmatchcase(line, pattern):
            params = replace(params, **values)
    for pattern, values in profile.machines:
        if fnmatchcase(f"{site}/{line}/{machine}", pattern):
            params = replace(params, **values)
    return params


_FRACTIONS = frozenset({"speed", "scrap_rate", "power_factor", "meter_reset_per_day", "unlabelled_share"})


def _overrides(data: Any, source: str, path: str) -> dict[str, float]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ProfileError(f"{source}: {path}: expected a mapping of parameters, found {type(data).__name__}")
    out: dict[str, float] = {}
    for key, value in data.items():
        if key not in KEYS:
            raise ProfileError(f"{source}: {path}.{key}: expected one of {', '.join(KEYS)} (unknown key)")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ProfileError(f"{source}: {path}.{key}: expected a number >= 0, found {value!r}")
        if key in _FRACTIONS and value > 1.5 and key != "speed":
            raise ProfileError(f"{source}: {path}.{key}: expected a fraction (0.02, not 2), found {value!r}")
        if key in ("mtbf_s", "setup_every_s", "idle_every_s", "cycle_s") and value == 0:
            raise ProfileError(f"{source}: {path}.{key}: expected a number > 0, found 0")
        out[key] = float(value)
    return out


def _patterns(data: Any, source: str, path: str) -> tuple[tuple[str, dict[str, float]], ...]:
    if data is None:
        return ()
    if not isinstance(data, dict):
        raise ProfileError(f"{source}: {path}: expected a mapping pattern -> parameters")
    return tuple((str(k), _overrides(v, source, f"{path}[{k!r}]")) for k, v in data.items())


def parse_periods(data: Any, source: str, path: str = "periods") -> dict[str, float]:
    """`{state: 0, counters: 5, energy: 5, power: 5}` (seconds; 0 = state on change only)."""
    if not isinstance(data, dict):
        raise ProfileError(f"{source}: {path}: expected a mapping group -> seconds")
    out = dict(DEFAULT_PERIODS)
    for key, value in data.items():
        if key not in PERIOD_GROUPS:
            raise ProfileError(f"{source}: {path}.{key}: expected one of {', '.join(PERIOD_GROUPS)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ProfileError(f"{source}: {path}.{key}: expected seconds >= 0, found {value!r}")
        if key != "state" and value == 0:
            raise ProfileError(f"{source}: {path}.{key}: expected seconds > 0 (only state may be 0)")
        if value and value * 1000 != int(value * 1000):
            raise ProfileError(f"{source}: {path}.{key}: expected whole milliseconds, found {value!r}")
        out[key] = float(value)
    return out


def parse_profile(data: Any, source: str = "<profile>") -> Profile:
    if data is None:
        return EMPTY_PROFILE
    if not isinstance(data, dict):
        raise ProfileError(f"{source}: expected a mapping at the top level")
    known = {"defaults", "lines", "machines", "periods", "name"}
    for key in data:
        if key not in known:
            raise ProfileError(f"{source}: {key}: expected one of {', '.join(sorted(known))} (unknown key)")
    return Profile(
        defaults=_overrides(data.get("defaults"), source, "defaults"),
        lines=_patterns(data.get("lines"), source, "lines"),
        machines=_patterns(data.get("machines"), source, "machines"),
        periods=None if data.get("periods") is None else parse_periods(data["periods"], source),
    )


def load_profile(path: str) -> Profile:
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: expected valid YAML ({exc})") from None
    return parse_profile(data, path)
