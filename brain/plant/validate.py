"""Plant config validation: plain YAML data -> `Plant`, or `PlantConfigError` naming the file,
the key path (e.g. `sites[0].lines[1].machines[2].ideal_cycle_s`), what was expected and what was
found. `load_plant` is the only function that does I/O. Unknown keys are rejected.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from brain.plant.alerts import parse_alert_rules
from brain.plant.export import parse_export
from brain.plant.model import (
    DAYS,
    DEFAULT_GRID_FACTOR,
    DEFAULT_POWER_MAX_GAP_S,
    DEFAULT_TIMEZONE,
    JIANGSU_2025,
    PERIODS,
    UNKNOWN_AS,
    Break,
    Line,
    Machine,
    Plant,
    PlantConfigError,
    ReasonCode,
    Shift,
    Site,
    Tariff,
    TouSeason,
    _code_key,
    _minutes,
)
from brain.plant.packs import LinePack, line_pack_of, machine_pack, parse_packs
from brain.plant.reasons import merged, parse_minor_stop_s, parse_reason_codes
from brain.plant.workdays import work_calendar
from brain.vocabulary import STATES

_ID = re.compile(r"^[A-Za-z0-9_.-]+$")
_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


def load_plant(path: str) -> Plant:
    """Read and validate a plant YAML file; raise PlantConfigError on any problem."""
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise PlantConfigError(path, "", "a readable file", str(exc)) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise PlantConfigError(path, where, "valid YAML", problem) from exc
    return parse_plant(data, source=path)


def parse_plant(data: Any, source: str = "<config>") -> Plant:
    """Validate decoded YAML (a dict) and build the Plant."""
    v = _V(source)
    top = v.mapping(
        data,
        "",
        required=("sites",),
        optional=(
            "timezone",
            "shifts",
            "calendar",
            "holidays",
            "workdays",
            "tariff",
            "currency",
            "grid_emission_factor_kg_per_kwh",
            "alerts",
            "sparkplug",
            "defaults",
            "name",
            "packs",
            "export",
            "reasons",
            "minor_stop_s",
        ),
    )
    tz = top.get("timezone", DEFAULT_TIMEZONE)
    if not isinstance(tz, str):
        raise PlantConfigError(source, "timezone", "an IANA time zone name (e.g. Asia/Shanghai)", tz)
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PlantConfigError(source, "timezone", "an IANA time zone name (e.g. Asia/Shanghai)", tz) from exc
    v.packs = packs = parse_packs(v, top.get("packs", []))  # brain/plant/packs.py
    v.reasons = merged({}, v, top.get("reasons"), "reasons")  # brain/plant/reasons.py
    minor_stop_s = parse_minor_stop_s(v, top.get("minor_stop_s"))
    defaults = v.mapping(top.get("defaults", {}), "defaults", optional=_MACHINE_OPTIONS)
    sites = tuple(v.site(s, f"sites[{i}]", defaults) for i, s in enumerate(v.list(top["sites"], "sites")))
    if not sites:
        raise PlantConfigError(source, "sites", "at least one site", [])
    v.unique([s.id for s in sites], "sites", "site id")
    shifts = tuple(v.shift(s, f"shifts[{i}]") for i, s in enumerate(v.list(top.get("shifts", []), "shifts")))
    v.unique([s.name for s in shifts], "shifts", "shift name")
    holidays, workdays = (
        tuple(v.date(d, f"{key}[{i}]") for i, d in enumerate(v.list(top.get(key) or [], key)))
        for key in ("holidays", "workdays")
    )
    calendar = work_calendar(source, top.get("calendar"), holidays, workdays)  # brain/plant/workdays.py
    currency = top.get("currency", "CNY")
    if not isinstance(currency, str):
        raise PlantConfigError(source, "currency", "a currency code string (e.g. CNY)", currency)
    tariff = v.tariff(top.get("tariff"), "tariff", currency)
    factor = v.number(
        top.get("grid_emission_factor_kg_per_kwh", DEFAULT_GRID_FACTOR),
        "grid_emission_factor_kg_per_kwh",
        minimum=0.0,
    )
    alerts = parse_alert_rules(
        top.get("alerts", []), source, sites, tuple(packs.values())
    )  # brain/plant/alerts.py
    # kept as data for the ingest bridge, which validates it (ingest/plantconfig.py): any mapping
    sparkplug = top.get("sparkplug") or {}
    if not isinstance(sparkplug, dict):
        raise v.fail("sparkplug", "a mapping (Sparkplug group/edge/device -> site/line/machine)", sparkplug)
    export = parse_export(v, top.get("export"))  # brain/plant/export.py
    return Plant(
        tz, sites, shifts, calendar, tariff, factor, alerts, dict(sparkplug), source, tuple(packs),
        v.reasons, minor_stop_s, export,
    )  # fmt: skip


_MACHINE_OPTIONS = (
    "kind",
    "state_codes",
    "counter_modulus",
    "meter_modulus",
    "power_max_gap_s",
    "unknown_as",
    "reason_codes",
)


class _V:
    """Validators that know the source file name for their messages."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.packs: dict[str, Any] = {}  # id -> Pack, the ones `packs:` names
        self.reasons: dict[str, ReasonCode] = {}  # the plant-level reason tree

    def fail(self, path: str, expected: str, found: Any) -> PlantConfigError:
        return PlantConfigError(self.source, path, expected, found)

    def mapping(
        self, data: Any, path: str, required: tuple[str, ...] = (), optional: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(path or "(top level)", "a mapping", data)
        allowed = required + optional
        for key in data:
            if key not in allowed:
                where = f"{path}.{key}" if path else str(key)
                raise self.fail(where, "one of the known keys " + ", ".join(allowed) + " (unknown key)", key)
        for key in required:
            if key not in data:
                where = f"{path}.{key}" if path else key
                raise self.fail(where, "a required key", None)
        return data

    def list(self, data: Any, path: str) -> list[Any]:
        if not isinstance(data, list):
            raise self.fail(path, "a list", data)
        return data

    def ident(self, data: Any, path: str) -> str:
        if isinstance(data, int) and not isinstance(data, bool):
            data = str(data)
        if not isinstance(data, str) or not _ID.match(data):
            raise self.fail(path, "an id of letters, digits, '_', '-', '.'", data)
        return data

    def number(self, data: Any, path: str, minimum: float | None = None, positive: bool = False) -> float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            raise self.fail(path, "a number", data)
        if positive and data <= 0:
            raise self.fail(path, "a number > 0", data)
        if minimum is not None and data < minimum:
            raise self.fail(path, f"a number >= {minimum}", data)
        return float(data)

    def unique(self, ids: list[str], path: str, what: str) -> None:
        seen: set[str] = set()
        for i, x in enumerate(ids):
            if x in seen:
                raise self.fail(f"{path}[{i}]", f"a unique {what}", x)
            seen.add(x)

    def hhmm(self, data: Any, path: str) -> int:
        if not isinstance(data, str) or not _HHMM.match(data) or _minutes(data) > 1440:
            raise self.fail(path, 'a time of day "HH:MM" (00:00-24:00)', data)
        return _minutes(data)

    def date(self, data: Any, path: str) -> dt.date:
        if isinstance(data, dt.date) and not isinstance(data, dt.datetime):
            return data
        if isinstance(data, str):
            try:
                return dt.date.fromisoformat(data)
            except ValueError:
                pass
        raise self.fail(path, "a date YYYY-MM-DD", data)

    def machine(
        self,
        data: Any,
        path: str,
        defaults: dict[str, Any],
        line_pack: LinePack,
        line_reasons: dict[str, ReasonCode] | None = None,
    ) -> Machine:
        keys = ("ideal_cycle_s", "name", "pack", "reasons", *self.packs, *_MACHINE_OPTIONS)
        own = m = self.mapping(data, path, required=("id",), optional=keys)
        m = {**defaults, **m}
        ideal = m.get("ideal_cycle_s")
        ideal = None if ideal is None else self.number(ideal, f"{path}.ideal_cycle_s", positive=True)
        kind = m.get("kind", "machine")
        if kind not in ("machine", "meter"):
            raise self.fail(f"{path}.kind", "one of machine, meter", kind)
        codes_raw = self.mapping(
            m.get("state_codes", {}), f"{path}.state_codes", optional=tuple(m.get("state_codes", {}) or ())
        )
        codes: dict[str, str] = {}
        for code, name in codes_raw.items():
            key = f"{path}.state_codes.{code}"
            if isinstance(code, bool) or not isinstance(code, (int, str)):
                raise self.fail(key, "an integer or string code", code)
            if name not in STATES:
                raise self.fail(key, "a state name (" + ", ".join(STATES) + ")", name)
            codes[_code_key(code)] = name
        mods = {}
        for name in ("counter_modulus", "meter_modulus"):
            mods[name] = (
                None if m.get(name) is None else self.number(m[name], f"{path}.{name}", positive=True)
            )
        gap = self.number(
            m.get("power_max_gap_s", DEFAULT_POWER_MAX_GAP_S), f"{path}.power_max_gap_s", positive=True
        )
        pack, pack_config = machine_pack(self, own, path, line_pack, kind)  # brain/plant/packs.py
        tree = merged(self.reasons if line_reasons is None else line_reasons, self, own.get("reasons"),
                      f"{path}.reasons")  # fmt: skip
        reason_codes = parse_reason_codes(self, m.get("reason_codes", {}), f"{path}.reason_codes", tree)
        unknown_as = m.get("unknown_as", "loss")
        if unknown_as not in UNKNOWN_AS:
            raise self.fail(f"{path}.unknown_as", "one of " + ", ".join(UNKNOWN_AS), unknown_as)
        return Machine(
            self.ident(m["id"], f"{path}.id"),
            ideal,
            kind,
            codes,
            mods["counter_modulus"],
            mods["meter_modulus"],
            gap,
            unknown_as,
            pack,
            pack_config,
            tree,
            reason_codes,
        )

    def line(self, data: Any, path: str, defaults: dict[str, Any]) -> Line:
        d = self.mapping(
            data,
            path,
            required=("id", "machines"),
            optional=("name", "defaults", "pack", "reasons", *self.packs),
        )
        tree = merged(self.reasons, self, d.get("reasons"), f"{path}.reasons")
        line_pack = line_pack_of(self, d, path)  # brain/plant/packs.py
        defaults = {
            **defaults,
            **self.mapping(d.get("defaults", {}), f"{path}.defaults", optional=_MACHINE_OPTIONS),
        }
        machines = tuple(
            self.machine(m, f"{path}.machines[{i}]", defaults, line_pack, tree)
            for i, m in enumerate(self.list(d["machines"], f"{path}.machines"))
        )
        self.unique([m.id for m in machines], f"{path}.machines", "machine id")
        return Line(self.ident(d["id"], f"{path}.id"), machines)

    def site(self, data: Any, path: str, defaults: dict[str, Any]) -> Site:
        d = self.mapping(data, path, required=("id", "lines"), optional=("name", "contracted_demand_kw"))
        lines = tuple(
            self.line(ln, f"{path}.lines[{i}]", defaults)
            for i, ln in enumerate(self.list(d["lines"], f"{path}.lines"))
        )
        self.unique([ln.id for ln in lines], f"{path}.lines", "line id")
        demand = d.get("contracted_demand_kw")
        demand = (
            None if demand is None else self.number(demand, f"{path}.contracted_demand_kw", positive=True)
        )
        return Site(self.ident(d["id"], f"{path}.id"), lines, demand)

    def shift(self, data: Any, path: str) -> Shift:
        d = self.mapping(data, path, required=("name", "start", "end"), optional=("days", "breaks"))
        if not isinstance(d["name"], str) or not d["name"]:
            raise self.fail(f"{path}.name", "a non-empty string", d["name"])
        start, end = self.hhmm(d["start"], f"{path}.start"), self.hhmm(d["end"], f"{path}.end")
        days_raw = self.list(d.get("days", list(DAYS)), f"{path}.days")
        days = []
        for i, day in enumerate(days_raw):
            if not isinstance(day, str) or day.lower() not in DAYS:
                raise self.fail(f"{path}.days[{i}]", "a day name (" + ", ".join(DAYS) + ")", day)
            days.append(DAYS.index(day.lower()))
        length = (end - start) % 1440 or 1440
        breaks = []
        for i, b in enumerate(self.list(d.get("breaks", []), f"{path}.breaks")):
            bp = f"{path}.breaks[{i}]"
            bd = self.mapping(b, bp, required=("start", "end"))
            bs, be = self.hhmm(bd["start"], f"{bp}.start"), self.hhmm(bd["end"], f"{bp}.end")
            off_s, off_e = (bs - start) % 1440, (be - start) % 1440 or 1440
            if off_s >= length or off_e > length or off_e <= off_s:
                raise self.fail(
                    bp, f"a break inside the shift {d['start']}-{d['end']}", f"{bd['start']}-{bd['end']}"
                )
            breaks.append(Break(bs, be))
        return Shift(d["name"], start, end, tuple(sorted(set(days))), tuple(breaks))

    def tariff(self, data: Any, path: str, currency: str) -> Tariff:
        if data is None:
            return Tariff(JIANGSU_2025, None, False, currency)
        d = self.mapping(data, path, optional=("periods", "prices", "prices_are_example", "name"))
        periods = d.get("periods", "jiangsu-2025")
        if periods == "jiangsu-2025":
            seasons = JIANGSU_2025
        else:
            seasons = tuple(
                self.season(s, f"{path}.periods[{i}]")
                for i, s in enumerate(self.list(periods, f"{path}.periods"))
            )
            months = sorted(m for s in seasons for m in s.months)
            if months != list(range(1, 13)):
                raise self.fail(f"{path}.periods", "seasons covering each month 1-12 exactly once", months)
        prices = None
        if d.get("prices") is not None:
            p = self.mapping(d["prices"], f"{path}.prices", required=PERIODS)
            prices = {k: self.number(p[k], f"{path}.prices.{k}", minimum=0.0) for k in PERIODS}
        example = d.get("prices_are_example", False)
        if not isinstance(example, bool):
            raise self.fail(f"{path}.prices_are_example", "true or false", example)
        return Tariff(seasons, prices, example, currency)

    def season(self, data: Any, path: str) -> TouSeason:
        d = self.mapping(data, path, required=("months", *PERIODS))
        months = []
        for i, m in enumerate(self.list(d["months"], f"{path}.months")):
            if isinstance(m, bool) or not isinstance(m, int) or not 1 <= m <= 12:
                raise self.fail(f"{path}.months[{i}]", "a month number 1-12", m)
            months.append(m)
        ranges: dict[str, tuple[tuple[int, int], ...]] = {}
        covered = [0] * 1440
        for period in PERIODS:
            out = []
            for i, text in enumerate(self.list(d[period], f"{path}.{period}")):
                rp = f"{path}.{period}[{i}]"
                parts = text.split("-") if isinstance(text, str) else []
                if len(parts) != 2:
                    raise self.fail(rp, 'a range "HH:MM-HH:MM"', text)
                a, b = self.hhmm(parts[0], rp), self.hhmm(parts[1], rp)
                if b <= a:
                    raise self.fail(rp, "a range inside one day (split ranges across midnight)", text)
                for minute in range(a, b):
                    covered[minute] += 1
                out.append((a, b))
            ranges[period] = tuple(out)
        if any(c != 1 for c in covered):
            bad = next(i for i, c in enumerate(covered) if c != 1)
            raise self.fail(
                path,
                "peak, flat and valley ranges covering every minute of the day exactly once",
                f"{bad // 60:02d}:{bad % 60:02d} covered {covered[bad]} times",
            )
        return TouSeason(tuple(months), ranges)
