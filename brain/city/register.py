"""The enterprise register of the city (YAML): the evaluation scheme, the grid factor and each
enterprise's master data (land, tax, sales, value added per year).

Validated like the plant config (brain/plant/validate.py): `RegisterError` names the file, the key
path, what was expected and what was found; unknown keys are errors. `load_register` is the only I/O.
Missing master data is *not* a config error: the evaluation classes such an enterprise T and says why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from brain.city.factors import (
    ENERGY_BASES,
    EQUAL_VALUE,
    EQUIVALENT,
    FACTORS_BY_ID,
    GridFactor,
    default_factor,
)
from brain.plant.model import PlantConfigError

# indicator id -> (numerator master-data field, denominator): the per-mu evaluation's vocabulary
INDICATORS: Final = {
    "tax_per_mu": ("tax_wan_cny", "land_mu"),
    "sales_per_mu": ("sales_wan_cny", "land_mu"),
    "value_added_per_mu": ("value_added_wan_cny", "land_mu"),
    "tax_per_tce": ("tax_wan_cny", "tce"),
    "value_added_per_tce": ("value_added_wan_cny", "tce"),
    "tax_per_kwh": ("tax_wan_cny", "kwh"),
}
YEAR_FIELDS: Final = (
    "tax_wan_cny",
    "sales_wan_cny",
    "value_added_wan_cny",
    "output_value_wan_cny",
    "employees",
)
TOP_KEYS: Final = ("scheme", "carbon_factor", "enterprises", "timezone", "name")
DEFAULT_TIMEZONE: Final = "Asia/Shanghai"
DEFAULT_DQ_THRESHOLD: Final = 0.9
NOT_EVALUATED: Final = "T"  # class of an enterprise that cannot be (or is not) evaluated

_ID = re.compile(r"^[A-Za-z0-9_.-]+$")


class RegisterError(PlantConfigError):
    """A register that cannot be used: file, key path, expected, found."""


@dataclass(frozen=True, slots=True)
class Indicator:
    id: str
    weight: float
    baseline: float


@dataclass(frozen=True, slots=True)
class Scheme:
    indicators: tuple[Indicator, ...]
    classes: tuple[tuple[str, float], ...]  # (class, cumulative rank share upper bound), ascending
    rest_class: str  # the class of the ranks past the last share (D for A, B, C)
    energy_basis: str
    kgce_per_kwh: dict[int, float]  # by year, for equal_value
    dq_threshold: float

    def kgce_per_kwh_for(self, year: int, source: str) -> float:
        """The electricity conversion of the scheme's basis for a year (a clear error when missing)."""
        if self.energy_basis == EQUIVALENT:
            from brain.city.factors import KGCE_PER_KWH_EQUIVALENT

            return KGCE_PER_KWH_EQUIVALENT
        if year not in self.kgce_per_kwh:
            raise RegisterError(
                source, f"scheme.kgce_per_kwh.{year}", f"an equal_value kgce/kWh for {year}", None
            )
        return self.kgce_per_kwh[year]


@dataclass(frozen=True, slots=True)
class YearData:
    """One year's master data; a None field is missing (the evaluation says so)."""

    tax_wan_cny: float | None = None
    sales_wan_cny: float | None = None
    value_added_wan_cny: float | None = None
    output_value_wan_cny: float | None = None
    employees: float | None = None


@dataclass(frozen=True, slots=True)
class Enterprise:
    id: str
    name: str
    sector: str
    park: str
    land_mu: float | None
    years: dict[int, YearData] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Register:
    source: str
    name: str
    timezone: str
    scheme: Scheme
    carbon_factor: GridFactor
    enterprises: tuple[Enterprise, ...]
    by_id: dict[str, Enterprise]


def load_register(path: str) -> Register:
    """Read and validate a register YAML file; raise RegisterError on any problem."""
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise RegisterError(path, "", "a readable file", str(exc)) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise RegisterError(path, where, "valid YAML", getattr(exc, "problem", None) or str(exc)) from exc
    return parse_register(data, source=path)


