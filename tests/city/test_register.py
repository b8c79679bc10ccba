"""Register validation: every bad key names the file, the key, what was expected and what was found."""

from __future__ import annotations

import copy

import pytest

from brain.city import RegisterError, default_factor, load_register, parse_register
from brain.city.factors import FACTORS_BY_ID, GRID_FACTORS, KGCE_PER_KWH_EQUIVALENT

GOOD = {
    "scheme": {"indicators": [{"id": "tax_per_mu", "weight": 1.0, "baseline": 10}]},
    "enterprises": [{"id": "e1", "sector": "cnc", "land_mu": 10, "years": {2026: {"tax_wan_cny": 5}}}],
}


def bad(mutate) -> RegisterError:
    data = copy.deepcopy(GOOD)
    mutate(data)
    with pytest.raises(RegisterError) as info:
        parse_register(data, "reg.yaml")
    return info.value


def test_defaults():
    reg = parse_register(GOOD, "reg.yaml")
    assert reg.carbon_factor == default_factor() == FACTORS_BY_ID["cn-2023-national-average"]
    assert reg.carbon_factor.kg_per_kwh == 0.5306
    assert reg.scheme.classes == (("A", 0.20), ("B", 0.60), ("C", 0.95)) and reg.scheme.rest_class == "D"
    assert reg.scheme.kgce_per_kwh_for(2026, "reg.yaml") == KGCE_PER_KWH_EQUIVALENT == 0.1229
    assert reg.timezone == "Asia/Shanghai" and reg.enterprises[0].park == "default"


@pytest.mark.parametrize(
    ("mutate", "path", "expected"),
    [
        (lambda d: d.update(colour="red"), "colour", "unknown key"),
        (
            lambda d: d["scheme"]["indicators"][0].update(id="tax_per_m2"),
            "scheme.indicators[0].id",
            "indicator id",
        ),
        (lambda d: d["scheme"]["indicators"][0].update(weight=0), "scheme.indicators[0].weight", "> 0"),
        (lambda d: d["scheme"]["indicators"][0].pop("baseline"), "scheme.indicators[0].baseline", "required"),
        (
            lambda d: d["scheme"].update(classes={"A": 0.5, "B": 0.4}),
            "scheme.classes.B",
            "above the previous",
        ),
        (lambda d: d["scheme"].update(classes={"A": 0.5, "C": 0.9}), "scheme.classes.C", "class B"),
        (lambda d: d["scheme"].update(energy_basis="coal"), "scheme.energy_basis", "equivalent"),
        (lambda d: d["scheme"].update(energy_basis="equal_value"), "scheme.kgce_per_kwh", "equal_value"),
        (lambda d: d["scheme"].update(dq_threshold=1.5), "scheme.dq_threshold", "between 0 and 1"),
        (lambda d: d.update(carbon_factor="cn-2099"), "carbon_factor", "factor id"),
        (lambda d: d["enterprises"][0].update(land_mu=-1), "enterprises[0].land_mu", ">= 0"),
        (lambda d: d["enterprises"][0].update(size=3), "enterprises[0].size", "unknown key"),
        (lambda d: d["enterprises"][0]["years"].update({"2026x": {}}), "enterprises[0].years.2026x", "year"),
        (
            lambda d: d["enterprises"][0]["years"][2026].update(tax_wan_cny="lots"),
            "years.2026.tax_wan_cny",
            "number",
        ),
        (lambda d: d["enterprises"].append(dict(d["enterprises"][0])), "enterprises[1]", "unique"),
        (lambda d: d.update(timezone="Mars/Olympus"), "timezone", "IANA"),
    ],
)
def test_bad_register_names_file_key_expected_found(mutate, path, expected):
    err = bad(mutate)
    assert err.source == "reg.yaml"
    assert err.path.endswith(path)
    assert expected in err.expected
    assert str(err).startswith(f"reg.yaml: {err.path}: expected ")


def test_equal_value_needs_the_year_at_evaluation():
    data = copy.deepcopy(GOOD)
    data["scheme"].update(energy_basis="equal_value", kgce_per_kwh={2025: 0.301})
    reg = parse_register(data, "reg.yaml")
    assert reg.scheme.kgce_per_kwh_for(2025, "reg.yaml") == 0.301
    with pytest.raises(RegisterError, match=r"scheme.kgce_per_kwh.2026"):
        reg.scheme.kgce_per_kwh_for(2026, "reg.yaml")


def test_load_register_reports_yaml_position(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("scheme: [1, 2\nenterprises: []\n")
    with pytest.raises(RegisterError, match=r"r.yaml: line \d+, column \d+: expected valid YAML"):
        load_register(str(p))
    with pytest.raises(RegisterError, match="a readable file"):
        load_register(str(tmp_path / "missing.yaml"))


def test_factor_table_rows_are_unique_and_sourced():
    assert len(FACTORS_BY_ID) == len(GRID_FACTORS)
    assert all(f.source and 0 < f.kg_per_kwh < 1.5 for f in GRID_FACTORS)
    assert FACTORS_BY_ID["cn-2023-east"].kg_per_kwh == 0.5500
