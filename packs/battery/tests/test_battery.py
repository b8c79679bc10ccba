"""The battery pack: the worked example of shared/PACKS.md through `brain kpi` (for any split of the
samples across windows), a textbook Cpk example, undefined cases, the sample config. Expected
pooled figures come from Python's `statistics` on the samples themselves, not from the sums."""

from __future__ import annotations

import json
import random
import statistics
from pathlib import Path

import pytest

from brain.pack_testing import Records, brain_kpi, kpi_records, readings_file
from brain.plant import load_plant
from packs.battery import PACK

ROOM = Path(__file__).resolve().parents[1]
H0, H2 = "2025-03-03T08:00:00+08:00", "2025-03-03T10:00:00+08:00"
T0, MIN = 1740960000000, 60_000
EXAMPLE = (10.0, 10.2, 9.9, 10.1, 10.0, 9.8, 10.1, 10.0, 10.2, 9.9)  # shared/PACKS.md, coater1
COATER2 = (10.3, 10.1, 10.4, 10.2, 10.3)
LSL, USL = 9.5, 10.5


def _cp_cpk(xs: tuple[float, ...] | list[float], lsl: float, usl: float) -> tuple[float, float]:
    mu, sd = statistics.mean(xs), statistics.stdev(xs)
    return (usl - lsl) / (6 * sd), min(usl - mu, mu - lsl) / (3 * sd)


@pytest.fixture(scope="module")
def records() -> Records:
    return kpi_records(ROOM / "sample.yaml", ROOM / "testdata/worked_example.jsonl", H0, H2)


def test_the_worked_example(records: Records) -> None:
    """Ten samples, LSL 9.5, USL 10.5 -> mean 10.02, σ 0.131656, Cp 1.26592, Cpk 1.21529."""
    r = records[("machine", "coater1")]
    assert r["battery_coat_mean"] == pytest.approx(10.02, rel=1e-12)
    assert r["battery_coat_sd"] == pytest.approx(statistics.stdev(EXAMPLE), rel=1e-9)
    assert round(r["battery_coat_sd"], 6) == 0.131656
    assert round(r["battery_coat_cp"], 5) == 1.26592
    assert round(r["battery_coat_cpk"], 5) == 1.21529
    cp, cpk = _cp_cpk(EXAMPLE, LSL, USL)
    assert r["battery_coat_cp"] == pytest.approx(cp, rel=1e-9)
    assert r["battery_coat_cpk"] == pytest.approx(cpk, rel=1e-9)
    assert r["battery_yield"] is None and r["battery_kwh_per_cell"] is None  # a coater grades no cells


def test_grading(records: Records) -> None:
    """1,000 cells graded: 900 A, 80 B, 20 NG, 50 kWh."""
    for key in (("machine", "grader1"), ("line", "cell1"), ("site", "changshu")):
        r = records[key]
        assert r["battery_yield"] == pytest.approx((900 + 80) / 1000, rel=1e-12)
        assert r["battery_grade_a_ratio"] == pytest.approx(900 / 1000, rel=1e-12)
        assert r["battery_ng_ppm"] == pytest.approx(20 / 1000 * 1e6, rel=1e-12)
        assert r["battery_kwh_per_cell"] == pytest.approx(50 / 1000, rel=1e-12)
    assert records[("machine", "grader1")]["battery_coat_mean"] is None


def test_line_and_site_pool_the_samples(records: Records) -> None:
    pooled = EXAMPLE + COATER2
    cp, cpk = _cp_cpk(pooled, LSL, USL)
    for key in (("line", "cell1"), ("site", "changshu")):
        r = records[key]
        assert r["battery_coat_mean"] == pytest.approx(statistics.mean(pooled), rel=1e-12)
        assert r["battery_coat_sd"] == pytest.approx(statistics.stdev(pooled), rel=1e-9)
        assert r["battery_coat_cp"] == pytest.approx(cp, rel=1e-9)
        assert r["battery_coat_cpk"] == pytest.approx(cpk, rel=1e-9)
    assert not any(k.startswith("battery_") for k in records[("machine", "line_meter")])


