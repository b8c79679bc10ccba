"""The processors on the real Kafka: equality with `brain kpi`, restart after SIGKILL, late data.

Each test has its own topics, Faust app id and data dir (topics on the shared broker may hold
anything). Event time is a fixed morning in the past: watermarks are event-time driven, and a
trailing heartbeat per machine moves them past the end of the last hour plus grace.
"""

from __future__ import annotations

import os
import re
import signal
import threading
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


def _assert_equal_to_brain_kpi(got: dict, want: set, expected: dict[str, list[dict[str, Any]]]) -> None:
    """Every expected final record (1m and 1h windows) equals `brain kpi`'s."""
    for window in ("1m", "1h"):
        assert_same(
            {k: r for k, r in got.items() if k in want}, expected[window], window, data.final_horizon()
        )


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
    _assert_equal_to_brain_kpi(got, want, expected)
    scopes = {k[0] for k in want}
    assert scopes == {"machine", "line", "site"}
    assert not [
        k
        for k in got
        if k not in want and k[4] in ("1m", "1h") and k[5] + 60_000 <= data.final_horizon() - 3_600_000
    ]


def _log_count(run: kafka_io.Run, name: str) -> int:
    """The largest `name=N` in the workers' stats lines (counters are per worker process)."""
    found = re.findall(rf"agent=machines .*?\b{name}=(\d+)", run.log_text())
    return max((int(n) for n in found), default=0)


def test_restart_after_sigkill_loses_nothing_and_counts_nothing_twice(
    stack: Settings, tmp_path: Path
) -> None:
    run = kafka_io.Run(stack, tmp_path)
    readings = data.readings()
    expected = _expected(readings)
    want = _final_keys(expected)
    config = run.write_plant(PLANT)
    extra = ("--session-timeout-s", "6", "--idle-timeout-s", "600", "--pull-max", "200")
    first, rest = readings[:1200], readings[1200:]
    run.produce(first)
    a = run.worker(config, *extra, name="a")
    tail = kafka_io.Tail(stack, run.kpis)
    try:
        deadline = time.monotonic() + 30
        while _log_count(run, "readings") < len(first) and time.monotonic() < deadline:
            assert a.poll() is None, run.log_text()[-3000:]
            time.sleep(0.2)
        assert _log_count(run, "readings") >= len(first), run.log_text()[-3000:]
        time.sleep(1.5)  # let it commit offsets once
        # more readings arrive while the worker runs; kill it in the middle of them
        producer = threading.Thread(target=_produce_slowly, args=(run, rest[:1500]))
        producer.start()
        time.sleep(0.6)
        a.send_signal(signal.SIGKILL)
        a.wait()
        producer.join()
        run.produce(rest[1500:])
        b = run.worker(config, *extra, name="b")
        try:
            got = _wait_finals(tail, want, [b], run, timeout_s=50)
        finally:
            kafka_io.stop(b)
    finally:
        if a.poll() is None:
            a.kill()
        tail.close()
    _assert_equal_to_brain_kpi(got, want, expected)


def _produce_slowly(run: kafka_io.Run, readings: list[dict[str, Any]]) -> None:
    for i in range(0, len(readings), 100):
        run.produce(readings[i : i + 100])
        time.sleep(0.05)


def test_late_beyond_grace_goes_to_the_late_topic_and_is_counted(stack: Settings, tmp_path: Path) -> None:
    run = kafka_io.Run(stack, tmp_path)
    t0 = data.START
    base = {"site": "s1", "line": "l1", "machine": "m1"}
    readings = [{**base, "metric": "state", "value": "running", "ts": t0}]
    readings += [{**base, "metric": "count_total", "value": i, "ts": t0 + i * 5_000} for i in range(60)]
    within = {**base, "metric": "count_scrap", "value": 0, "ts": t0 + 300_000 - 20_000}  # 20 s late: accepted
    too_late = {**base, "metric": "state", "value": "fault", "ts": t0 + 60_000}  # 4 min late: refused
    readings += [within, too_late, {**base, "metric": "heartbeat", "value": 0, "ts": t0 + 400_000}]
    run.produce(readings)
    worker = run.worker(run.write_plant(PLANT), name="late")
    tail = kafka_io.Tail(stack, run.late)
    try:

        def alive() -> None:
            assert worker.poll() is None, run.log_text()[-3000:]

        tail.poll_until(lambda rs: len(rs) >= 1, 30, alive)
        deadline = time.monotonic() + 10
        while _log_count(run, "late") < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        tail.poll()
    finally:
        kafka_io.stop(worker)
        tail.close()
    assert [v for _, v in tail.records] == [too_late]
    assert tail.records[0][0] == b"s1/l1/m1"
    assert _log_count(run, "late") == 1
    assert re.search(
        rf"event=process\.late machine=s1/l1/m1 event_ts={too_late['ts']} .*count=1", run.log_text()
    )


BROKEN_HANDLER = """
from processors import machines

def _broken(self, partition, topic, records, now_ms):
    raise RuntimeError("a bug in the handler")

machines.MachineWorker.apply = _broken
"""


def test_a_failing_handler_stops_the_worker_instead_of_running_on_without_its_batch(
    stack: Settings, tmp_path: Path
) -> None:
    run = kafka_io.Run(stack, tmp_path)
    run.produce(data.readings()[:50])
    worker = run.worker(run.write_plant(PLANT), name="broken", prelude=BROKEN_HANDLER)
    try:
        code = worker.wait(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
    log_text = run.log_text()
    assert code == 70, log_text[-3000:]
    assert re.search(r"event=process\.handler_failed .*agent=machines .*a bug in the handler", log_text)


def _pids(run: kafka_io.Run, event: str) -> list[int]:
    return [int(p) for p in re.findall(rf"event=process\.{event} .*?\bpid=(\d+)", run.log_text())]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_workers_n_restarts_a_worker_that_dies_and_loses_nothing(stack: Settings, tmp_path: Path) -> None:
    """`--workers 2`: a worker killed with SIGKILL is started again by the parent (`worker_exit`,
    then a third `worker_start`), every final record still equals `brain kpi`, and SIGTERM to the
    parent stops every worker."""
    run = kafka_io.Run(stack, tmp_path)
    readings = data.readings()
    expected = _expected(readings)
    want = _final_keys(expected)
    half = len(readings) // 2
    run.produce(readings[:half])
    extra = ("--workers", "2", "--session-timeout-s", "6", "--idle-timeout-s", "600")
    parent = run.worker(run.write_plant(PLANT), *extra, name="sup")
    tail = kafka_io.Tail(stack, run.kpis)
    try:
        deadline = time.monotonic() + 60
        while _log_count(run, "readings") == 0 and time.monotonic() < deadline:
            assert parent.poll() is None, run.log_text()[-3000:]
            time.sleep(0.2)
        started = _pids(run, "worker_start")
        assert len(started) == 2, run.log_text()[-3000:]
        os.kill(started[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while len(_pids(run, "worker_start")) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        log_text = run.log_text()
        exited = rf"event=process\.worker_exit slot=0 pid={started[0]} code=-9 "
        assert re.search(exited, log_text), log_text[-3000:]
        assert len(_pids(run, "worker_start")) == 3, log_text[-3000:]
        run.produce(readings[half:])
        got = _wait_finals(tail, want, [parent], run, timeout_s=90)
        parent.terminate()
        assert parent.wait(60) == 0
        assert not [p for p in _pids(run, "worker_start") if _alive(p)], "a worker outlived its parent"
    finally:
        kafka_io.stop(parent)
        tail.close()
    _assert_equal_to_brain_kpi(got, want, expected)
