"""The factory export feeds the city core: the demo plant's allowlist output, through
`brain.city.evaluate`, gives the energy, output, OEE and data quality of its site `day` records."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from brain.city.evaluate import evaluate
from brain.city.register import load_register
from brain.plant import load_plant
from processors.export.allowlist import filter_record
from tests.export.test_allowlist import _record

ROOT = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("Asia/Shanghai")


def test_exports_of_the_demo_plant_are_what_the_city_evaluates() -> None:
    export = load_plant(str(ROOT / "examples" / "suzhou-demo.yaml")).export
    register = load_register(str(ROOT / "examples" / "city" / "register.yaml"))
    kpis = []
    for day in range(3):
        start = int(dt.datetime(2026, 3, 2 + day, tzinfo=TZ).timestamp() * 1000)
        for scope in ("site", "line", "machine"):
            rec = _record(
                scope, energy_kwh=100.0 * (day + 1), pot_s=80_000.0, unknown_s=800.0, oee=0.5, gq=10.0
            )
            kpis.append({**rec, "start": start, "end": start + 86_400_000})
        kpis.append({**kpis[-1], "final": False, "energy_kwh": 1e9})  # provisional: never leaves
    exports = [o.record for o in (filter_record(r, export) for r in kpis) if o.record is not None]
    assert len(exports) == 6 and {e["scope"] for e in exports} == {"site", "line"}
    result = evaluate(register, exports, 2026)
    assert result.rejected == []
    e1 = next(r for r in result.enterprises if r["enterprise"] == "e1")
    assert e1["kwh"] == pytest.approx(600.0) and e1["days"] == 3 and e1["gq"] == pytest.approx(30.0)
    assert e1["oee"] == pytest.approx(0.5) and e1["dq_completeness"] == pytest.approx(0.99)
