"""The evaluation's rules on small registers: class T reasons, energy bases, class boundaries."""

from __future__ import annotations

import pytest

from brain.city import evaluate, parse_register

DAY = 86_400_000
JAN1 = 1_767_196_800_000  # 2026-01-01T00:00+08:00


def register(enterprises, indicators=None, **scheme):
    inds = indicators or [{"id": "tax_per_mu", "weight": 1.0, "baseline": 10}]
    return parse_register({"scheme": {"indicators": inds, **scheme}, "enterprises": enterprises}, "r.yaml")


def ent(eid, land=10.0, **year):
    return {"id": eid, "sector": "s", "land_mu": land, "years": {2026: {"tax_wan_cny": 10.0, **year}}}


def export(eid, kwh=1000.0, day=0, **more):
    start = JAN1 + day * DAY
    return {"enterprise": eid, "scope": "site", "site": "s1", "window": "day", "start": start,
            "end": start + DAY, "energy_kwh": kwh, "pot_s": 86400.0, "unknown_s": 0.0, **more}  # fmt: skip


def rows(reg, exports, year=2026, month=None):
    return {r["enterprise"]: r for r in evaluate(reg, exports, year, month).enterprises}


def test_class_t_reasons_never_divide_by_zero():
    inds = [
        {"id": "value_added_per_mu", "weight": 0.5, "baseline": 1},
        {"id": "tax_per_tce", "weight": 0.5, "baseline": 1},
    ]
    ents = [
        ent("va", value_added_wan_cny=None),
        ent("ok", value_added_wan_cny=5.0),
        ent("nokwh", value_added_wan_cny=5.0),
        ent("zero_land", land=0.0, value_added_wan_cny=5.0),
    ]
    reg = register(ents, inds)
    got = rows(reg, [export("va"), export("ok"), export("zero_land")])
    assert got["va"]["class_reason"] == "no value_added_wan_cny for 2026 (value_added_per_mu)"
    assert got["nokwh"]["class_reason"] == "no metered energy in 2026 (tax_per_tce)"
    assert got["zero_land"]["class_reason"] == "no land area (land_mu) (value_added_per_mu)"
    # the one evaluated enterprise: rank 1 of 1, share 1.0, past C 0.95 -> D (share = rank / n)
    assert {e: r["class"] for e, r in got.items()} == {"va": "T", "ok": "D", "nokwh": "T", "zero_land": "T"}
    assert got["nokwh"]["dq_flagged"] is True and got["nokwh"]["dq_completeness"] is None


def test_equal_value_basis_uses_the_years_kgce():
    reg = register([ent("a")], energy_basis="equal_value", kgce_per_kwh={2026: 0.3})
    r = rows(reg, [export("a", kwh=1000.0)])["a"]
    assert r["tce"] == pytest.approx(0.3) and r["energy_basis"] == "equal_value"


@pytest.mark.parametrize(
    ("taxes", "classes"),
    [
        ([50, 40, 30, 20, 10], ["A", "B", "B", "C", "D"]),  # shares .2 .4 .6 .8 1.0
        (
            [50, 50, 30, 20, 10],
            ["A", "A", "B", "C", "D"],
        ),  # a tie takes the best rank of its group: both 1 (A)
    ],
)
def test_classes_by_cumulative_rank_share(taxes, classes):
    reg = register([ent(f"e{i}", tax_wan_cny=float(t)) for i, t in enumerate(taxes)])
    got = rows(reg, [export(f"e{i}") for i in range(len(taxes))])
    assert [got[f"e{i}"]["class"] for i in range(len(taxes))] == classes
