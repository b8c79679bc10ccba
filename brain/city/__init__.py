"""The city side of the federation (shared/ARCHITECTURE.md "v2", docs/CITY.md): the enterprise
register, the grid-factor table, export-record validation and the pure evaluation that both
`brain city` (batch) and the city stream service call.
"""

from brain.city.evaluate import CityResult, evaluate
from brain.city.exports import export_key, validate_export, validate_for_register
from brain.city.factors import GRID_FACTORS, GridFactor, default_factor
from brain.city.register import Register, RegisterError, load_register, parse_register

__all__ = [
    "GRID_FACTORS",
    "CityResult",
    "GridFactor",
    "Register",
    "RegisterError",
    "default_factor",
    "evaluate",
    "export_key",
    "load_register",
    "parse_register",
    "validate_export",
    "validate_for_register",
]