def parse_register(data: Any, source: str = "<register>") -> Register:
    """Validate decoded YAML (a dict) and build the Register."""
    v = _V(source)
    top = v.mapping(data, "", required=("scheme", "enterprises"), optional=TOP_KEYS)
    tz = top.get("timezone", DEFAULT_TIMEZONE)
    try:
        ZoneInfo(tz) if isinstance(tz, str) else None
    except (ZoneInfoNotFoundError, ValueError):
        tz = None
    if not isinstance(tz, str):
        raise v.fail("timezone", "an IANA time zone name (e.g. Asia/Shanghai)", top.get("timezone"))
    scheme = v.scheme(top["scheme"])
    factor_id = top.get("carbon_factor")
    if factor_id is None:
        factor = default_factor()
    elif factor_id in FACTORS_BY_ID:
        factor = FACTORS_BY_ID[factor_id]
    else:
        raise v.fail(
            "carbon_factor", "a factor id of brain/city/factors.py: " + ", ".join(FACTORS_BY_ID), factor_id
        )
    ents = tuple(
        v.enterprise(e, f"enterprises[{i}]") for i, e in enumerate(v.list(top["enterprises"], "enterprises"))
    )
    v.unique([e.id for e in ents], "enterprises", "enterprise id")
    name = top.get("name", "")
    if not isinstance(name, str):
        raise v.fail("name", "a string", name)
    return Register(source, name, tz, scheme, factor, ents, {e.id: e for e in ents})


