"""Plant configuration: one YAML file, validated at load with precise errors.

`load_plant(path)` reads and validates a file; `parse_plant(data, source)` validates decoded YAML.
Both raise `PlantConfigError` whose message names the file, the key path, what was expected and
what was found. docs/CONFIG.md documents every key.
"""

from brain.plant.export import Export
from brain.plant.model import (
    DAYS,
    DEFAULT_GRID_FACTOR,
    DEFAULT_MINOR_STOP_S,
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
    WorkCalendar,
    state_code_key,
)
from brain.plant.validate import load_plant, parse_plant

__all__ = [
    "DAYS",
    "DEFAULT_GRID_FACTOR",
    "DEFAULT_MINOR_STOP_S",
    "DEFAULT_POWER_MAX_GAP_S",
    "DEFAULT_TIMEZONE",
    "JIANGSU_2025",
    "PERIODS",
    "UNKNOWN_AS",
    "Break",
    "Export",
    "Line",
    "Machine",
    "Plant",
    "PlantConfigError",
    "ReasonCode",
    "Shift",
    "Site",
    "Tariff",
    "TouSeason",
    "WorkCalendar",
    "load_plant",
    "parse_plant",
    "state_code_key",
]
