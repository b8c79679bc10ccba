"""The cnc pack: the worked example of shared/PACKS.md through `brain kpi`, a public example, the
sample config. Expected line/site figures are the formulas applied to the machines' summed inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from brain.pack_testing import Records, kpi_records, readings_file
from brain.plant import load_plant
from packs.cnc import PACK

ROOM = Path(__file__).resolve().parents[1]
H0, H8 = "2025-03-03T08:00:00+08:00", "2025-03-03T16:00:00+08:00"
T0, MIN, H = 1740960000000, 60_000, 3_600_000


@pytest.fixture(scope="module")
def records() -> Records:
    return kpi_records(ROOM / "sample.yaml", ROOM / "testdata/worked_example.jsonl", H0, H8)


def test_the_worked_example(records: Records) -> None:
    """POT 28,800 s, APT 21,600 s, spindle on 18,000 s, 200 parts, ideal cycle 95 s -> utilisation
    0.625, cutting ratio 0.8333, average cycle 108 s, deviation +0.1368 (shared/PACKS.md)."""
    r = records[("machine", "vmc1")]
    assert (r["pot_s"], r["apt_s"], r["pq"]) == (28_800.0, 21_600.0, 200)
    assert r["cnc_spindle_utilization"] == pytest.approx(0.625, rel=1e-12)
    assert r["cnc_cutting_ratio"] == pytest.approx(18_000 / 21_600, rel=1e-12)
    assert round(r["cnc_cutting_ratio"], 4) == 0.8333
    assert r["cnc_avg_cycle_s"] == pytest.approx(108, rel=1e-12)
    assert r["cnc_cycle_deviation"] == pytest.approx((108 - 95) / 95, rel=1e-12)
    assert round(r["cnc_cycle_deviation"], 4) == 0.1368
    # 60 % for 3 h then 80 % for 2 h, each reading held until the next (5 min apart)
    assert r["cnc_avg_spindle_load_pct"] == pytest.approx((60 * 3 + 80 * 2) / 5, rel=1e-12)
    assert r["cnc_tool_changes"] == pytest.approx(14, rel=1e-12)


def test_line_and_site_come_from_the_summed_parts(records: Records) -> None:
    """vmc2: POT 8 h, APT 4 h, spindle on 3 h, 100 parts at ideal 120 s, no load signal."""
    for key in (("line", "cnc1"), ("site", "wujiang")):
        r = records[key]
        assert r["cnc_spindle_utilization"] == pytest.approx((5 + 3) / (8 + 8), rel=1e-12)
        assert r["cnc_cutting_ratio"] == pytest.approx((5 + 3) / (6 + 4), rel=1e-12)
        assert r["cnc_avg_cycle_s"] == pytest.approx((6 + 4) * 3600 / (200 + 100), rel=1e-12)
        assert r["cnc_cycle_deviation"] == pytest.approx(
            (6 + 4) * 3600 / (95 * 200 + 120 * 100) - 1, rel=1e-12
        )
        assert r["cnc_avg_spindle_load_pct"] == pytest.approx(68, rel=1e-12)  # only vmc1's load time
        assert r["cnc_tool_changes"] == pytest.approx(14 + 6, rel=1e-12)
    assert records[("machine", "vmc2")]["cnc_avg_spindle_load_pct"] is None  # no load signal: undefined


def test_meters_join_no_pack(records: Records) -> None:
    assert not any(k.startswith("cnc_") for k in records[("machine", "cell_meter")])


def test_a_window_without_cnc_data_is_null(tmp_path: Path) -> None:
    rows = [
        {
            "site": "wujiang",
            "line": "cnc1",
            "machine": "vmc1",
            "metric": "state",
            "value": "running",
            "ts": T0,
        }
    ]
    r = kpi_records(ROOM / "sample.yaml", readings_file(tmp_path / "r.jsonl", rows), H0, H8)[
        ("machine", "vmc1")
    ]
    assert r["apt_s"] == 28_800.0
    assert all(r[f"cnc_{k.name}"] is None for k in PACK.kpis)


def test_a_public_example(tmp_path: Path) -> None:
    """The Streamline Group, "How to Measure and Improve Spindle Utilization in CNC Job Shops"
    (https://the-streamlinegroup.com/blog/measure-improve-spindle-utilization.html): an 8 h shift
    less a 30-min lunch and two 15-min breaks is 420 min of available time; a spindle that ran
    168 min of it is at 40 %. Here the 420 min are the scheduled time (the window)."""
    rows = [
        {"site": "wujiang", "line": "cnc1", "machine": "vmc1", "metric": m, "value": v, "ts": T0 + t}
        for m, v, t in (("state", "running", 0), ("spindle_on", True, 0), ("spindle_on", False, 168 * MIN))
    ]
    end = "2025-03-03T15:00:00+08:00"  # 420 min after H0
    r = kpi_records(ROOM / "sample.yaml", readings_file(tmp_path / "r.jsonl", rows), H0, end)[
        ("machine", "vmc1")
    ]
    assert r["pot_s"] == 420 * 60
    assert r["cnc_spindle_utilization"] == pytest.approx(0.40, rel=1e-12)


def test_the_sample_config_loads() -> None:
    plant = load_plant(str(ROOM / "sample.yaml"))
    machines = {m.id: m for _, _, m in plant.machines()}
    assert plant.packs == ("cnc",)
    assert machines["vmc1"].pack == "cnc" and machines["vmc1"].ideal_cycle_s == 95
    assert machines["cell_meter"].pack is None
