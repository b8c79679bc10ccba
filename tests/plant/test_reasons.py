"""The reason tree, `minor_stop_s` and `reason_codes` of the plant config (brain/plant/reasons.py):
the good shapes, the overrides per level, and every bad shape named by file, key, expected, found."""

from __future__ import annotations

import pytest

from brain.plant import DEFAULT_MINOR_STOP_S, PlantConfigError, ReasonCode, parse_plant
from brain.vocabulary import REASON_CATEGORIES
from ingest.plantconfig import ingest_config

C = "reasons.M01.category"
M01 = {"en": "Spindle fault", "zh": "主轴故障", "category": "breakdown"}
R20 = {"en": "Changeover", "zh": "换型", "category": "setup"}


def _plant(top: dict | None = None, line: dict | None = None, machine: dict | None = None) -> dict:
    ln = {"id": "l", "machines": [{"id": "m", **(machine or {})}, {"id": "n"}], **(line or {})}
    return {**(top or {}), "sites": [{"id": "s", "lines": [ln, {"id": "l2", "machines": [{"id": "k"}]}]}]}


def test_the_issue_shape_at_the_top() -> None:
    plant = parse_plant(_plant({"reasons": {"M01": M01}, "minor_stop_s": 300}))
    want = {"M01": ReasonCode("M01", "Spindle fault", "主轴故障", "breakdown")}
    assert plant.reasons == want and plant.minor_stop_s == 300.0
    assert all(m.reasons == want for _, _, m in plant.machines())


def test_defaults_without_reasons() -> None:
    plant = parse_plant(_plant())
    assert plant.reasons == {} and plant.minor_stop_s == DEFAULT_MINOR_STOP_S == 300.0
    assert all((m.reasons, m.reason_codes) == ({}, {}) for _, _, m in plant.machines())


def test_line_and_machine_override_per_code() -> None:
    line_m01 = {**M01, "en": "Spindle (line)", "category": "setup"}
    mine = {"en": "Waiting for coil", "zh": "待料", "category": "starved"}
    plant = parse_plant(
        _plant(
            {"reasons": {"M01": M01, "R20": R20}},
            {"reasons": {"M01": line_m01}},
            {"reasons": {31: mine}, "reason_codes": {3: "M01", "7": "R20", 31: 31}},
        )
    )
    by_id = {m.id: m for _, _, m in plant.machines()}
    assert by_id["m"].reasons == {
        "M01": ReasonCode("M01", "Spindle (line)", "主轴故障", "setup"),
        "R20": ReasonCode("R20", "Changeover", "换型", "setup"),
        "31": ReasonCode("31", "Waiting for coil", "待料", "starved"),
    }
    assert by_id["m"].reason_codes == {"3": "M01", "7": "R20", "31": "31"}
    assert set(by_id["n"].reasons) == {"M01", "R20"} and by_id["n"].reasons["M01"].en == "Spindle (line)"
    assert by_id["k"].reasons["M01"].en == "Spindle fault"  # another line: the plant's tree
    cfg = ingest_config(plant)
    assert cfg.reason_codes == {"s/l/m": {"3": "M01", "7": "R20", "31": "31"}}


def test_reason_codes_from_line_defaults() -> None:
    plant = parse_plant(_plant({"reasons": {"M01": M01}}, {"defaults": {"reason_codes": {1: "M01"}}}))
    assert [m.reason_codes for _, _, m in plant.machines()] == [{"1": "M01"}, {"1": "M01"}, {}]


@pytest.mark.parametrize("category", REASON_CATEGORIES)
def test_every_reason_category_is_accepted(category) -> None:
    plant = parse_plant(_plant({"reasons": {"X": {**M01, "category": category}}}))
    assert plant.reasons["X"].category == category


