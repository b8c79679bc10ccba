"""The processors on the real Kafka: equality with `brain kpi`, restart after SIGKILL, late data.

Each test has its own topics, Faust app id and data dir (topics on the shared broker may hold
anything). Event time is a fixed morning in the past: watermarks are event-time driven, and a
trailing heartbeat per machine moves them past the end of the last hour plus grace.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from brain.settings import Settings
from processors.kpi import compute_records
from tests.processors import data, kafka_io
from tests.processors.test_core_stream import assert_same

pytestmark = pytest.mark.stack

PLANT = {
    "timezone": "Asia/Shanghai",
    "sites": [
        {
            "id": "s1",
            "lines": [
                {
                    "id": "l1",
                    "machines": [{"id": "m1", "ideal_cycle_s": 2.0}, {"id": "m2", "ideal_cycle_s": 3.0}],
                },
                {"id": "l2", "machines": [{"id": "m3", "ideal_cycle_s": 1.5}, {"id": "e1", "kind": "meter"}]},
            ],
        }
    ],
    "shifts": [
        {"name": "day", "start": "08:00", "end": "20:00", "breaks": [{"start": "08:04", "end": "08:05"}]}
    ],
    "tariff": {"prices": {"peak": 1.0, "flat": 0.6, "valley": 0.3}},
}


def _expected(readings: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    plant = data.plant()
    rows = [(r["site"], r["line"], r["machine"], r["metric"], r["value"], r["ts"]) for r in readings]
    return {w: compute_records(plant, rows, w) for w in ("1m", "1h")}


def _final_keys(expected: dict[str, list[dict[str, Any]]]) -> set[tuple[Any, ...]]:
    horizon = data.final_horizon()
    return {data.key(r) for recs in expected.values() for r in recs if r["end"] <= horizon}


def _latest_final(records: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    out = {}
    for r in records:
        if r["final"]:
            out[data.key(r)] = r
    return out


def _wait_finals(
    tail: kafka_io.Tail, want: set, procs: list, run: kafka_io.Run, timeout_s: float = 45
) -> dict:
    def alive() -> None:
        for p in procs:
            if p.poll() is not None:
                pytest.fail(f"worker exited with {p.returncode}:\n{run.log_text()[-4000:]}")

    recs = tail.poll_until(lambda rs: want <= set(_latest_final(rs)), timeout_s, alive)
    time.sleep(1.0)  # anything still in flight (a correction would come now)
    tail.poll()
    got = _latest_final([v for _, v in tail.records])
    missing = want - set(got)
    assert not missing, (
        f"{len(missing)} final records missing, e.g. {sorted(missing)[:3]}; got {len(recs)} records"
    )
    return got


def test_stream_final_records_equal_brain_kpi(stack: Settings, tmp_path: Path) -> None:
    run = kafka_io.Run(stack, tmp_path)
    readings = data.readings()
    expected = _expected(readings)
    want = _final_keys(expected)
    run.produce(readings)
    worker = run.worker(run.write_plant(PLANT))
    tail = kafka_io.Tail(stack, run.kpis)
    try:
        got = _wait_finals(tail, want, [worker], run)
    finally:
        kafka_io.stop(worker)
        tail.close()
    for window in ("1m", "1h"):
        assert_same(
            {k: r for k, r in got.items() if k in want}, expected[window], window, data.final_horizon()
        )
    scopes = {k[0] for k in want}
    assert scopes == {"machine", "line", "site"}
    assert not [
        k
        for k in got
        if k not in want and k[4] in ("1m", "1h") and k[5] + 60_000 <= data.final_horizon() - 3_600_000
    ]