class _V:
    """Validators that know the source file name for their messages."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, expected: str, found: Any) -> RegisterError:
        return RegisterError(self.source, path, expected, found)

    def mapping(
        self, data: Any, path: str, required: tuple[str, ...] = (), optional: tuple[str, ...] = ()
    ) -> dict:
        if not isinstance(data, dict):
            raise self.fail(path or "(top level)", "a mapping", data)
        allowed = required + optional
        for key in data:
            if key not in allowed:
                where = f"{path}.{key}" if path else str(key)
                raise self.fail(where, "one of the known keys " + ", ".join(allowed) + " (unknown key)", key)
        for key in required:
            if key not in data:
                raise self.fail(f"{path}.{key}" if path else key, "a required key", None)
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

    def number(self, data: Any, path: str, positive: bool = False, optional: bool = False) -> float | None:
        if data is None and optional:
            return None
        if isinstance(data, bool) or not isinstance(data, (int, float)) or data != data:
            raise self.fail(path, "a number" + (" or null" if optional else ""), data)
        if positive and data <= 0:
            raise self.fail(path, "a number > 0", data)
        if data < 0:
            raise self.fail(path, "a number >= 0", data)
        return float(data)

    def unique(self, ids: list[str], path: str, what: str) -> None:
        seen: set[str] = set()
        for i, x in enumerate(ids):
            if x in seen:
                raise self.fail(f"{path}[{i}]", f"a unique {what}", x)
            seen.add(x)

    def scheme(self, data: Any) -> Scheme:
        d = self.mapping(
            data,
            "scheme",
            required=("indicators",),
            optional=("classes", "energy_basis", "kgce_per_kwh", "dq_threshold"),
        )
        inds = []
        for i, raw in enumerate(self.list(d["indicators"], "scheme.indicators")):
            p = f"scheme.indicators[{i}]"
            ind = self.mapping(raw, p, required=("id", "weight", "baseline"))
            if ind["id"] not in INDICATORS:
                raise self.fail(f"{p}.id", "an indicator id: " + ", ".join(INDICATORS), ind["id"])
            w = self.number(ind["weight"], f"{p}.weight", positive=True)
            b = self.number(ind["baseline"], f"{p}.baseline", positive=True)
            inds.append(Indicator(ind["id"], w, b))  # type: ignore[arg-type]
        if not inds:
            raise self.fail("scheme.indicators", "at least one indicator", [])
        self.unique([i.id for i in inds], "scheme.indicators", "indicator id")
        classes, rest = self.classes(d.get("classes", {"A": 0.20, "B": 0.60, "C": 0.95}))
        basis = d.get("energy_basis", EQUIVALENT)
        if basis not in ENERGY_BASES:
            raise self.fail("scheme.energy_basis", "one of " + ", ".join(ENERGY_BASES), basis)
        by_year: dict[int, float] = {}
        raw_years = d.get("kgce_per_kwh", {})
        if not isinstance(raw_years, dict):
            raise self.fail("scheme.kgce_per_kwh", "a mapping year -> kgce per kWh", raw_years)
        for year, value in raw_years.items():
            if isinstance(year, bool) or not isinstance(year, int):
                raise self.fail(f"scheme.kgce_per_kwh.{year}", "a year (integer key)", year)
            by_year[year] = self.number(value, f"scheme.kgce_per_kwh.{year}", positive=True)  # type: ignore[assignment]
        if basis == EQUAL_VALUE and not by_year:
            raise self.fail("scheme.kgce_per_kwh", "kgce per kWh by year for energy_basis equal_value", None)
        dq = self.number(d.get("dq_threshold", DEFAULT_DQ_THRESHOLD), "scheme.dq_threshold")
        if dq is None or dq > 1:
            raise self.fail("scheme.dq_threshold", "a share between 0 and 1", d.get("dq_threshold"))
        return Scheme(tuple(inds), classes, rest, basis, by_year, dq)

    def classes(self, data: Any) -> tuple[tuple[tuple[str, float], ...], str]:
        """Classes A, B, ... in order, each with a cumulative rank share; the rest: the next letter."""
        if not isinstance(data, dict) or not data:
            raise self.fail("scheme.classes", "a mapping class -> cumulative rank share (e.g. A: 0.20)", data)
        out: list[tuple[str, float]] = []
        for i, (name, share) in enumerate(data.items()):
            expected = chr(ord("A") + i)
            if name != expected:
                raise self.fail(
                    f"scheme.classes.{name}", f"class {expected} (classes are A, B, C, ... in order)", name
                )
            s = self.number(share, f"scheme.classes.{name}", positive=True)
            if s > 1 or (out and s <= out[-1][1]):  # type: ignore[operator]
                raise self.fail(
                    f"scheme.classes.{name}", "a share above the previous class's and <= 1", share
                )
            out.append((name, s))  # type: ignore[arg-type]
        return tuple(out), chr(ord("A") + len(out))

    def enterprise(self, data: Any, path: str) -> Enterprise:
        d = self.mapping(data, path, required=("id", "sector"), optional=("name", "park", "land_mu", "years"))
        eid = self.ident(d["id"], f"{path}.id")
        sector = self.ident(d["sector"], f"{path}.sector")
        park = self.ident(d.get("park", "default"), f"{path}.park")
        name = d.get("name", eid)
        if not isinstance(name, str):
            raise self.fail(f"{path}.name", "a string", name)
        land = self.number(d.get("land_mu"), f"{path}.land_mu", optional=True)
        years: dict[int, YearData] = {}
        raw_years = d.get("years") or {}
        if not isinstance(raw_years, dict):
            raise self.fail(f"{path}.years", "a mapping year -> master data", raw_years)
        for year, raw in raw_years.items():
            yp = f"{path}.years.{year}"
            if isinstance(year, bool) or not isinstance(year, int):
                raise self.fail(yp, "a year (integer key, e.g. 2026)", year)
            y = self.mapping(raw, yp, optional=YEAR_FIELDS)
            years[year] = YearData(
                **{k: self.number(y.get(k), f"{yp}.{k}", optional=True) for k in YEAR_FIELDS}
            )
        return Enterprise(eid, name, sector, park, land, years)
