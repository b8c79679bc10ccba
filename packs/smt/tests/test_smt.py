"""The smt pack: the worked example of shared/PACKS.md through `brain kpi`, and the sample config."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from brain.plant import load_plant

ROOM = Path(__file__).resolve().parents[1]
REPO = ROOM.parents[1]
H0, H1 = "2025-03-03T08:00:00+08:00", "2025-03-03T09:00:00+08:00"


def brain_kpi(*args: str) -> list[dict]:
    out = subprocess.run([sys.executable, "-m", "brain.cli", "kpi", *args], cwd=REPO, capture_output=True,
                         text=True, check=True)  # fmt: skip
    return [json.loads(line) for line in out.stdout.splitlines()]


@pytest.fixture(scope="module")
def records() -> dict[tuple[str, str | None], dict]:
    readings = ROOM / "testdata/worked_example.jsonl"
    rows = brain_kpi("--config", str(ROOM / "sample.yaml"), "--input", str(readings), "--window", "all",
                     "--from", H0, "--to", H1)  # fmt: skip
    return {(r["scope"], r["machine"] or r["line"] or r["site"]): r for r in rows}


def test_the_worked_example_mounter(records: dict) -> None:
    """1 h APT, 36,000 placed, 90 pick-up errors -> 36,000 cph, 2,493.8 ppm (shared/PACKS.md)."""
    r = records[("machine", "mounter1")]
    assert r["apt_s"] == 3600.0
    assert r["smt_cph"] == pytest.approx(36_000, rel=1e-12)
    assert r["smt_pickup_error_ppm"] == pytest.approx(90 / 36_090 * 1e6, rel=1e-12)
    assert round(r["smt_pickup_error_ppm"], 1) == 2493.8
    assert r["smt_placement_efficiency"] == pytest.approx(36_000 / 40_000, rel=1e-12)  # rated 40,000 cph
    assert r["smt_fpy"] is None and r["smt_dpmo"] is None  # it inspects no boards: undefined, not 0


def test_the_worked_example_aoi(records: dict) -> None:
    """1,000 boards, 962 first pass, 57 defects, 800 opportunities -> FPY 0.962, DPMO 71.25."""
    r = records[("machine", "aoi")]
    assert r["smt_fpy"] == pytest.approx(0.962, rel=1e-12)
    assert r["smt_dpmo"] == pytest.approx(71.25, rel=1e-12)
    assert r["smt_cph"] is None and r["smt_pickup_error_ppm"] is None


def test_line_and_site_come_from_the_summed_parts(records: dict) -> None:
    line, site = records[("line", "smt1")], records[("site", "sip")]
    for r in (line, site):
        assert r["smt_cph"] == pytest.approx(36_000, rel=1e-12)  # per running hour of the placing machines
        assert r["smt_fpy"] == pytest.approx(0.962, rel=1e-12)
        assert r["smt_dpmo"] == pytest.approx(71.25, rel=1e-12)
        # mounter2 is rated but placed nothing and did not run: capacity counts only run time
        assert r["smt_placement_efficiency"] == pytest.approx(0.9, rel=1e-12)


def test_machines_without_data_and_meters(records: dict) -> None:
    idle = records[("machine", "mounter2")]
    assert all(idle[f] is None for f in ("smt_cph", "smt_fpy", "smt_dpmo", "smt_pickup_error_ppm"))
    assert not any(k.startswith("smt_") for k in records[("machine", "line_meter")])  # not in the pack


def test_the_sample_config_loads() -> None:
    plant = load_plant(str(ROOM / "sample.yaml"))
    machines = {m.id: m for _, _, m in plant.machines()}
    assert plant.packs == ("smt",)
    assert machines["mounter1"].pack_config == {"opportunities_per_board": 800.0, "rated_cph": 40000.0}
    assert machines["line_meter"].pack is None
    assert not math.isnan(machines["aoi"].pack_config["opportunities_per_board"])


@pytest.mark.parametrize("opportunities, dpmo", [(2, 0.5), (100, 0.01)])
def test_a_public_dpmo_example(tmp_path: Path, opportunities: int, dpmo: float) -> None:
    """ "Defects per million opportunities" (https://memim.com/defects-per-million-opportunities.html,
    from the German Wikipedia): one faulty solder joint in 1,000,000 boards is 0.5 DPMO for a part of
    2 joints, 0.01 DPMO for a chip of 100 — the same 1 ppm of boards, a different process quality."""
    from brain.pack_testing import kpi_records, readings_file

    aoi = {"id": "aoi", "smt": {"opportunities_per_board": opportunities}}
    plant = {"timezone": "Asia/Shanghai", "packs": ["smt"],
             "sites": [{"id": "s", "lines": [{"id": "l", "pack": "smt", "machines": [aoi]}]}]}  # fmt: skip
    config = tmp_path / "plant.yaml"
    config.write_text(json.dumps(plant))  # JSON is YAML
    t0 = 1740960000000
    t1 = t0 + 3_600_000
    steps = (
        ("boards_inspected", 0, t0),
        ("defects", 0, t0),
        ("boards_inspected", 1_000_000, t1),
        ("defects", 1, t1),
    )
    rows = [
        {"site": "s", "line": "l", "machine": "aoi", "metric": m, "value": v, "ts": t} for m, v, t in steps
    ]
    r = kpi_records(config, readings_file(tmp_path / "r.jsonl", rows), H0, H1)[("machine", "aoi")]
    assert r["smt_dpmo"] == pytest.approx(dpmo, rel=1e-12)