BAD = [
    ({"reasons": ["M01"]}, "reasons", "a mapping", "a list"),
    ({"reasons": {"M01": "Spindle"}}, "reasons.M01", "a mapping", "'Spindle'"),
    ({"reasons": {"M01": {"en": "a", "zh": "b"}}}, "reasons.M01.category", "a required key", "null"),
    ({"reasons": {"M01": {**M01, "colour": "red"}}}, "reasons.M01.colour", "unknown key", "'colour'"),
    ({"reasons": {"M01": {**M01, "category": "planned"}}}, C, "a loss category", "'planned'"),
    ({"reasons": {"M01": {**M01, "category": "minor_stop"}}}, C, "breakdown", "'minor_stop'"),
    ({"reasons": {"M01": {**M01, "category": "unknown"}}}, C, "a loss category", "'unknown'"),
    ({"reasons": {"M01": {**M01, "zh": ""}}}, "reasons.M01.zh", "a non-empty name", "''"),
    ({"reasons": {"M01": {**M01, "en": 5}}}, "reasons.M01.en", "a non-empty name", "5 (int)"),
    ({"reasons": {"x" * 65: M01}}, "reasons." + "x" * 65, "1..64 characters", "xxx"),
    ({"reasons": {" ": M01}}, "reasons. ", "not blank", "' '"),
    ({"reasons": {3: M01, "3": R20}}, "reasons.3", "a unique reason code", "'3'"),
    ({"minor_stop_s": 0}, "minor_stop_s", "a number > 0", "0 (int)"),
    ({"minor_stop_s": -5}, "minor_stop_s", "a number > 0", "-5"),
    ({"minor_stop_s": "5m"}, "minor_stop_s", "a number", "'5m'"),
]  # fmt: skip


@pytest.mark.parametrize(("top", "path", "expected", "found"), BAD)
def test_bad_top_level_shapes(top, path, expected, found) -> None:
    _fails(_plant(top), path, expected, found)


M = "sites[0].lines[0].machines[0]"


@pytest.mark.parametrize(
    ("line", "machine", "path", "expected", "found"),
    [
        ({"reasons": {"M01": {**M01, "category": "fault"}}}, {}, "sites[0].lines[0].reasons.M01.category",
         "a loss category", "'fault'"),
        ({}, {"reasons": 3}, f"{M}.reasons", "a mapping", "3 (int)"),
        ({}, {"reason_codes": {3: "M01"}}, f"{M}.reason_codes.3", "none: the plant, line and machine have no",
         "'M01'"),
        ({}, {"reasons": {"M01": M01}, "reason_codes": {3: "R99"}}, f"{M}.reason_codes.3",
         "a code of the machine's reason tree (M01)", "'R99'"),
        ({}, {"reasons": {"M01": M01}, "reason_codes": {"A": "M01"}}, f"{M}.reason_codes.A",
         "a numeric code", "'A'"),
        ({}, {"reasons": {"M01": M01}, "reason_codes": {-1: "M01"}}, f"{M}.reason_codes.-1",
         "a numeric code", "-1 (int)"),
        ({}, {"reasons": {"M01": M01}, "reason_codes": {3: "M01", "3": "M01"}}, f"{M}.reason_codes.3",
         "a unique numeric code", "'3'"),
        ({}, {"reasons": {"M01": M01}, "reason_codes": {3: ""}}, f"{M}.reason_codes.3", "not blank", "''"),
        ({}, {"reasons": {"M01": M01}, "reason_codes": ["M01"]}, f"{M}.reason_codes", "a mapping", "a list"),
        ({"defaults": {"reasons": {"M01": M01}}}, {}, "sites[0].lines[0].defaults.reasons", "unknown key",
         "'reasons'"),
    ],
)  # fmt: skip
def test_bad_line_and_machine_shapes(line, machine, path, expected, found) -> None:
    _fails(_plant(None, line, machine), path, expected, found)


def _fails(data: dict, path: str, expected: str, found: str) -> None:
    with pytest.raises(PlantConfigError) as info:
        parse_plant(data, source="plant.yaml")
    msg = str(info.value)
    assert msg.startswith(f"plant.yaml: {path}: expected "), msg
    assert expected in msg and found in msg, msg
