"""The whole pipeline's numbers (issues 5 and 7): simulator -> MQTT -> bridge -> Kafka ->
processors -> brain.kpis -> sink -> InfluxDB -> dashboard queries, against `brain kpi` on the
simulator's own readings (the --out file). Real servers; a fresh site, client id, app id and group.
The plant has an `export` key, so `brain export` runs as in `brain demo`: brain.export must hold
exactly the allowlist applied to brain kpi's final site/line `1h` records (issue 16).

Time: a fixed past weekday (the bridge takes event times up to 7 days old). Every machine with a
state gets a trailing state reading at the end of the run (tests/e2e/harness.py,
`trailing_readings`), so the processors' watermarks reach the end; then the idle timeout (10 s)
moves them on with the wall clock past end + grace (5 s), and the last windows become final.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from brain.plant import load_plant
from brain.settings import TOPIC_EXPORT, TOPIC_KPIS, Settings
from brain.vocabulary import EXPORT_IDENTITY_FIELDS
from dashboards.build import CORE_DASHBOARDS as DASHBOARDS  # its plant has no packs
from dashboards.queries import all_queries, substitute
from processors.export.allowlist import filter_record
from tests.e2e import harness as h

pytestmark = pytest.mark.stack

TZ = ZoneInfo("Asia/Shanghai")


LOSS_PANELS_WITHOUT_DATA_YET = {
    "line: panel 'Stop reasons on line ${line}, shift ${shift} (Pareto)'",
    "line: panel 'Six big losses on line ${line}, shift ${shift}'",
    "line: variable shift",
}


def past_weekday(days_back: int, at: dt.time) -> dt.datetime:
    """The latest weekday at least `days_back` days before today (plant time), at `at`."""
    day = dt.datetime.now(TZ).date() - dt.timedelta(days=days_back)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return dt.datetime.combine(day, at, tzinfo=TZ)


def ms(t: dt.datetime) -> int:
    return int(t.timestamp() * 1000)


def test_pipeline_equals_brain_kpi(stack: Settings, site_id: str, tmp_path: Path) -> None:
    t0 = time.monotonic()
    plant_path = tmp_path / "plant.yaml"
    data = {**h.plant_data(site_id), "export": {"enterprise": f"ent-{site_id}", "windows": ["day", "1h"]}}
    plant_path.write_text(yaml.safe_dump(data, sort_keys=False))
    plant = load_plant(plant_path)
    start = past_weekday(1, dt.time(7, 55))  # 07:55-09:00: unscheduled, shift a (with a break), shift b
    end = start + dt.timedelta(minutes=65)
    app_id = h.unique("e2e-")
    kafka_from = h.end_offsets(stack, TOPIC_KPIS)
    export_from = h.end_offsets(stack, TOPIC_EXPORT)
    pipe = h.run_pipeline(plant_path, tmp_path / "run", settings=stack, app_id=app_id, site=site_id, raw=True,
                          export=True)  # fmt: skip
    timings: dict[str, float] = {}
    try:
        readings = h.simulate(
            plant_path,
            tmp_path / "readings.jsonl",
            settings=stack,
            seed=11,
            start=start.isoformat(),
            duration="65m",
            form="mixed",
            sparkplug_share=0.3,
        )
        readings += h.publish_trailing(stack, readings, ms(end))
        timings["simulated"] = time.monotonic() - t0
        windows = ("1m", "15m", "1h", "shift")
        want = h.expected_records(plant, readings, windows, until=ms(end))
        assert {k[0] for k in want} == {"machine", "line", "site"}
        assert {k[3] for k in want} == set(windows)

        kafka = h.wait_for_finals(
            lambda: h.final_records_from_kafka(stack, site_id, since=kafka_from), want, pipe, timeout_s=120
        )
        timings["kafka finals"] = time.monotonic() - t0
        h.assert_records_equal(kafka, want)

        influx = h.wait_for_finals(
            lambda: h.final_records_from_influx(stack, site_id), want, pipe, timeout_s=60
        )
        timings["influx finals"] = time.monotonic() - t0
        h.assert_records_equal(influx, want, influx=True)
        _check_export(stack, plant, site_id, want, export_from, pipe)
        timings["export"] = time.monotonic() - t0

        # MTBF/MTTR need a failure event, and one only counts inside scheduled time: pick the
        # line-1 machine with the most failures by brain kpi's own shift records.
        failures: dict[str, float] = {}
        for key, rec in want.items():
            if key[0] == "machine" and key[3] == "shift" and rec["line"] == "l1" and rec.get("failures"):
                failures[rec["machine"]] = failures.get(rec["machine"], 0) + rec["failures"]
        machine = max(failures, key=failures.__getitem__) if failures else "m1"
        _check_dashboards(stack, site_id, machine, start, end, want, mtbf=bool(failures))
        timings["dashboards"] = time.monotonic() - t0
    finally:
        pipe.stop_all()
        h.delete_site(stack, site_id)
    # logs are one line per event: no terminal escape codes (Faust's spinner wrote ESC[?25h once)
    for service in pipe.services.values():
        assert service.log_file is not None and "\x1b" not in service.log_file.read_text(errors="replace"), (
            f"escape codes in {service.log_file}"
        )
    print(f"\ne2e timings (s): { {k: round(v, 1) for k, v in timings.items()} }; {len(readings)} readings")


def _check_export(stack: Settings, plant: Any, site: str, want: dict[h.Key, dict[str, Any]],
                  since: dict[int, int], pipe: Any) -> None:  # fmt: skip
    """brain.export holds the allowlist of brain kpi's final records (site/line `1h` here: the run
    covers no whole day): the same values, only the identity and allowlisted fields, our enterprise."""
    outcomes = {k: filter_record({**rec, "final": True}, plant.export) for k, rec in want.items()}
    expected = {k: o.record for k, o in outcomes.items() if o.record is not None}
    assert expected and {(k[0], k[3]) for k in expected} == {("site", "1h"), ("line", "1h")}
    got = h.wait_for_finals(
        lambda: h.final_records_from_kafka(stack, site, TOPIC_EXPORT, since=since),
        expected,
        pipe,
        timeout_s=60,
    )
    h.assert_records_equal(got, expected, fields=plant.export.fields)
    allowed = {*plant.export.fields, *EXPORT_IDENTITY_FIELDS}
    for key, rec in got.items():
        assert rec["enterprise"] == plant.export.enterprise and key[0] in ("site", "line"), key
        assert key[3] in ("1h", "day") and set(rec) <= allowed, (key, sorted(set(rec) - allowed))
    print(f"\nexport: {len(expected)} records on {TOPIC_EXPORT} equal the allowlist of brain kpi's")


def _check_dashboards(
    stack: Settings,
    site: str,
    machine: str,
    start: dt.datetime,
    end: dt.datetime,
    want: dict[h.Key, dict[str, Any]],
    *,
    mtbf: bool,
) -> None:
    """Every panel/variable/annotation query returns rows (except the alert ones: no alert service
    runs here, and MTBF/MTTR when the machine had no failure); every KPI value a panel returns for a
    window we computed equals brain kpi's."""
    day_start = dt.datetime.combine(start.date(), dt.time(0), tzinfo=TZ)
    variables = {"site": site, "line": "l1", "machine": machine, "shift": "a", "contracted_kw": "2500"}
    empty, errors, checked, diffs = [], [], 0, []
    for d in DASHBOARDS:
        for name, query in all_queries(d):
            try:
                rows = h.flux(stack, substitute(query, variables=variables, start=day_start, stop=end))
            except Exception as exc:  # reported with the query's name
                errors.append(f"{name}: {str(exc)[:300]}")
                continue
            if not rows:
                empty.append(name)
            for row in rows:
                for field, value in _kpi_values(row):
                    key = _row_key(row, site)
                    if key is None or key not in want:
                        continue
                    checked += 1
                    exp = want[key].get(field)
                    if exp is None and field in h.ALWAYS_WRITTEN:
                        exp = 0.0
                    if exp is None or not h._same(value, exp, 1e-6):
                        diffs.append(f"{name}: {h.describe(key)} {field} = {value!r}, brain kpi says {exp!r}")
    assert not errors, "queries InfluxDB rejected:\n" + "\n".join(errors)
    allowed = [n for n in empty if n.startswith("alerts:") or "alert" in n.lower() or "annotation" in n]
    if not mtbf:
        allowed += [n for n in empty if "MTBF" in n or "MTTR" in n]
    # The loss panels (Pareto of reasons, six big losses, the shift variable read from `loss`) get
    # data once the KPI core writes the loss split (issue 14, not landed); tests/dashboards checks
    # their queries on points in the loss schema. Remove this line when the core writes them.
    allowed += [n for n in empty if n in LOSS_PANELS_WITHOUT_DATA_YET]
    assert not [n for n in empty if n not in allowed], f"queries without rows: {empty}"
    assert not diffs, f"{len(diffs)} panel values differ from brain kpi:\n" + "\n".join(diffs[:30])
    assert checked > 0, "no panel returned a KPI value of a computed window"
    print(f"\ndashboards: {checked} panel values equal brain kpi's; empty (allowed): {sorted(allowed)}")


