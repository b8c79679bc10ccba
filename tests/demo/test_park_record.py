"""The park demo's data and pure parts (brain/demo/park.py, brain/demo/park_record.py): the checked-in
recording is what the generator makes, the register covers it, `brain city` ranks every enterprise
on it, the live factories' configs are the register's live enterprises, and the helpers' rules."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

from brain.city.evaluate import evaluate
from brain.city.exports import validate_for_register
from brain.city.register import load_register
from brain.demo.park import FACTORIES, RECORDED, REGISTER, live_night, ranking_table, split_recorded
from brain.demo.park_record import FIRST_DAY, LAST_DAY, LIVE, ROWS, recorded_exports
from brain.plant import load_plant

TZ = ZoneInfo("Asia/Shanghai")


def _recorded() -> list[dict]:
    return [json.loads(line) for line in RECORDED.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_checked_in_recording_is_the_generators() -> None:
    assert _recorded() == recorded_exports(), (
        "regenerate: python -m brain.demo.park_record > examples/park/exports.jsonl"
    )


def test_the_register_covers_every_recorded_enterprise_with_its_2026_master_data() -> None:
    register = load_register(str(REGISTER))
    records = _recorded()
    assert [validate_for_register(r, register) for r in records] == [None] * len(records)
    assert {r["enterprise"] for r in records} == set(register.by_id) == {row.enterprise for row in ROWS}
    for e in register.enterprises:
        data = e.years[2026]
        assert e.land_mu and data.tax_wan_cny and data.sales_wan_cny and data.value_added_wan_cny, e.id
    recorded_only = [e for e in register.enterprises if e.id not in LIVE]
    assert len(recorded_only) >= 10 and len(LIVE) >= 2
    assert {e.sector for e in recorded_only} == {"smt", "cnc", "weaving", "battery"}  # the four packs
    days = (LAST_DAY - FIRST_DAY).days + 1
    assert len(records) == days * len(ROWS)


def test_brain_city_ranks_every_park_enterprise_on_the_recording() -> None:
    register = load_register(str(REGISTER))
    result = evaluate(register, _recorded(), 2026)
    assert result.rejected == [] and result.counters["evaluated"] == len(register.enterprises)
    ranks = sorted(r["rank"] for r in result.enterprises)
    assert ranks == list(range(1, len(register.enterprises) + 1))  # no tie in the made-up figures
    flagged = [r["enterprise"] for r in result.enterprises if r["dq_flagged"]]
    assert flagged == ["pk-wv-c"]  # its row has 15 % unknown time: ranked, and the ranking says so
    assert {r["class"] for r in result.enterprises} == {"A", "B", "C", "D"}


def test_the_live_factories_are_the_registers_live_enterprises_with_their_recorded_sites() -> None:
    register = load_register(str(REGISTER))
    sites = {r["enterprise"]: r["site"] for r in _recorded()}
    assert tuple(f.enterprise for f in FACTORIES) == LIVE
    for f in FACTORIES:
        plant = load_plant(str(f.config))
        assert plant.export is not None and plant.export.enterprise == f.enterprise in register.by_id
        assert "day" in plant.export.windows and "site" in plant.export.scopes
        assert [s.id for s in plant.sites] == [sites[f.enterprise]]  # history and live day: one site
    history, others = split_recorded(_recorded(), LIVE)
    assert set(history) == set(LIVE) and not set(others) & set(LIVE)


def test_the_live_night_is_the_latest_23h_whose_run_ended() -> None:
    span = dt.timedelta(minutes=75)
    assert live_night(dt.datetime(2026, 12, 4, 9, 0, tzinfo=TZ), span) == dt.datetime(
        2026, 12, 3, 23, 0, tzinfo=TZ
    )
    # the night of the 3rd ends 00:15 on the 4th; it is taken from 00:20 on (five minutes' margin)
    assert live_night(dt.datetime(2026, 12, 4, 0, 19, tzinfo=TZ), span).date() == dt.date(2026, 12, 2)
    assert live_night(dt.datetime(2026, 12, 4, 0, 20, tzinfo=TZ), span).date() == dt.date(2026, 12, 3)


def test_the_ranking_table_is_by_rank_with_class_t_last_and_says_live_and_flagged() -> None:
    rows = [
        {"enterprise": "b", "rank": 2, "class": "B", "score": 0.5, "dq_flagged": True, "days": 3.0},
        {
            "enterprise": "t",
            "rank": None,
            "class": "T",
            "class_reason": "no land area (land_mu) (tax_per_mu)",
        },
        {"enterprise": "a", "rank": 1, "class": "A", "score": 1.25, "kwh": 12345.6, "days": 3.0},
    ]
    lines = ranking_table(rows, live=["a"]).splitlines()
    assert [line.split()[2] for line in lines[1:]] == ["a", "b", "t"]
    assert lines[1].endswith("live") and "12,346" in lines[1] and "1.250" in lines[1]
    assert lines[2].endswith("recorded, ranked on flagged data")
    assert lines[3].split()[:2] == ["-", "T"] and lines[3].endswith("no land area (land_mu) (tax_per_mu)")
