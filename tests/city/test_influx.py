"""The city rows -> InfluxDB points mapping (pure): measurement, tags, time, field types."""

from __future__ import annotations

import json
from pathlib import Path

from brain.city import evaluate, load_register
from brain.city.influx import city_point, city_points, period_start_ms

ROOT = Path(__file__).resolve().parents[2]


def test_period_start_is_the_local_midnight():
    assert period_start_ms("2026", "Asia/Shanghai") == 1_767_196_800_000  # 2026-01-01T00:00+08:00
    assert period_start_ms("2026-03", "Asia/Shanghai") == 1_772_294_400_000  # 2026-03-01T00:00+08:00


def test_enterprise_point():
    row = {
        "kind": "enterprise",
        "enterprise": "e1",
        "name": "A b",
        "period": "2026-03",
        "sector": "cnc",
        "park": "sip",
        "land_mu": 100.0,
        "rank": 2,
        "score": None,
        "class": "B",
        "class_reason": "rank 2 of 5",
        "dq_flagged": False,
        "carbon_factor": "cn-2023-national-average",
        "days": 31,
    }
    p = city_point(row, "Asia/Shanghai")
    assert p.measurement == "city_enterprise" and p.time_ms == 1_772_294_400_000
    tags = {"enterprise": "e1", "sector": "cnc", "park": "sip", "period": "2026-03", "granularity": "month"}
    assert dict(p.tags) == tags
    fields = {
        k: v for k, v in row.items() if k not in ("kind", "period", "enterprise", "sector", "park", "score")
    }
    assert p.fields == {**fields, "rank": 2.0, "days": 31.0}  # the null score is left out
    assert type(p.fields["rank"]) is float  # one type per field, whatever the row held
    assert p.line().startswith(
        "city_enterprise,enterprise=e1,granularity=month,park=sip,period=2026-03,sector=cnc "
    )


def test_every_row_of_the_worked_example_maps_to_one_point():
    reg = load_register(str(ROOT / "examples" / "city" / "register.yaml"))
    records = [
        json.loads(line) for line in (ROOT / "examples" / "city" / "exports.jsonl").read_text().splitlines()
    ]
    rows = evaluate(reg, records, 2026).rows()
    points = city_points(rows, reg.timezone)
    assert len(points) == len(rows) == 7 + 7 + 2
    assert len({(p.series, p.time_ms) for p in points}) == len(points)  # no two rows overwrite each other
    assert {p.measurement for p in points} == {"city_enterprise", "city_sector", "city_park"}
    park = next(p for p in points if p.measurement == "city_park" and dict(p.tags)["park"] == "sip")
    assert park.fields["class_A"] == 1.0 and park.fields["enterprises"] == 3.0
