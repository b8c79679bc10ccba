"""Benchmark (marker bench, docs/BENCHMARKS.md "City"): `brain city` on a year of 1,000 enterprises'
daily site exports (365,000 records), target < 30 s. Run with
`.venv/bin/pytest -m bench tests/city/test_bench_city.py -s`.

The set-up (not timed) makes the register and the records from a seeded generator and writes them
as JSON Lines; then, three times each: `evaluate` on the decoded records, and the whole command
(read, decode, validate, evaluate, write) on the file. The median is printed and must meet the target.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import statistics
import time

import pytest
import yaml

from brain.city import evaluate, parse_register
from brain.cli import main

pytestmark = pytest.mark.bench

ENTERPRISES, DAYS, RUNS, TARGET_S = 1_000, 365, 3, 30.0
SECTORS = ("cnc", "smt", "textile", "battery")
TZ = dt.timezone(dt.timedelta(hours=8))


def _register(rng: random.Random) -> dict:
    ents = []
    for i in range(ENTERPRISES):
        land = rng.choice([None] + [rng.uniform(10, 500)] * 49)  # ~2 % without land: class T
        ents.append(
            {
                "id": f"e{i:04d}",
                "sector": SECTORS[i % 4],
                "park": f"p{i % 7}",
                "land_mu": land,
                "years": {
                    2026: {
                        "tax_wan_cny": round(rng.uniform(10, 5000), 1),
                        "sales_wan_cny": round(rng.uniform(500, 90000), 1),
                        "value_added_wan_cny": round(rng.uniform(100, 20000), 1),
                        "employees": rng.randint(10, 3000),
                    }
                },
            }
        )
    scheme = {
        "indicators": [
            {"id": "tax_per_mu", "weight": 0.45, "baseline": 20},
            {"id": "sales_per_mu", "weight": 0.35, "baseline": 500},
            {"id": "tax_per_tce", "weight": 0.20, "baseline": 2},
        ]
    }
    return {"scheme": scheme, "enterprises": ents}


def _records(rng: random.Random) -> list[dict]:
    day0 = int(dt.datetime(2026, 1, 1, tzinfo=TZ).timestamp() * 1000)
    out = []
    for i in range(ENTERPRISES):
        kwh = rng.uniform(1_000, 200_000)
        for d in range(DAYS):
            start = day0 + d * 86_400_000
            out.append(
                {
                    "enterprise": f"e{i:04d}",
                    "scope": "site",
                    "site": f"s{i}",
                    "line": None,
                    "machine": None,
                    "window": "day",
                    "start": start,
                    "end": start + 86_400_000,
                    "final": True,
                    "pot_s": 86400.0,
                    "unknown_s": rng.choice((0.0, 0.0, 0.0, 3600.0)),
                    "pq": 1020.0,
                    "gq": 1000.0,
                    "oee": round(rng.uniform(0.4, 0.9), 4),
                    "energy_kwh": round(kwh * rng.uniform(0.8, 1.2), 3),
                    "co2_kg": 1.0,
                    "cost": 1.0,
                }
            )
    return out


def test_city_year_of_1000_enterprises(tmp_path) -> None:
    rng = random.Random(16)
    reg_data, records = _register(rng), _records(rng)
    register = parse_register(reg_data, "bench")
    assert len(records) == ENTERPRISES * DAYS
    reg_file, exports = tmp_path / "register.yaml", tmp_path / "exports.jsonl"
    reg_file.write_text(yaml.safe_dump(reg_data))
    with exports.open("w") as fh:
        for r in records:
            fh.write(json.dumps(r) + "\n")
    core, command = [], []
    for _ in range(RUNS):
        t = time.perf_counter()
        result = evaluate(register, records, 2026)
        core.append(time.perf_counter() - t)
        assert result.counters["summed"] == ENTERPRISES * DAYS and not result.rejected
        t = time.perf_counter()
        rc = main(["city", "--register", str(reg_file), "--input", str(exports), "--year", "2026",
                   "--output", str(tmp_path / "out.jsonl")])  # fmt: skip
        command.append(time.perf_counter() - t)
        assert rc == 0
    size_mb = exports.stat().st_size / 1e6
    print(
        f"\ncity: {len(records):,} records ({size_mb:.0f} MB), {ENTERPRISES} enterprises;"
        f" evaluate runs {[round(x, 2) for x in core]} s (median {statistics.median(core):.2f});"
        f" brain city runs {[round(x, 2) for x in command]} s (median {statistics.median(command):.2f})"
    )
    assert statistics.median(command) < TARGET_S