def _row_key(row: dict[str, Any], site: str) -> h.Key | None:
    if row.get("site") not in (None, site) or "window" not in row or "scope" not in row:
        return None
    t = row.get("_time")
    if t is None:
        return None
    return (row["scope"], row.get("line"), row.get("machine"), row["window"], int(t.timestamp() * 1000 + 0.5))


def _kpi_values(row: dict[str, Any]) -> list[tuple[str, Any]]:
    """(field, value) pairs of KPI fields in a Flux row: `_field`/`_value`, or pivoted columns."""
    out = []
    if row.get("_field") in h.VALUE_FIELDS and isinstance(row.get("_value"), int | float):
        out.append((row["_field"], row["_value"]))
    for col, value in row.items():
        if col in h.VALUE_FIELDS and isinstance(value, int | float) and not isinstance(value, bool):
            out.append((col, value))
    return out


def test_simulated_day_stream_equals_brain_kpi(stack: Settings, site_id: str, tmp_path: Path) -> None:
    """Issue 7: the simulator's day yields the same KPIs through the stream as brain kpi on its
    readings (1h, shift and day windows, final records on brain.kpis)."""
    t0 = time.monotonic()
    shifts = [
        {"name": "day", "start": "08:00", "end": "20:00", "breaks": [{"start": "12:00", "end": "12:45"}]},
        {"name": "night", "start": "20:00", "end": "23:30", "breaks": [{"start": "22:00", "end": "22:15"}]},
    ]
    lines = [
        {
            "id": "l1",
            "machines": [
                {"id": "m1", "ideal_cycle_s": 20},
                {"id": "m2", "ideal_cycle_s": 15, "state_codes": h.CODES},
            ],
        },
        {"id": "l2", "machines": [{"id": "meter", "kind": "meter"}]},
    ]
    plant_path = h.write_plant(tmp_path / "plant.yaml", site_id, shifts=shifts, lines=lines)
    plant = load_plant(plant_path)
    start = past_weekday(2, dt.time(0))
    end = start + dt.timedelta(days=1)
    app_id = h.unique("e2e-day-")
    kafka_from = h.end_offsets(stack, TOPIC_KPIS)
    windows = ("1h", "shift", "day")
    pipe = h.run_pipeline(
        plant_path,
        tmp_path / "run",
        settings=stack,
        app_id=app_id,
        site=site_id,
        sink=False,
        process_args=("--windows", ",".join(windows)),
    )
    try:
        readings = h.simulate(
            plant_path,
            tmp_path / "readings.jsonl",
            settings=stack,
            seed=23,
            start=start.isoformat(),
            duration="24h",
            periods="counters=30,energy=30,power=30",
            form="mixed",
            sparkplug_share=0.3,
        )
        readings += h.publish_trailing(stack, readings, ms(end))
        simulated = time.monotonic() - t0
        want = h.expected_records(plant, readings, windows, until=ms(end))
        assert {k[3] for k in want} == set(windows)
        got = h.wait_for_finals(
            lambda: h.final_records_from_kafka(stack, site_id, since=kafka_from), want, pipe, timeout_s=150
        )
        h.assert_records_equal(got, want)
    finally:
        pipe.stop_all()
    print(
        f"\ne2e day: {len(readings)} readings, simulated+published in {simulated:.1f} s, "
        f"all finals equal after {time.monotonic() - t0:.1f} s"
    )
