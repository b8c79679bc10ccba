"""The simulator's pack profiles (Pack.extras["simulator"], ingest/simulator/packs.py): a simulated
hour of the demo plant through `brain kpi` gives every pack KPI of its line, in a plausible range;
every pack metric is produced; same seed, same bytes; bad rows are errors naming pack and metric."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from brain.cli import main
from brain.pack_registry import available
from brain.pack_sim import Count, Flag, Level
from brain.plant import load_plant
from ingest.simulator.cli import parse_start
from ingest.simulator.packs import check_rows
from ingest.simulator.plan import Simulation

ROOT = Path(__file__).resolve().parents[2]
DEMO = str(ROOT / "examples" / "suzhou-demo.yaml")
START = "2026-03-02T08:00:00+08:00"  # a Monday, inside the morning shift, before its break
LINE_PACKS = {"smt1": "smt", "cnc1": "cnc", "weaving1": "weaving", "cells1": "battery"}
# What a line of the trade plausibly shows in an hour (bounds of plausibility, not expected figures).
PLAUSIBLE = {
    "smt_cph": (15_000, 40_000),
    "smt_placement_efficiency": (0.5, 1.0),
    "smt_pickup_error_ppm": (100, 3_000),
    "smt_fpy": (0.9, 1.0),
    "smt_dpmo": (1, 500),
    "cnc_spindle_utilization": (0.5, 0.95),
    "cnc_cutting_ratio": (0.7, 0.95),
    "cnc_avg_cycle_s": (50, 130),
    "cnc_cycle_deviation": (0.0, 0.3),
    "cnc_avg_spindle_load_pct": (20, 80),
    "cnc_tool_changes": (1, 60),
    "weaving_efficiency": (0.6, 0.95),
    "weaving_warp_stops_per_1e5": (0, 20),
    "weaving_weft_stops_per_1e5": (0, 30),
    "weaving_fabric_m": (10, 60),
    "weaving_kwh_per_100m": (20, 150),
    "weaving_avg_speed_rpm": (300, 600),
    "battery_yield": (0.95, 1.0),
    "battery_grade_a_ratio": (0.85, 0.97),
    "battery_ng_ppm": (1_000, 50_000),
    "battery_kwh_per_cell": (0.02, 0.5),
    "battery_coat_mean": (195, 205),
    "battery_coat_sd": (0.5, 5),
    "battery_coat_cp": (1.0, 2.5),
    "battery_coat_cpk": (1.0, 2.5),
}


def _simulate(out: Path, seed: int = 7) -> None:
    argv = ["simulate", "--config", DEMO, "--no-mqtt", "--speed", "0", "--quiet", "--start", START]
    assert main([*argv, "--duration", "1h", "--seed", str(seed), "--out", str(out)]) == 0


@pytest.fixture(scope="module")
def hour(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("packs") / "hour.jsonl"
    _simulate(out)
    return out


def test_the_plausible_table_covers_every_pack_kpi() -> None:
    fields = {p.field(k) for pid in LINE_PACKS.values() for p in [available()[pid]] for k in p.kpis}
    assert set(PLAUSIBLE) == fields


def test_a_simulated_hour_gives_every_pack_kpi_of_its_line(hour: Path, capsys) -> None:
    capsys.readouterr()
    assert main(["kpi", "--config", DEMO, "--input", str(hour), "--window", "all"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    lines = {r["line"]: r for r in records if r["scope"] == "line"}
    assert set(lines) == set(LINE_PACKS)
    bad = []
    for line, pack_id in LINE_PACKS.items():
        for kpi in available()[pack_id].kpis:
            field = f"{pack_id}_{kpi.name}"
            low, high = PLAUSIBLE[field]
            value = lines[line][field]
            if value is None or not low <= value <= high:
                bad.append(f"{line} {field} = {value!r}, plausible {low}..{high}")
        for other in set(LINE_PACKS.values()) - {pack_id}:  # no line shows another trade's KPIs
            assert all(lines[line].get(f"{other}_{k.name}") is None for k in available()[other].kpis)
    assert not bad, "\n".join(bad)


def test_every_pack_metric_is_produced_on_the_machines_of_its_rows(hour: Path) -> None:
    seen: dict[str, set[str]] = {}
    for line in hour.read_text().splitlines():
        r = json.loads(line)
        seen.setdefault(r["line"], set()).add(r["metric"])
        if r["metric"] == "placements":
            assert r["machine"].startswith("mounter")
        if r["metric"] == "coat_weight_gsm":
            assert r["machine"] == "coater" and 190 < r["value"] < 210
    for line, pack_id in LINE_PACKS.items():
        assert {m.name for m in available()[pack_id].metrics} <= seen[line], line


def test_same_seed_same_bytes_and_the_core_readings_do_not_change(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    _simulate(a)
    _simulate(b)
    assert a.read_bytes() == b.read_bytes()
    plant = load_plant(DEMO)
    bare = replace(plant, sites=tuple(
        replace(s, lines=tuple(
            replace(ln, machines=tuple(replace(m, pack=None, pack_config={}) for m in ln.machines))
            for ln in s.lines))
        for s in plant.sites))  # fmt: skip
    start = parse_start(START)
    packs = {m.name for pid in LINE_PACKS.values() for m in available()[pid].metrics}
    readings = Simulation(plant, seed=7, start=start, end=start + 600_000).readings()
    with_packs = [r for r in readings if r["metric"] not in packs]
    without = list(Simulation(bare, seed=7, start=start, end=start + 600_000).readings())
    assert with_packs == without  # the pack draws come from a generator of their own


def test_bad_rows_name_the_pack_and_the_metric() -> None:
    smt = available()["smt"]
    cases = [
        (Flag("placements"), "'placements': expected a flag metric of the pack, found a counter"),
        (Count("nozzles"), "'nozzles': expected a counter metric of the pack, found not a metric"),
        (Count("defects", of="boards_inspected"), "expected to follow units, good, scrap or an earlier"),
        (Level("placements", when="x"), "expected a gauge metric"),
        ("placements", "expected a row of brain.pack_sim, found str"),
    ]
    for row, message in cases:
        bad = replace(smt, extras={"simulator": (row,)})
        with pytest.raises(ValueError, match="pack 'smt': extras\\['simulator'\\]\\[0\\]") as exc:
            check_rows(bad)
        assert message in str(exc.value)


@pytest.mark.parametrize(("form", "share"), [("metric", 0.0), ("batch", 0.0), ("mixed", 1.0)])
def test_pack_metrics_go_out_in_every_form_and_parse_back(form: str, share: float) -> None:
    """JSON and Sparkplug B (the DBIRTH defines the pack's metrics with their datatypes: a flag a
    Boolean, a text a String, a counter a UInt64) parse into exactly the simulated readings."""
    from collections import Counter as Tally

    from ingest import SparkplugState, parse_message
    from ingest.config import IngestConfig
    from ingest.plantconfig import ingest_config
    from ingest.simulator import Encoder

    plant = load_plant(DEMO)
    start = parse_start(START)
    sim = Simulation(plant, seed=3, start=start, end=start + 600_000)
    enc = Encoder(sim.keys, sim.machines, form=form, sparkplug_share=share, rng=sim.rng("forms"), start=start)
    cfg, spb = ingest_config(plant, IngestConfig(backfill=True)), SparkplugState()
    expected = Tally(tuple(r.values()) for r in sim.readings())
    got: Tally = Tally()
    for m in enc.node_births() + [m for s in sim.samples() for m in enc.encode(s)]:
        out = parse_message(m.topic, m.payload, start + 3_600_000, cfg, spb)
        assert not out.dead_letters and not out.actions, (m.topic, out.dead_letters)
        got.update((r.site, r.line, r.machine, r.metric, r.value, r.ts) for r in out.readings)
    assert got == expected
    assert {"spindle_on", "program", "coat_weight_gsm"} <= {k[3] for k in got}
