"""The weaving pack: the worked example of shared/PACKS.md through `brain kpi`, two textbook
examples, the alert presets, the sample config. Line/site figures are the formulas applied to the
looms' summed inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brain.pack_testing import Records, kpi_records, readings_file
from brain.plant import load_plant
from brain.plant.alerts import parse_alert_rules
from packs.weaving import PACK

ROOM = Path(__file__).resolve().parents[1]
H0, H8 = "2025-03-03T08:00:00+08:00", "2025-03-03T16:00:00+08:00"
T0, H = 1740960000000, 3_600_000
INCH_CM = 2.54
YARD_M = 0.9144


@pytest.fixture(scope="module")
def records() -> Records:
    return kpi_records(ROOM / "sample.yaml", ROOM / "testdata/worked_example.jsonl", H0, H8)


def test_the_worked_example(records: Records) -> None:
    """Rated 800 rpm, PBT 420 min, 285,600 picks, 12 warp and 30 weft stops, 30 picks/cm, 190.4 kWh
    -> efficiency 0.85, 4.20 and 10.50 stops per 10^5 picks, 95.2 m, 200 kWh per 100 m."""
    r = records[("machine", "loom1")]
    assert r["pbt_s"] == 420 * 60
    assert r["weaving_efficiency"] == pytest.approx(0.85, rel=1e-12)
    assert r["weaving_warp_stops_per_1e5"] == pytest.approx(12 / 285_600 * 1e5, rel=1e-12)
    assert round(r["weaving_warp_stops_per_1e5"], 2) == 4.20
    assert r["weaving_weft_stops_per_1e5"] == pytest.approx(30 / 285_600 * 1e5, rel=1e-12)
    assert round(r["weaving_weft_stops_per_1e5"], 2) == 10.50
    assert r["weaving_fabric_m"] == pytest.approx(95.2, rel=1e-12)
    assert r["weaving_kwh_per_100m"] == pytest.approx(200, rel=1e-12)
    assert r["weaving_avg_speed_rpm"] == pytest.approx(800, rel=1e-12)


def test_line_and_site_come_from_the_summed_parts(records: Records) -> None:
    """loom2: rated 600 rpm, PBT 480 min, 230,400 picks at 20 picks/cm, 6 + 10 stops, 100 kWh."""
    fabric_m = 285_600 / 30 / 100 + 230_400 / 20 / 100
    for key in (("line", "shed1"), ("site", "shengze")):
        r = records[key]
        assert r["weaving_efficiency"] == pytest.approx(
            (285_600 + 230_400) / (800 * 420 + 600 * 480), rel=1e-12
        )
        assert r["weaving_warp_stops_per_1e5"] == pytest.approx(
            (12 + 6) / (285_600 + 230_400) * 1e5, rel=1e-12
        )
        assert r["weaving_weft_stops_per_1e5"] == pytest.approx(
            (30 + 10) / (285_600 + 230_400) * 1e5, rel=1e-12
        )
        assert r["weaving_fabric_m"] == pytest.approx(fabric_m, rel=1e-12)
        assert r["weaving_kwh_per_100m"] == pytest.approx((190.4 + 100) / fabric_m * 100, rel=1e-12)
        assert r["weaving_avg_speed_rpm"] == pytest.approx(800, rel=1e-12)  # only loom1 sends its speed
    assert records[("machine", "loom2")]["weaving_avg_speed_rpm"] is None
    assert not any(k.startswith("weaving_") for k in records[("machine", "shed_meter")])


def _one_loom(tmp_path: Path, rated_rpm: float, picks_per_cm: float, rows: list[tuple[str, object, int]],
              end_ms: int) -> dict:  # fmt: skip
    machine = {"id": "loom", "weaving": {"rated_rpm": rated_rpm, "picks_per_cm": picks_per_cm}}
    line = {"id": "l", "pack": "weaving", "machines": [machine]}
    config = tmp_path / "plant.yaml"
    config.write_text(
        json.dumps(
            {"timezone": "Asia/Shanghai", "packs": ["weaving"], "sites": [{"id": "s", "lines": [line]}]}
        )
    )
    readings = [
        {"site": "s", "line": "l", "machine": "loom", "metric": m, "value": v, "ts": T0 + t}
        for m, v, t in rows
    ]
    path = readings_file(tmp_path / "r.jsonl", readings)
    return kpi_records(config, path, str(T0), str(T0 + end_ms))[("machine", "loom")]


def test_running_efficiency_textbook_example(tmp_path: Path) -> None:
    """M. Islam, "Calculation of Loom and Weaving Shed Efficiency in Weaving", example 01
    (http://textilecalculation.blogspot.com/2015/03/calculation-of-loom-and-weaving-shed.html): a loom
    of 216 picks/min wove 254.5 yd at 60 picks/inch in a 54 h week, stopped 1 h for cleaning ->
    running efficiency 549,720 / 686,880 = 80 %. The cleaning stop is planned (not in PBT)."""
    picks = 254.5 * 36 * 60  # yards x inches per yard x picks per inch
    rows = [
        ("state", "running", 0),
        ("picks", 0, 0),
        ("picks", picks, 53 * H),
        ("state", "planned_stop", 53 * H),
    ]
    r = _one_loom(tmp_path, 216, 60 / INCH_CM, rows, 54 * H)
    assert r["pbt_s"] == 53 * 3600
    assert r["weaving_efficiency"] == pytest.approx(549_720 / 686_880, rel=1e-12)
    assert r["weaving_efficiency"] == pytest.approx(0.80, abs=5e-4)
    assert r["weaving_fabric_m"] == pytest.approx(254.5 * YARD_M, rel=1e-12)


def test_stops_textbook_example(tmp_path: Path) -> None:
    """M. Islam, "Calculation of Weaving Loom Efficiency"
    (http://textilecalculation.blogspot.com/2015/03/calculation-of-weaving-loom-efficiency.html): a
    180 picks/min loom with 20 warp and 15 weft breaks per 100,000 picks runs 100,000/180 min and
    stands 22.22 min for repairs -> efficiency 96.16 %."""
    pbt_ms = round((100_000 / 180 + 22.22) * 60_000)
    end = pbt_ms - 1
    rows = [("state", "running", 0), ("picks", 0, 0), ("warp_stops", 0, 0), ("weft_stops", 0, 0),
            ("picks", 100_000, end), ("warp_stops", 20, end), ("weft_stops", 15, end)]  # fmt: skip
    r = _one_loom(tmp_path, 180, 20, rows, pbt_ms)
    assert r["weaving_warp_stops_per_1e5"] == pytest.approx(20, rel=1e-12)
    assert r["weaving_weft_stops_per_1e5"] == pytest.approx(15, rel=1e-12)
    assert r["weaving_efficiency"] == pytest.approx(100_000 / (180 * pbt_ms / 60_000), rel=1e-12)
    assert r["weaving_efficiency"] == pytest.approx(0.9616, abs=1e-4)


def test_a_loom_without_picks_is_null(tmp_path: Path) -> None:
    r = _one_loom(tmp_path, 800, 30, [("state", "running", 0)], H)
    assert r["pbt_s"] == 3600
    assert all(r[PACK.field(k)] is None for k in PACK.kpis)


def test_the_alert_presets_are_valid_rules() -> None:
    rules = parse_alert_rules(list(PACK.alert_presets), "weaving presets", packs=(PACK,))
    assert {r.params["field"] for r in rules} <= {PACK.field(k) for k in PACK.kpis}


def test_the_sample_config_loads() -> None:
    plant = load_plant(str(ROOM / "sample.yaml"))
    machines = {m.id: m for _, _, m in plant.machines()}
    assert plant.packs == ("weaving",)
    assert machines["loom1"].pack_config == {"picks_per_cm": 30.0, "rated_rpm": 800.0}
    assert machines["loom2"].pack_config == {"picks_per_cm": 20.0, "rated_rpm": 600.0}  # machine wins
    assert machines["shed_meter"].pack is None
