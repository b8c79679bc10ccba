"""The city's conversion constants and the versioned grid-factor table (shared/KPIS.md "Energy and
carbon accounting"): one owner, rows not code paths.

A grid factor is never one number: a record of the city says which factor (its id) it used, so a
re-computation with a newer factor is an explicit act (a new register `carbon_factor`), never silent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# --- energy conversion to standard coal (GB/T 2589-2020), kgce per unit ---
KGCE_PER_KWH_EQUIVALENT: Final = 0.1229  # electricity, equivalent basis (当量值)
KGCE_PER_M3_NATURAL_GAS: Final = 1.2143
KGCE_PER_KG_STEAM_0_8MPA: Final = 0.1286

# --- energy bases a scheme may use for electricity ---
EQUIVALENT, EQUAL_VALUE = "equivalent", "equal_value"
ENERGY_BASES: Final = (EQUIVALENT, EQUAL_VALUE)

SCOPES: Final = ("national", "regional", "provincial")
BASES: Final = ("average", "excl_market_non_fossil", "fossil", "power_sector_reporting")


@dataclass(frozen=True, slots=True)
class GridFactor:
    """One published Scope 2 grid emission factor."""

    id: str
    year: int
    scope: str  # national | regional | provincial
    region: str  # "CN" for national, else the grid region
    basis: str  # average | excl_market_non_fossil | fossil | power_sector_reporting
    kg_per_kwh: float
    source: str


_MEE_2023 = "MEE/NBS, electricity CO2 emission factors for 2023 (published 2025), via shared/KPIS.md"
_MEE_2022 = "MEE/NBS, electricity CO2 emission factors for 2022 (published 2024), via shared/KPIS.md"
_MEE_REPORTING = "MEE, power-sector enterprise GHG reporting factor (2023-2025 reporting), via shared/KPIS.md"

GRID_FACTORS: Final = (
    GridFactor("cn-2023-national-average", 2023, "national", "CN", "average", 0.5306, _MEE_2023),
    GridFactor(
        "cn-2023-national-excl-non-fossil",
        2023,
        "national",
        "CN",
        "excl_market_non_fossil",
        0.6096,
        _MEE_2023,
    ),
    GridFactor("cn-2023-national-fossil", 2023, "national", "CN", "fossil", 0.8273, _MEE_2023),
    GridFactor("cn-2023-north", 2023, "regional", "north", "average", 0.6361, _MEE_2023),
    GridFactor("cn-2023-north-east", 2023, "regional", "north_east", "average", 0.5122, _MEE_2023),
    GridFactor("cn-2023-east", 2023, "regional", "east", "average", 0.5500, _MEE_2023),
    GridFactor("cn-2023-central", 2023, "regional", "central", "average", 0.5271, _MEE_2023),
    GridFactor("cn-2023-north-west", 2023, "regional", "north_west", "average", 0.5543, _MEE_2023),
    GridFactor("cn-2023-south", 2023, "regional", "south", "average", 0.4042, _MEE_2023),
    GridFactor("cn-2023-south-west", 2023, "regional", "south_west", "average", 0.2472, _MEE_2023),
    GridFactor("cn-2022-national-average", 2022, "national", "CN", "average", 0.5366, _MEE_2022),
    GridFactor(
        "cn-2022-national-excl-non-fossil",
        2022,
        "national",
        "CN",
        "excl_market_non_fossil",
        0.5856,
        _MEE_2022,
    ),
    GridFactor(
        "cn-power-sector-reporting", 2022, "national", "CN", "power_sector_reporting", 0.5703, _MEE_REPORTING
    ),
)
FACTORS_BY_ID: Final = {f.id: f for f in GRID_FACTORS}


def default_factor() -> GridFactor:
    """The newest national average: what a register without `carbon_factor` uses."""
    national = [f for f in GRID_FACTORS if f.scope == "national" and f.basis == "average"]
    return max(national, key=lambda f: f.year)
