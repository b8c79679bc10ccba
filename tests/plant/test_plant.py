"""Plant config: the examples load; every error names file, key path, expected and found."""

from __future__ import annotations

from pathlib import Path

import pytest

from brain.plant import DEFAULT_GRID_FACTOR, JIANGSU_2025, PlantConfigError, load_plant, parse_plant

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def _site(machine: dict | None = None, **line) -> dict:
    return {"sites": [{"id": "s", "lines": [{"id": "l", "machines": [machine or {"id": "m"}], **line}]}]}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_load(path: Path) -> None:
    plant = load_plant(str(path))
    assert plant.machines()


def test_defaults() -> None:
    p = parse_plant(_site())
    assert (
        p.timezone == "Asia/Shanghai"
        and p.shifts == ()
        and p.grid_emission_factor_kg_per_kwh == DEFAULT_GRID_FACTOR
    )
    assert p.tariff is not None and p.tariff.seasons == JIANGSU_2025 and p.tariff.prices is None
    m = p.machines()[0][2]
    assert (m.ideal_cycle_s, m.kind, m.unknown_as, m.power_max_gap_s) == (None, "machine", "loss", 300.0)


def test_suzhou_demo_details() -> None:
    p = load_plant(str(ROOT / "examples" / "suzhou-demo.yaml"))
    assert [s.id for s in p.sites] == ["sip", "wujiang"]
    night = next(s for s in p.shifts if s.name == "night")
    assert night.end < night.start and night.breaks
    vmc = p.machine("sip", "cnc1", "vmc1")
    assert vmc is not None and vmc.counter_modulus == 65536 and vmc.state_codes["4"] == "fault"
    assert p.tariff is not None and p.tariff.prices_are_example
    assert p.alerts and "groups" in p.sparkplug


@pytest.mark.parametrize(
    ("data", "path", "expected", "found"),
    [
        ({"sites": "x"}, "sites", "a list", "'x'"),
        ({}, "sites", "a required key", "nothing"),
        ({**_site(), "timezone": "Mars/Olympus"}, "timezone", "an IANA time zone name", "'Mars/Olympus'"),
        ({**_site(), "tmezone": "UTC"}, "tmezone", "one of the known keys", "'tmezone'"),
        (
            _site({"id": "m", "ideal_cycle_s": "fast"}),
            "sites[0].lines[0].machines[0].ideal_cycle_s",
            "a number",
            "'fast'",
        ),
        (
            _site({"id": "m", "ideal_cycle_s": 0}),
            "sites[0].lines[0].machines[0].ideal_cycle_s",
            "a number > 0",
            "0",
        ),
        (
            _site({"id": "m", "idael_cycle_s": 1}),
            "sites[0].lines[0].machines[0].idael_cycle_s",
            "unknown key",
            "'idael_cycle_s'",
        ),
        (
            _site({"id": "m", "state_codes": {1: "runing"}}),
            "sites[0].lines[0].machines[0].state_codes.1",
            "a state name",
            "'runing'",
        ),
        (
            _site({"id": "m", "unknown_as": "maybe"}),
            "sites[0].lines[0].machines[0].unknown_as",
            "one of loss",
            "'maybe'",
        ),
        (_site({"id": "a b"}), "sites[0].lines[0].machines[0].id", "an id of letters", "'a b'"),
        (
            {**_site(), "shifts": [{"name": "n", "start": "25:00", "end": "06:00"}]},
            "shifts[0].start",
            "a time of day",
            "'25:00'",
        ),
        (
            {
                **_site(),
                "shifts": [{"name": "n", "start": "22:00", "end": "06:00", "days": ["mon", "funday"]}],
            },
            "shifts[0].days[1]",
            "a day name",
            "'funday'",
        ),
        (
            {
                **_site(),
                "shifts": [
                    {
                        "name": "n",
                        "start": "22:00",
                        "end": "06:00",
                        "breaks": [{"start": "07:00", "end": "07:30"}],
                    }
                ],
            },
            "shifts[0].breaks[0]",
            "a break inside the shift",
            "'07:00-07:30'",
        ),
        ({**_site(), "holidays": ["2025-13-01"]}, "holidays[0]", "a date", "'2025-13-01'"),
        (
            {**_site(), "tariff": {"prices": {"peak": 1, "flat": 0.5}}},
            "tariff.prices.valley",
            "a required key",
            "nothing",
        ),
        (
            {
                **_site(),
                "tariff": {
                    "periods": [
                        {
                            "months": list(range(1, 13)),
                            "peak": ["00:00-12:00"],
                            "flat": [],
                            "valley": ["11:00-24:00"],
                        }
                    ]
                },
            },
            "tariff.periods[0]",
            "covering every minute",
            "'11:00 covered 2 times'",
        ),
        (
            {**_site(), "grid_emission_factor_kg_per_kwh": -1},
            "grid_emission_factor_kg_per_kwh",
            ">= 0.0",
            "-1",
        ),
        (
            {"sites": [{"id": "s", "lines": [{"id": "l", "machines": [{"id": "m"}, {"id": "m"}]}]}]},
            "sites[0].lines[0].machines[1]",
            "a unique machine id",
            "'m'",
        ),
        (
            {"sites": [{"id": "s", "contracted_demand_kw": "lots", "lines": []}]},
            "sites[0].contracted_demand_kw",
            "a number",
            "'lots'",
        ),
    ],
)
def test_errors_name_path_expected_found(data, path, expected, found) -> None:
    with pytest.raises(PlantConfigError) as info:
        parse_plant(data, source="plant.yaml")
    msg = str(info.value)
    assert msg.startswith(f"plant.yaml: {path}: expected "), msg
    assert expected in msg and found in msg, msg


def test_malformed_yaml_names_line_and_column(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("sites:\n  - id: a\n    lines: [\n")
    with pytest.raises(PlantConfigError) as info:
        load_plant(str(path))
    assert str(path) in str(info.value) and "line " in str(info.value) and "valid YAML" in str(info.value)


def test_missing_file(tmp_path) -> None:
    with pytest.raises(PlantConfigError, match="expected a readable file"):
        load_plant(str(tmp_path / "nope.yaml"))


def test_wrong_type_in_yaml_file(tmp_path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("timezone: 8\nsites: []\n")
    with pytest.raises(PlantConfigError) as info:
        load_plant(str(path))
    assert (
        str(info.value)
        == f"{path}: timezone: expected an IANA time zone name (e.g. Asia/Shanghai), found 8 (int)"
    )
