"""`reason` readings reach the KPI core but change no KPI (issue 14, contract part): the fold
keeps them as telemetry, and the stream and `brain kpi` give the same records with or without them."""

from __future__ import annotations

import random
from typing import Any

from processors.harness import run_processors
from processors.kpi import compute_records
from processors.kpi.calendar import Calendar
from processors.kpi.engine import MachineFold
from processors.options import ProcessorOptions
from tests.processors import data
from tests.processors.test_core_stream import _close


def _with_reasons(readings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """After every non-running state reading, a reason at the same event time (so no watermark
    moves): string codes, numeric ones, and codes no tree knows."""
    rnd = random.Random(7)
    out: list[dict[str, Any]] = []
    for rec in readings:
        out.append(rec)
        if rec["metric"] == "state" and rec["value"] != "running":
            out.append(rec | {"metric": "reason", "value": rnd.choice(["R01", "R20", "17", "NOPE"])})
    return out


def _rows(readings: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(r["site"], r["line"], r["machine"], r["metric"], r["value"], r["ts"]) for r in readings]


def test_fold_keeps_reasons_without_changing_its_state() -> None:
    plant = data.plant()
    machine = plant.sites[0].lines[0].machines[0]
    cal = Calendar.from_plant(plant)
    plain, labelled = MachineFold(machine, cal), MachineFold(machine, cal)
    mine = [r for r in data.readings() if r["machine"] == machine.id and r["line"] == "l1"]
    mine.sort(key=lambda r: r["ts"])
    for rec in mine:
        plain.feed(rec["metric"], rec["value"], rec["ts"])
    n = 0
    for rec in _with_reasons(mine):
        labelled.feed(rec["metric"], rec["value"], rec["ts"])
        n += rec["metric"] == "reason"
    assert n > 3
    assert labelled.to_dict() == plain.to_dict()
    assert (labelled.bad, labelled.late) == (plain.bad, plain.late)


def test_stream_and_batch_records_unchanged_by_reasons() -> None:
    plant = data.plant()
    readings = data.readings()
    labelled = _with_reasons(readings)
    assert len(labelled) > len(readings)
    for window in ("1m", "1h"):
        want = compute_records(plant, _rows(readings), window)
        assert compute_records(plant, _rows(labelled), window) == want
    opts = ProcessorOptions(app_id="t", grace_ms=data.GRACE_MS, emit_interval_ms=0)
    plain = run_processors(plant, readings, opts=opts, chunk=100).latest_final()
    with_r = run_processors(plant, labelled, opts=opts, chunk=100).latest_final()
    # a reason arriving among delayed readings may make the stream replay its pending readings:
    # the power integral is then summed in another order, equal within float rounding (as stream
    # = batch, tests/processors/test_core_stream.py); every other field is exactly equal
    assert plain and sorted(with_r) == sorted(plain)
    differ = {(k, f) for k, rec in plain.items() for f, v in rec.items() if not _close(with_r[k][f], v)}
    assert not differ, sorted(differ)[:8]
