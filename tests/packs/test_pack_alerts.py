"""`kpi` alert rules on a pack KPI field (`<pack>_<kpi>`): valid when the plant lists the pack,
a clear error otherwise, and the engine evaluates them like a core field. Every shipped pack's
alert presets are valid rules of a plant that lists it."""

from __future__ import annotations

from typing import Any

import pytest

from brain.pack_registry import available
from brain.plant import PlantConfigError, parse_plant
from brain.plant.alerts import parse_alert_rules
from processors.alerts import AlertEngine
from tests.alerts.helpers import MIN, PLANT, T0, brief, run

FIELD = "weaving_warp_stops_per_1e5"
RULE = {"id": "warp", "type": "kpi", "field": FIELD, "window": "1h", "level": "machine", "above": 10}


def _plant(packs: list[str], *rules: dict[str, Any]):
    return parse_plant({**PLANT, "packs": packs, "alerts": list(rules)}, source="test.yaml")


def test_a_pack_field_is_a_rule_field_when_the_plant_lists_the_pack() -> None:
    plant = _plant(["weaving"], RULE)
    assert plant.alerts[0].params["field"] == "weaving_warp_stops_per_1e5"


def test_a_pack_field_without_the_pack_is_a_clear_error() -> None:
    with pytest.raises(PlantConfigError) as err:
        _plant([], RULE)
    msg = str(err.value)
    assert "test.yaml" in msg and "alerts[0].field" in msg and "weaving_warp_stops_per_1e5" in msg
    assert "pack KPI field" in msg
    with pytest.raises(
        PlantConfigError, match="weaving_warp_stops_per_1e5"
    ):  # a misspelt KPI of a listed pack
        _plant(["weaving"], {**RULE, "field": "weaving_warp_stop_per_1e5"})


def test_the_engine_fires_on_a_pack_field() -> None:
    eng = AlertEngine.from_plant(_plant(["weaving"], RULE))

    def rec(value: float, start_min: int) -> tuple:
        start, end = T0 + start_min * MIN, T0 + (start_min + 60) * MIN
        r = {"scope": "machine", "site": "s1", "line": "l1", "machine": "m1", "window": "1h", "final": True,
             "start": start, "end": end, FIELD: value}  # fmt: skip
        return ("kpi", r, r["end"])

    events = run(eng, [rec(4.2, 0), rec(12.5, 60), rec(3.0, 120)])
    assert [e[0] for e in brief(events)] == ["firing", "resolved"]
    assert events[0].value == 12.5


@pytest.mark.parametrize("pack_id", sorted(available()))
def test_every_alert_preset_is_a_valid_rule(pack_id: str) -> None:
    pack = available()[pack_id]
    rules = parse_alert_rules(list(pack.alert_presets), f"{pack_id} presets", packs=(pack,))
    assert len(rules) == len(pack.alert_presets)
