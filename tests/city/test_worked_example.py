"""The worked example of docs/CITY.md (examples/city/register.yaml, examples/city/exports.jsonl):
every figure below is the one the doc shows, computed by hand there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brain.city import evaluate, load_register

ROOT = Path(__file__).resolve().parents[2]
REGISTER = ROOT / "examples" / "city" / "register.yaml"
EXPORTS = ROOT / "examples" / "city" / "exports.jsonl"


@pytest.fixture(scope="module")
def result():
    records = [json.loads(line) for line in EXPORTS.read_text().splitlines()]
    return evaluate(load_register(str(REGISTER)), records, 2026)


def by(rows, key="enterprise"):
    return {r[key]: r for r in rows}


# enterprise -> (kwh, tce, co2_t, tax_per_mu, sales_per_mu, tax_per_tce, score, rank, class)
EXPECTED = {
    "e1": (10_000_000, 1229.0, 5306.0, 30.0, 600.0, 3000 / 1229, 1.339101, 1, "A"),
    "e2": (4_000_000, 491.6, 2122.4, 20.0, 500.0, 1000 / 491.6, 1.003417, 2, "B"),
    "e3": (4_000_000, 491.6, 2122.4, 20.0, 500.0, 1000 / 491.6, 1.003417, 2, "B"),
    "e4": (8_000_000, 983.2, 4244.8, 10.0, 200.0, 800 / 983.2, 0.446367, 4, "C"),
    "e5": (2_000_000, 245.8, 1061.2, 5.0, 150.0, 200 / 245.8, 0.298867, 5, "D"),
}


@pytest.mark.parametrize("eid", sorted(EXPECTED))
def test_evaluated_enterprises(result, eid):
    r = by(result.enterprises)[eid]
    kwh, tce, co2, tpm, spm, tpt, score, rank, cls = EXPECTED[eid]
    assert r["kwh"] == pytest.approx(kwh, abs=1e-6)
    assert r["tce"] == pytest.approx(tce, abs=1e-9)
    assert r["co2_t"] == pytest.approx(co2, abs=1e-9)
    assert r["carbon_factor"] == "cn-2023-national-average"
    assert r["tax_per_mu"] == pytest.approx(tpm)
    assert r["sales_per_mu"] == pytest.approx(spm)
    assert r["tax_per_tce"] == pytest.approx(tpt)
    assert r["score"] == pytest.approx(score, abs=5e-7)
    assert (r["rank"], r["class"]) == (rank, cls)
    assert r["period"] == "2026"


def test_tie_shares_rank_and_next_rank_skips(result):
    ents = by(result.enterprises)
    assert ents["e2"]["score"] == ents["e3"]["score"]
    assert ents["e2"]["rank"] == ents["e3"]["rank"] == 2
    assert ents["e4"]["rank"] == 4  # competition ranking: no rank 3


def test_class_t_with_reasons_and_no_division_error(result):
    ents = by(result.enterprises)
    assert (ents["e6"]["class"], ents["e6"]["class_reason"]) == ("T", "no land area (land_mu) (tax_per_mu)")
    assert (ents["e7"]["class"], ents["e7"]["class_reason"]) == ("T", "no master data for 2026")
    assert ents["e6"]["score"] is None and ents["e6"]["rank"] is None
    assert ents["e6"]["tax_per_tce"] == pytest.approx(150 / 122.9)  # what can be computed still is


def test_dq_flag_is_said_in_the_ranking(result):
    ents = by(result.enterprises)
    assert ents["e4"]["dq_completeness"] == pytest.approx(0.75)
    assert ents["e4"]["dq_flagged"] is True
    assert "ranked on flagged data (dq_completeness 0.7500 < 0.9)" in ents["e4"]["class_reason"]
    assert [e for e, r in ents.items() if r["dq_flagged"]] == ["e4"]
    assert result.counters["ranked_on_flagged_data"] == 1


def test_corrections_redelivery_and_rejections(result):
    # e5 day 2 was first exported with 500,000 kWh and re-exported with 1,000,000: the last one wins
    assert by(result.enterprises)["e5"]["kwh"] == 2_000_000
    c = result.counters
    assert (c["records"], c["accepted"], c["rejected"], c["duplicates"]) == (19, 18, 1, 2)
    assert (c["summed"], c["not_summed"], c["outside_period"]) == (14, 1, 1)
    assert [reason for _, reason in result.rejected] == [
        "city.unknown_enterprise: 'e99' is not in the register"
    ]


def test_intensities_oee_and_sector_percentiles(result):
    e1 = by(result.enterprises)["e1"]
    assert e1["tce_per_10k_value_added"] == pytest.approx(1229 / 15000)
    assert e1["co2_t_per_10k_value_added"] == pytest.approx(5306 / 15000)
    assert e1["output_value"] == pytest.approx(70000)
    assert e1["oee"] == pytest.approx(0.8)
    textile = {r["enterprise"]: r for r in result.sectors if r["sector"] == "textile"}
    assert textile["e3"]["kwh_per_unit"] == pytest.approx(40.0)
    assert (textile["e3"]["kwh_per_unit_percentile"], textile["e2"]["kwh_per_unit_percentile"]) == (
        50.0,
        100.0,
    )
    assert (textile["e2"]["oee_percentile"], textile["e3"]["oee_percentile"]) == (100.0, 50.0)


def test_park_rollups(result):
    parks = by(result.parks, "park")
    sip, wj = parks["sip"], parks["wujiang"]
    assert (sip["enterprises"], sip["evaluated"], sip["class_A"], sip["class_B"], sip["class_T"]) == (
        3,
        2,
        1,
        1,
        1,
    )
    assert (wj["class_B"], wj["class_C"], wj["class_D"], wj["class_T"], wj["dq_flagged"]) == (1, 1, 1, 1, 1)
    assert sip["kwh"] == pytest.approx(15_000_000)
    assert sip["tax_per_mu"] == pytest.approx(4000 / 150)  # e6 has no land: left out of per mu
    assert wj["tax_per_mu"] == pytest.approx(2000 / 170)
    assert wj["tce_per_10k_value_added"] == pytest.approx((491.6 + 983.2 + 245.8) / 11500)


def test_month_uses_the_months_share_of_annual_money(result):
    records = [json.loads(line) for line in EXPORTS.read_text().splitlines()]
    month = evaluate(load_register(str(REGISTER)), records, 2026, "2026-03")
    e1 = by(month.enterprises)["e1"]
    assert e1["period"] == "2026-03"
    assert e1["tax_per_mu"] == pytest.approx(30.0)  # per mu: annual rate
    assert e1["tax_per_tce"] == pytest.approx(3000 * 31 / 365 / 1229)
    assert month.counters["outside_period"] == 1