def test_hour_windows_each_from_their_own_samples() -> None:
    readings = str(ROOM / "testdata/worked_example.jsonl")
    rows = brain_kpi(
        "--config", str(ROOM / "sample.yaml"), "--input", readings, "--window", "1h", "--from", H0, "--to", H2
    )
    c1 = sorted((r for r in rows if r["machine"] == "coater1"), key=lambda r: r["start"])
    assert len(c1) == 2
    for r, xs in zip(c1, (EXAMPLE[:5], EXAMPLE[5:]), strict=True):  # one sample every 12 min
        assert r["battery_coat_mean"] == pytest.approx(statistics.mean(xs), rel=1e-12)
        assert r["battery_coat_sd"] == pytest.approx(statistics.stdev(xs), rel=1e-9)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_split_of_the_samples_gives_the_same_figures(tmp_path: Path, seed: int) -> None:
    """The samples at random minutes of three hours, one machine or spread over both coaters:
    the 3 h window is the same to 1e-9 relative (the sums are additive)."""
    rng = random.Random(seed)
    rows = [
        {
            "site": "changshu",
            "line": "cell1",
            "machine": rng.choice(("coater1", "coater2")),
            "metric": "coat_weight_gsm",
            "value": x,
            "ts": T0 + rng.randrange(180) * MIN,
        }
        for x in EXAMPLE
    ]
    rows.sort(key=lambda r: r["ts"])
    end = "2025-03-03T11:00:00+08:00"
    r = kpi_records(ROOM / "sample.yaml", readings_file(tmp_path / "r.jsonl", rows), H0, end)[
        ("line", "cell1")
    ]
    cp, cpk = _cp_cpk(EXAMPLE, LSL, USL)
    assert r["battery_coat_mean"] == pytest.approx(10.02, rel=1e-9)
    assert r["battery_coat_sd"] == pytest.approx(statistics.stdev(EXAMPLE), rel=1e-9)
    assert r["battery_coat_cp"] == pytest.approx(cp, rel=1e-9)
    assert r["battery_coat_cpk"] == pytest.approx(cpk, rel=1e-9)


def _one_coater(tmp_path: Path, samples: tuple[float, ...], limits: dict | None) -> dict:
    machine: dict = {"id": "c"} if limits is None else {"id": "c", "battery": {"coat_weight": limits}}
    line = {"id": "l", "pack": "battery", "machines": [machine]}
    config = tmp_path / "plant.yaml"
    plant = {"timezone": "Asia/Shanghai", "packs": ["battery"], "sites": [{"id": "s", "lines": [line]}]}
    config.write_text(json.dumps(plant))  # JSON is YAML
    rows = [
        {
            "site": "s",
            "line": "l",
            "machine": "c",
            "metric": "coat_weight_gsm",
            "value": x,
            "ts": T0 + k * MIN,
        }
        for k, x in enumerate(samples)
    ]
    return kpi_records(config, readings_file(tmp_path / "r.jsonl", rows), H0, H2)[("machine", "c")]


def test_a_textbook_cpk_example(tmp_path: Path) -> None:
    """Heizer & Render, Operations Management, "Computing the Cpk value at Cocoa Fizz": a 16.0 ± 0.2 oz
    fill (LSL 15.8, USL 16.2) whose process has shifted to μ 15.9 with σ 0.1 -> Cpk 0.33 (and Cp
    0.4 / 0.6 = 0.67). Samples 15.8, 15.9, 16.0 have exactly that mean and sample σ."""
    r = _one_coater(tmp_path, (15.8, 15.9, 16.0), {"lsl": 15.8, "usl": 16.2})
    assert r["battery_coat_mean"] == pytest.approx(15.9, rel=1e-12)
    assert r["battery_coat_sd"] == pytest.approx(0.1, rel=1e-9)
    assert r["battery_coat_cpk"] == pytest.approx(0.1 / 0.3, rel=1e-9)
    assert round(r["battery_coat_cpk"], 2) == 0.33
    assert r["battery_coat_cp"] == pytest.approx(0.4 / 0.6, rel=1e-9)


def test_undefined_statistics_are_null(tmp_path: Path) -> None:
    one = _one_coater(tmp_path, (10.0,), {"lsl": 9.5, "usl": 10.5})
    assert one["battery_coat_mean"] == 10.0
    assert (
        one["battery_coat_sd"] is None and one["battery_coat_cp"] is None and one["battery_coat_cpk"] is None
    )
    flat = _one_coater(tmp_path, (10.1, 10.1, 10.1, 10.1), {"lsl": 9.5, "usl": 10.5})  # σ = 0
    assert flat["battery_coat_sd"] == 0.0
    assert flat["battery_coat_cp"] is None and flat["battery_coat_cpk"] is None
    no_spec = _one_coater(tmp_path, EXAMPLE, None)
    assert no_spec["battery_coat_sd"] == pytest.approx(statistics.stdev(EXAMPLE), rel=1e-9)
    assert no_spec["battery_coat_cp"] is None and no_spec["battery_coat_cpk"] is None
    empty = _one_coater(tmp_path, (), {"lsl": 9.5, "usl": 10.5})
    assert all(empty[PACK.field(k)] is None for k in PACK.kpis)


def test_the_sample_config_loads() -> None:
    plant = load_plant(str(ROOM / "sample.yaml"))
    machines = {m.id: m for _, _, m in plant.machines()}
    assert plant.packs == ("battery",)
    assert machines["coater1"].pack_config == {"coat_weight": {"lsl": LSL, "usl": USL}}
    assert machines["line_meter"].pack is None
