"""The `alerts:` schema: precise errors (file, key path, expected, found) and a pack's rule type."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from brain.plant import PlantConfigError, load_plant, parse_plant
from brain.plant.alerts import Param, parse_duration
from processors.alerts import RULES, Observation, Rule, register
from processors.alerts.episode import BREACH, OK
from tests.alerts.helpers import brief, engine, plant, reading, run

ROOT = Path(__file__).resolve().parents[2]
HOT = {"id": "hot", "type": "threshold", "metric": "temp_c", "above": 80}


@pytest.mark.parametrize(
    ("rule", "path", "expected", "found"),
    [
        ({**HOT, "type": "thershold"}, "alerts[0].type", "one of threshold, kpi", "'thershold'"),
        ({**HOT, "id": "a b"}, "alerts[0].id", "a rule id", "'a b'"),
        ({k: v for k, v in HOT.items() if k != "metric"}, "alerts[0].metric", "a required key", "nothing"),
        ({**HOT, "below": 3}, "alerts[0].above", "exactly one of `above:` or `below:`", "'2 given'"),
        ({**HOT, "clear": 90}, "alerts[0].clear", "a number <= above (80)", "90"),
        ({**HOT, "for": "5 minutes"}, "alerts[0].for", "a duration", "'5 minutes'"),
        ({**HOT, "renotify": -1}, "alerts[0].renotify", "a duration", "-1"),
        ({**HOT, "severity": "high"}, "alerts[0].severity", "one of info, warning, critical", "'high'"),
        ({**HOT, "treshold": 1}, "alerts[0].treshold", "one of the keys of a threshold rule", "'treshold'"),
        ({**HOT, "scope": {"line": "l9"}}, "alerts[0].scope.line", "matching a line", "'l9'"),
        ({**HOT, "scope": {"site": "x*"}}, "alerts[0].scope.site", "matching a site", "'x*'"),
        ({**HOT, "scope": "s1/l1/m9"}, "alerts[0].scope.machine", "matching a machine", "'m9'"),
        (
            {**HOT, "scope": {"cell": "a"}},
            "alerts[0].scope.cell",
            "one of the keys site, line, machine",
            "'cell'",
        ),
        ({**HOT, "message": {"fr": "x"}}, "alerts[0].message.fr", "one of the languages zh, en", "'fr'"),
        ({**HOT, "message": {"en": "{valeur}"}}, "alerts[0].message.en", "placeholders among", "'{valeur}'"),
        ({**HOT, "message": {"zh": "{value"}}, "alerts[0].message.zh", "a valid template", "'{value'"),
        ({**HOT, "runbook": "wiki/page"}, "alerts[0].runbook", "an http(s) URL", "'wiki/page'"),
        ({"id": "q", "type": "silence"}, "alerts[0].for", "a duration > 0", "nothing"),
        (
            {"id": "k", "type": "kpi", "field": "oee_pct", "below": 1},
            "alerts[0].field",
            "one of pot_s",
            "'oee_pct'",
        ),
        (
            {"id": "k", "type": "kpi", "field": "oee", "below": 1, "window": "2m"},
            "alerts[0].window",
            "one of 1m",
            "'2m'",
        ),
        (
            {"id": "d", "type": "demand_projection"},
            "alerts[0].contracted_kw",
            "contracted_demand_kw on site 's2'",
            "nothing",
        ),
        (
            {"id": "d", "type": "demand_projection", "scope": "s1", "factor": 0},
            "alerts[0].factor",
            "a number > 0",
            "0 (int)",
        ),
        (
            {"id": "s", "type": "sec_deviation", "baseline": 2, "percent": 5, "clear": 6},
            "alerts[0].clear",
            "a number <= 5",
            "6",
        ),
        ({"id": "x", "type": "deadletter_rate"}, "alerts[0].above", "a required key", "nothing"),
        ({**HOT, "enabled": "yes"}, "alerts[0].enabled", "true or false", "'yes'"),
        ("hot", "alerts[0]", "a mapping", "'hot'"),
    ],
)
def test_errors_name_file_path_expected_found(rule: Any, path: str, expected: str, found: str) -> None:
    with pytest.raises(PlantConfigError) as err:
        plant(rule)
    message = str(err.value)
    assert message.startswith(f"test.yaml: {path}: expected "), message
    assert expected in message and f"found {found}" in message, message


def test_duplicate_ids_and_not_a_list() -> None:
    with pytest.raises(PlantConfigError, match=r"test.yaml: alerts\[1\].id: expected a unique rule id"):
        plant(HOT, HOT)
    with pytest.raises(PlantConfigError, match=r"test.yaml: alerts: expected a list of alert rules"):
        parse_plant({"sites": [{"id": "s", "lines": []}], "alerts": {"a": 1}}, "test.yaml")


def test_defaults_and_disabled_rules() -> None:
    p = plant(HOT, {**HOT, "id": "off", "enabled": False})
    (rule,) = p.alerts
    assert (rule.severity, rule.for_s, rule.clear_for_s, rule.renotify_s, rule.runbook) == (
        "warning",
        0.0,
        0.0,
        None,
        None,
    )
    assert (rule.scope.site, rule.scope.line, rule.scope.machine) == ("*", "*", "*")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (90, 90.0),
        (0.5, 0.5),
        ("90s", 90.0),
        ("15m", 900.0),
        ("1h30m", 5400.0),
        ("2h", 7200.0),
        ("1.5s", 1.5),
        ("", None),
        ("m", None),
        ("10 m", None),
        (True, None),
        (-1, None),
    ],
)
def test_durations(text: Any, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("name", ["plant-alerts.yaml", "suzhou-demo.yaml"])
def test_examples_load(name: str) -> None:
    p = load_plant(str(ROOT / "examples" / name))
    assert p.alerts


def test_example_covers_every_builtin_type() -> None:
    p = load_plant(str(ROOT / "examples" / "plant-alerts.yaml"))
    builtin = {
        "threshold",
        "kpi",
        "state_duration",
        "silence",
        "demand_projection",
        "sec_deviation",
        "deadletter_rate",
    }
    assert builtin <= {r.type for r in p.alerts}


def test_a_pack_registers_a_rule_type() -> None:
    @register
    class VibrationRule(Rule):
        type = "test_vibration"
        params: ClassVar[dict[str, Param]] = {"limit_mm_s": Param("positive", required=True)}
        inputs = frozenset({"reading"})

        def observe(self, ctx, inp, now):
            v = inp.data["value"]
            return Observation(
                BREACH if v > self.p["limit_mm_s"] else OK, inp.data["ts"], v, self.p["limit_mm_s"]
            )

    try:
        with pytest.raises(PlantConfigError, match=r"alerts\[0\].limit_mm_s: expected a required key"):
            plant({"id": "vib", "type": "test_vibration"})
        eng, _ = engine({"id": "vib", "type": "test_vibration", "limit_mm_s": 7.1, "scope": "s1/l1/m1"})
        events = run(
            eng, [reading("vib", 8, 1000), reading("vib", 2, 2000), reading("vib", 9, 3000, machine="m2")]
        )
        assert [(e.state, e.id) for e in events] == [("firing", "vib:s1/l1/m1"), ("resolved", "vib:s1/l1/m1")]
        assert brief(events)[0][0] == "firing"
    finally:
        RULES.pop("test_vibration")
        from brain.plant.alerts import RULE_PARAMS

        RULE_PARAMS.pop("test_vibration")
