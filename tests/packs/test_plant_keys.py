"""Bad pack input in the plant config (brain/plant/packs.py): every error names the file, the key
path, what was expected and what was found."""

from __future__ import annotations

import copy
from typing import Any

import pytest

import brain.plant.packs as plant_packs
from brain.pack import ConfigKey, Kpi, Metric, Pack, ratio
from brain.pack_registry import available
from brain.plant import PlantConfigError, parse_plant
from brain.text import Text
from brain.vocabulary import COUNTER

LOOM = {"id": "loom1", "weaving": {"rated_rpm": 800}}
PLANT: dict[str, Any] = {
    "packs": ["weaving", "battery"],
    "sites": [
        {
            "id": "s",
            "lines": [
                {
                    "id": "l",
                    "pack": "weaving",
                    "weaving": {"picks_per_cm": 30},
                    "machines": [LOOM, {"id": "meter", "kind": "meter"}],
                }
            ],
        }
    ],
}


def _with(path: tuple, value: Any, base: dict[str, Any] = PLANT) -> dict[str, Any]:
    """A copy of the plant with the key at `path` set (or deleted when value is ...)."""
    data = copy.deepcopy(base)
    node = data
    for key in path[:-1]:
        node = node[key]
    if value is ...:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


LINE = ("sites", 0, "lines", 0)
MACHINE = (*LINE, "machines", 0)
L, M = "sites[0].lines[0]", "sites[0].lines[0].machines[0]"  # their key paths in the messages
NO_WEAVING = _with((*LINE, "weaving"), ..., _with((*MACHINE, "weaving"), ...))


def _coater(limits: dict[str, float]) -> dict[str, Any]:
    machines = [{"id": "c", "battery": {"coat_weight": limits}}]
    return _with((*LINE, "pack"), "battery", _with((*LINE, "machines"), machines, NO_WEAVING))


# case -> (config, key path, expected, found): each a substring of the message
CASES = {
    "an unknown pack in packs:": (
        _with(("packs",), ["weaving", "dyeing"]),
        "packs[1]",
        "an installed pack",
        "'dyeing'",
    ),
    "a pack twice": (_with(("packs",), ["weaving", "weaving"]), "packs[1]", "each pack once", "'weaving'"),
    "pack: not listed": (
        _with(("packs",), ["battery"], NO_WEAVING),
        f"{L}.pack",
        "a pack listed in `packs:` (battery)",
        "'weaving'",
    ),
    "keys of an unlisted pack": (
        _with(("packs",), ["battery"]),
        f"{L}.weaving",
        "one of the known keys",
        "'weaving'",
    ),
    "a mistyped key": (
        _with((*MACHINE, "weaving"), {"rated_rmp": 800}),
        f"{M}.weaving.rated_rmp",
        "one of the weaving keys rated_rpm, picks_per_cm",
        "'rated_rmp'",
    ),
    "a machine key at a line": (
        _with((*LINE, "weaving"), {"rated_rpm": 800}),
        f"{L}.weaving.rated_rpm",
        "a weaving key set on a machine",
        "'it on a line'",
    ),
    "the wrong type": (
        _with((*MACHINE, "weaving"), {"rated_rpm": "fast"}),
        f"{M}.weaving.rated_rpm",
        "a number",
        "'fast'",
    ),
    "not positive": (
        _with((*MACHINE, "weaving"), {"rated_rpm": 0}),
        f"{M}.weaving.rated_rpm",
        "a number > 0",
        "0",
    ),
    "keys not a mapping": (
        _with((*MACHINE, "weaving"), 800),
        f"{M}.weaving",
        "a mapping of weaving keys",
        "800",
    ),
    "keys of another pack": (
        _with((*MACHINE, "battery"), {"coat_weight": {"lsl": 1, "usl": 2}}),
        f"{M}.battery",
        "keys of the machine's pack (weaving)",
        "'keys of battery'",
    ),
    "limits with lsl >= usl": (
        _coater({"lsl": 10.5, "usl": 9.5}),
        f"{M}.battery.coat_weight",
        "specification limits with lsl < usl",
        "a mapping",
    ),
    "limits without usl": (_coater({"lsl": 9.5}), f"{M}.battery.coat_weight", "usl", ""),
}


@pytest.mark.parametrize("case", list(CASES))
def test_errors_name_file_path_expected_found(case: str) -> None:
    data, path, expected, found = CASES[case]
    with pytest.raises(PlantConfigError) as err:
        parse_plant(data, source="plant.yaml")
    msg = str(err.value)
    assert msg.startswith("plant.yaml: "), msg
    assert path in msg and expected in msg and found in msg, msg


def test_the_good_config_parses() -> None:
    plant = parse_plant(PLANT, source="plant.yaml")
    machines = {m.id: m for _, _, m in plant.machines()}
    assert machines["loom1"].pack == "weaving"
    assert machines["loom1"].pack_config == {"picks_per_cm": 30.0, "rated_rpm": 800.0}
    assert machines["meter"].pack is None


def test_a_missing_required_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pack whose key is required: a machine of the pack without it (on itself or its line)."""
    strict = Pack(
        id="strict",
        title=Text("Strict", "严格"),
        metrics=(Metric("units", COUNTER),),
        kpis=(Kpi("per_h", "1/h", Text("Per hour", "每小时"), lambda s: ratio(s["units"], s["apt_h"])),),
        config=(ConfigKey("rated_per_h", "positive", ("line", "machine"), required=True, help="rated/h"),),
    )
    monkeypatch.setattr(plant_packs, "available", lambda: {**available(), "strict": strict})
    machines = [{"id": "m1", "strict": {"rated_per_h": 10}}, {"id": "m2"}]
    line: dict[str, Any] = {"id": "l", "pack": "strict", "machines": machines}
    with pytest.raises(PlantConfigError) as err:
        parse_plant({"packs": ["strict"], "sites": [{"id": "s", "lines": [line]}]}, source="plant.yaml")
    msg = str(err.value)
    assert "plant.yaml: sites[0].lines[0].machines[1].strict.rated_per_h" in msg
    assert "a required strict key (rated/h)" in msg and "found" in msg
    line["strict"] = {"rated_per_h": 12}  # a line default satisfies it
    plant = parse_plant({"packs": ["strict"], "sites": [{"id": "s", "lines": [line]}]}, source="plant.yaml")
    assert [m.pack_config for _, _, m in plant.machines()] == [{"rated_per_h": 10.0}, {"rated_per_h": 12.0}]
