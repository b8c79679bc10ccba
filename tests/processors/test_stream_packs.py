"""Stream = batch with packs: the four packs' sample plants merged into one, with dense readings of
every pack metric (tests/packs/merged.py) through the production workers — in memory (`run_processors`, with
restarts and crashes) and through `brain process` on the real Kafka — give final records whose
pack fields (and every other field) equal `brain kpi`'s (processors.kpi.compute_records)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from brain.plant import Plant, parse_plant
from brain.settings import Settings
from processors.harness import run_processors
from processors.kpi import compute_records
from processors.options import ProcessorOptions
from tests.packs.merged import PACKS, T0, dense_readings, merged_plant
from tests.processors import data, kafka_io
from tests.processors.test_core_stream import assert_same

GRACE_MS = 30_000
START = T0  # 08:00 +08:00
MID_HOUR = T0 - 4 * 60_000  # 07:56: pack data that starts inside the 07:00 hour (docs/PACKS.md)
WINDOWS = ("1m", "1h")
SITE = "packs"


def _trailer(start: int) -> int:
    return start + 65 * 60_000  # one heartbeat per machine: the windows up to start+1h become final


def _world(start: int = START) -> tuple[dict[str, Any], Plant, list[dict[str, Any]]]:
    """The merged plant; dense readings of every machine (core and pack metrics, from the pack
    rows) for 12 minutes from `start`, then one heartbeat per machine at its trailer."""
    config = merged_plant(SITE)
    plant = parse_plant(config)
    readings = dense_readings(plant, SITE, start=start, minutes=12)
    readings += [{"site": s.id, "line": ln.id, "machine": m.id, "metric": "heartbeat", "value": 0,
                  "ts": _trailer(start)} for s, ln, m in plant.machines()]  # fmt: skip
    return config, plant, readings


def _batch(plant: Plant, readings: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    rows = [(r["site"], r["line"], r["machine"], r["metric"], r["value"], r["ts"]) for r in readings]
    out = {w: compute_records(plant, rows, w) for w in WINDOWS}
    fields = {f for recs in out.values() for r in recs for f, v in r.items() if v is not None}
    assert {p for p in PACKS if any(f.startswith(f"{p}_") for f in fields)} == set(PACKS)
    return out


def _check(got: dict, batch: dict[str, list[dict[str, Any]]], start: int = START) -> None:
    horizon = _trailer(start) - GRACE_MS
    for w in WINDOWS:
        assert_same({k: r for k, r in got.items() if r["end"] <= horizon}, batch[w], w, horizon)


@pytest.mark.parametrize(("chunk", "restart_every", "crash_every", "start"),
                         [(50, None, None, START), (17, 5, 7, START), (50, None, None, MID_HOUR),
                          (17, 5, 7, MID_HOUR)])  # fmt: skip
def test_in_memory_stream_equals_batch_with_packs(
    chunk: int, restart_every: int | None, crash_every: int | None, start: int
):
    _, plant, readings = _world(start)
    opts = ProcessorOptions(app_id="t", grace_ms=GRACE_MS)
    run = run_processors(plant, readings, opts=opts, chunk=chunk, restart_every=restart_every,
                         crash_every=crash_every)  # fmt: skip
    _check(run.latest_final(), _batch(plant, readings), start)


@pytest.mark.stack
def test_brain_process_on_kafka_equals_brain_kpi_with_packs(stack: Settings, tmp_path: Path) -> None:
    config, plant, readings = _world()
    batch = _batch(plant, readings)
    want = {data.key(r) for recs in batch.values() for r in recs if r["end"] <= _trailer(START) - GRACE_MS}
    run = kafka_io.Run(stack, tmp_path)
    run.produce(readings)
    worker = run.worker(run.write_plant(config), "--grace-s", str(GRACE_MS / 1000))
    tail = kafka_io.Tail(stack, run.kpis)

    def alive() -> None:
        if worker.poll() is not None:
            pytest.fail(f"worker exited with {worker.returncode}:\n{run.log_text()[-4000:]}")

    def finals(records: list) -> dict:
        return {data.key(r): r for r in records if r["final"]}

    try:
        tail.poll_until(lambda rs: want <= set(finals(rs)), 90, alive)
        tail.poll()
    finally:
        kafka_io.stop(worker)
        tail.close()
    got = finals([v for _, v in tail.records])
    assert not want - set(got), f"{len(want - set(got))} final records missing"
    _check({k: r for k, r in got.items() if k in want}, batch)
