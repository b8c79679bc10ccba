"""Export-record validation: the reasons the batch command and the city stream both dead-letter with."""

from __future__ import annotations

import pytest

from brain.city import export_key, parse_register, validate_export, validate_for_register

OK = {"enterprise": "e1", "scope": "site", "site": "s1", "window": "day", "start": 1_000, "end": 86_401_000}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"enterprise": None}, "export.missing_field: enterprise"),
        ({"site": "a b"}, "export.bad_id: site"),
        ({"scope": "plant"}, "export.bad_scope"),
        ({"scope": "line"}, "export.missing_field: line"),
        ({"window": "1m"}, "export.bad_window"),
        ({"start": "2026-03-01"}, "export.bad_time"),
        ({"end": 1_000}, "export.bad_time: end 1000 <= start 1000"),
        ({"energy_kwh": -1.0}, "export.bad_number: energy_kwh"),
        ({"oee": float("nan")}, "export.bad_number: oee"),
        ({"gq": True}, "export.bad_number: gq"),
    ],
)
def test_bad_exports_have_a_reason(change, reason):
    got = validate_export({**OK, **change})
    assert got is not None and got.startswith(reason)


def test_good_export_and_key():
    assert validate_export(OK) is None
    assert validate_export({**OK, "scope": "line", "line": "L1", "window": "1h", "extra_field": 1}) is None
    assert validate_export([1]) == "export.not_object: a JSON object expected, found list"
    assert export_key(OK) == ("e1", "site", "s1", "", "day", 1_000)
    assert export_key({**OK, "scope": "line", "line": "L1"}) == ("e1", "line", "s1", "L1", "day", 1_000)


def test_unknown_enterprise():
    reg = parse_register(
        {"scheme": {"indicators": [{"id": "tax_per_kwh", "weight": 1, "baseline": 1}]}, "enterprises": []},
        "r",
    )
    assert validate_for_register(OK, reg) == "city.unknown_enterprise: 'e1' is not in the register"


def test_a_record_must_come_from_its_enterprises_topic():
    reg = parse_register(
        {"scheme": {"indicators": [{"id": "tax_per_kwh", "weight": 1, "baseline": 1}]},
         "enterprises": [{"id": "e1", "sector": "s"}, {"id": "e2", "sector": "s"}]}, "r"
    )  # fmt: skip
    assert validate_for_register(OK, reg, source="e1") is None
    assert validate_for_register(OK, reg) is None
    assert (
        validate_for_register(OK, reg, source="e2")
        == "city.enterprise_mismatch: 'e1' arrived on 'e2''s topic"
    )
