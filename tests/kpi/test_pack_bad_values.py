"""A bad pack value that reaches the KPI core anyway (a replay of raw data, a bridge without the
plant config): the fold skips it and counts it in `bad_values` — never a crash, and the records
equal those of the same readings without it. The bridge rule is ingest.validate.pack_value_problem."""

from __future__ import annotations

import json
from pathlib import Path

from brain.plant import load_plant
from processors.kpi.batch import BatchStats, compute_records

ROOT = Path(__file__).resolve().parents[2]
T0 = 1740960000000  # 2025-03-03 08:00 +08:00
H8 = T0 + 8 * 3_600_000


def _rows(pack: str) -> list[tuple]:
    lines = (ROOT / f"packs/{pack}/testdata/worked_example.jsonl").read_text().splitlines()
    rows = map(json.loads, lines)
    return [(r["site"], r["line"], r["machine"], r["metric"], r["value"], r["ts"]) for r in rows]


def _bad(rows: list[tuple], metric: str, values: list) -> list[tuple]:
    """The same readings with the bad values of `metric` right after its first reading."""
    out: list[tuple] = []
    for r in rows:
        out.append(r)
        if r[3] == metric and values:
            out += [(*r[:4], v, r[5] + 1 + i) for i, v in enumerate(values)]
            values = []
    assert not values, f"no {metric} reading"
    return out


def _case(pack: str, metric: str, values: list) -> None:
    plant = load_plant(str(ROOT / f"packs/{pack}/sample.yaml"))
    rows = _rows(pack)
    good_stats, bad_stats = BatchStats(), BatchStats()
    good = compute_records(plant, rows, "all", T0, H8, stats=good_stats)
    n = len(values)
    bad = compute_records(plant, _bad(rows, metric, values), "all", T0, H8, stats=bad_stats)
    assert bad_stats.bad_values - good_stats.bad_values == n
    assert bad == good


def test_smt_counter_string_negative_bool_inf():
    _case("smt", "placements", ["abc", -5, True, float("inf")])


def test_cnc_gauge_out_of_bounds_and_flag_not_0_1():
    _case("cnc", "spindle_load_pct", [501, -1, "60", float("nan")])
    _case("cnc", "spindle_on", [2, "on", None])


def test_battery_sample_out_of_bounds():
    _case("battery", "coat_weight_gsm", [1001, -0.5, "x"])


def test_weaving_gauge_and_counter():
    _case("weaving", "speed_rpm", [3001, [1]])
    _case("weaving", "picks", [-1, {"v": 1}])
