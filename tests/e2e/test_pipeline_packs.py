"""The four industry packs end to end (issue 13): the simulator's pack profiles -> MQTT -> bridge
-> Kafka -> processors -> brain.kpis -> sink -> InfluxDB (one measurement per pack) -> the pack
dashboards' queries, against `brain kpi` on the simulator's own readings. Real servers; a fresh
site, app id and groups (tests/e2e/harness.py, as test_pipeline.py).

The plant: every pack's sample lines (packs/<id>/sample.yaml, their config keys) on one site,
with the e2e shifts. Every final 1m and 1h record's pack fields must equal `brain kpi`'s, in Kafka
and in InfluxDB, and every pack dashboard query must run and return brain kpi's values.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from brain.pack_registry import get
from brain.plant import load_plant
from brain.settings import TOPIC_KPIS, Settings
from dashboards.packs import dashboards as pack_dashboards
from dashboards.queries import all_queries, substitute
from tests.e2e import harness as h
from tests.e2e.test_pipeline import TZ, ms, past_weekday
from tests.packs.merged import PACKS, merged_plant

pytestmark = pytest.mark.stack

WINDOWS = ("1m", "1h")


def _plant(path: Path, site: str) -> Path:
    data = merged_plant(site)
    data["shifts"] = h.plant_data(site)["shifts"]
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def _pack_fields() -> tuple[str, ...]:
    return tuple(get(p).field(k) for p in PACKS for k in get(p).kpis)


def test_the_four_packs_end_to_end(stack: Settings, site_id: str, tmp_path: Path) -> None:
    t0 = time.monotonic()
    plant_path = _plant(tmp_path / "plant.yaml", site_id)
    plant = load_plant(plant_path)
    start = past_weekday(1, dt.time(7, 55))
    end = start + dt.timedelta(minutes=65)
    kafka_from = h.end_offsets(stack, TOPIC_KPIS)
    pipe = h.run_pipeline(plant_path, tmp_path / "run", settings=stack, app_id=h.unique("e2e-packs-"),
                          site=site_id)  # fmt: skip
    fields = _pack_fields()
    try:
        readings = h.simulate(plant_path, tmp_path / "readings.jsonl", settings=stack, seed=5,
                              start=start.isoformat(), duration="65m", sparkplug_share=0.3)  # fmt: skip
        readings += h.publish_trailing(stack, readings, ms(end))
        want = h.expected_records(plant, readings, WINDOWS, until=ms(end))
        lines = {rec["line"]: rec for k, rec in want.items() if k[0] == "line" and k[3] == "1h"}
        for pack in PACKS:  # the simulator made every pack's metrics: a KPI of each is set
            assert any(
                rec.get(f) is not None for rec in lines.values() for f in fields if f.startswith(pack)
            ), pack

        kafka = h.wait_for_finals(
            lambda: h.final_records_from_kafka(stack, site_id, since=kafka_from), want, pipe, timeout_s=120
        )
        h.assert_records_equal(kafka, want, fields=(*h.VALUE_FIELDS, *fields))
        measurements = ("oee", "energy", *PACKS)
        influx = h.wait_for_finals(
            lambda: h.final_records_from_influx(stack, site_id, measurements=measurements), want, pipe,
            timeout_s=60,
        )  # fmt: skip
        h.assert_records_equal(influx, want, influx=True, fields=(*h.VALUE_FIELDS, *fields))
        _check_pack_dashboards(stack, plant, site_id, start, end, want)
    finally:
        pipe.stop_all()
        h.delete_site(stack, site_id)
    print(f"\npacks e2e: {len(readings)} readings, {len(want)} records, {time.monotonic() - t0:.1f} s")


def _check_pack_dashboards(
    stack: Settings, plant: Any, site: str, start: dt.datetime, end: dt.datetime, want: dict[h.Key, dict]
) -> None:
    """Every query of every pack dashboard runs and returns rows for the pack's line (but the alert
    annotation); each value a panel returns for a window brain kpi computed equals brain kpi's."""
    day_start = dt.datetime.combine(start.date(), dt.time(0), tzinfo=TZ)
    line_of = {m.pack: ln.id for _, ln, m in plant.machines() if m.pack}
    errors, empty, diffs, checked = [], [], [], 0
    for d in pack_dashboards(get(p) for p in PACKS):
        pack = d.key.removeprefix("pack-")
        variables = {"site": site, "line": line_of[pack]}
        for name, query in all_queries(d):
            try:
                rows = h.flux(stack, substitute(query, variables=variables, start=day_start, stop=end))
            except Exception as exc:  # reported with the query's name
                errors.append(f"{name}: {str(exc)[:300]}")
                continue
            if not rows:
                empty.append(name)
            for row in rows:
                field, value = row.get("_field"), row.get("_value")
                if not (isinstance(field, str) and field.startswith(f"{pack}_")) or "_time" not in row:
                    continue
                scope = row.get("scope")
                machine = None if scope == "line" else row.get("machine")
                key = (
                    scope,
                    variables["line"],
                    machine,
                    row.get("window"),
                    int(row["_time"].timestamp() * 1000 + 0.5),
                )
                if key not in want:
                    continue
                checked += 1
                exp = want[key].get(field)
                if exp is None or not h._same(value, exp, 1e-6):
                    diffs.append(f"{name}: {h.describe(key)} {field} = {value!r}, brain kpi says {exp!r}")
    assert not errors, "queries InfluxDB rejected:\n" + "\n".join(errors)
    # the alert annotation is empty: no alert service runs here (as in test_pipeline.py)
    assert not [n for n in empty if not n.endswith(": annotation")], (
        f"pack dashboard queries without rows: {empty}"
    )
    assert not diffs, f"{len(diffs)} pack panel values differ from brain kpi:\n" + "\n".join(diffs[:30])
    assert checked > 0, "no pack panel returned a value of a window brain kpi computed"
    print(f"\npack dashboards: {checked} panel values equal brain kpi's")
