"""The plant config's `export` key: defaults, what may be listed, and errors that name the key."""

from __future__ import annotations

import pytest

from brain.plant import PlantConfigError, parse_plant
from brain.vocabulary import EXPORT_FIELD_ROWS

SITE = {"sites": [{"id": "s", "lines": [{"id": "l", "machines": [{"id": "m"}]}]}]}


def _plant(export: object) -> object:
    return parse_plant({**SITE, "export": export}, source="plant.yaml")


def test_absent_exports_nothing() -> None:
    assert parse_plant(SITE).export is None


def test_defaults() -> None:
    e = _plant({"enterprise": "ent-1"}).export
    assert (e.enterprise, e.scopes, e.windows) == ("ent-1", ("site", "line"), ("day",))
    assert e.fields == tuple(name for name, _ in EXPORT_FIELD_ROWS)
    # the default allowlist covers output, energy, cost, CO2, OEE and data quality
    assert {g for _, g in EXPORT_FIELD_ROWS} == {"output", "energy", "cost", "co2", "oee", "data_quality"}
    assert {"energy_kwh", "co2_kg", "cost", "oee", "pot_s", "unknown_s", "gq"} <= set(e.fields)


def test_listed_values() -> None:
    e = _plant(
        {"enterprise": "ent-1", "scopes": ["machine", "site"], "windows": ["1h", "day"], "fields": ["oee"]}
    ).export
    assert (e.scopes, e.windows, e.fields) == (("machine", "site"), ("1h", "day"), ("oee",))


@pytest.mark.parametrize(
    ("export", "path", "expected", "found"),
    [
        ({}, "export.enterprise", "a required key", "nothing (null)"),
        ({"enterprise": "a b"}, "export.enterprise", "an id of letters", "'a b'"),
        ({"enterprise": "e", "owner": "x"}, "export.owner", "unknown key", "'owner'"),
        ({"enterprise": "e", "scopes": ["plant"]}, "export.scopes[0]", "one of machine, line", "'plant'"),
        ({"enterprise": "e", "scopes": []}, "export.scopes", "at least one of", "a list"),
        ({"enterprise": "e", "windows": ["15m"]}, "export.windows[0]", "one of day, 1h", "'15m'"),
        ({"enterprise": "e", "windows": "day"}, "export.windows", "a list", "'day'"),
        ({"enterprise": "e", "fields": ["oee", "oee"]}, "export.fields[1]", "each name once", "'oee'"),
        ({"enterprise": "e", "fields": ["password"]}, "export.fields[0]", "one of pot_s", "'password'"),
        ({"enterprise": "e", "fields": ["site"]}, "export.fields[0]", "one of pot_s", "'site'"),
        ("ent-1", "export", "a mapping", "'ent-1'"),
    ],
)
def test_errors(export: object, path: str, expected: str, found: str) -> None:
    with pytest.raises(PlantConfigError) as info:
        _plant(export)
    err = info.value
    assert err.source == "plant.yaml" and err.path == path
    assert expected in err.expected and str(err).endswith(f"found {found}")
