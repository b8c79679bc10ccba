"""The production stream workers on in-memory ports (`run_processors`, no Kafka) give the batch
results: every final record equals `brain kpi`'s — also with restarts and crashes in mid-step."""

from __future__ import annotations

import math

import pytest

from processors.harness import run_processors
from processors.kpi import compute_records
from processors.options import ProcessorOptions
from tests.processors import data


def assert_same(stream: dict, batch: list[dict], window: str, horizon: int) -> None:
    want = {data.key(r): r for r in batch if r["window"] == window and r["end"] <= horizon}
    got = {k: r for k, r in stream.items() if k[4] == window}
    assert sorted(got) == sorted(want)
    bad = sorted({k for k, w in want.items() for f, wv in w.items() if not _close(got[k][f], wv)})
    assert not bad, f"{len(bad)} of {len(want)} records differ, e.g. {bad[:8]}"
    for k, w in want.items():
        g = got[k]
        for field, wv in w.items():
            gv = g[field]
            if isinstance(wv, float) or isinstance(gv, float):
                assert gv is not None and wv is not None, (k, field, gv, wv)
                assert math.isclose(gv, wv, rel_tol=1e-9, abs_tol=1e-9), (k, field, gv, wv)
            else:
                assert gv == wv, (k, field, gv, wv)


def _close(a: object, b: object) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)  # type: ignore[arg-type]
    return a == b


@pytest.mark.parametrize(
    ("window", "interval_ms", "chunk", "restart_every", "crash_every"),
    [("1m", 0, 100, None, None), ("1h", 0, 37, 5, None), ("15m", 25, 50, None, 3), ("1m", 1000, 211, 4, 7)],
)
def test_stream_equals_batch(
    window: str, interval_ms: int, chunk: int, restart_every: int | None, crash_every: int | None
) -> None:
    plant = data.plant()
    readings = data.readings()
    opts = ProcessorOptions(app_id="t", grace_ms=data.GRACE_MS, emit_interval_ms=interval_ms)
    run = run_processors(plant, readings, opts=opts, chunk=chunk, restart_every=restart_every,
                         crash_every=crash_every)  # fmt: skip
    if crash_every:
        assert run.stats["crashes"] >= 2
    rows = [(r["site"], r["line"], r["machine"], r["metric"], r["value"], r["ts"]) for r in readings]
    batch = compute_records(plant, rows, window)
    horizon = data.final_horizon()
    assert_same({k: r for k, r in run.latest_final().items() if r["end"] <= horizon}, batch, window, horizon)


def test_provisional_record_covers_the_window_up_to_the_watermark() -> None:
    """Mid-window, the time after the watermark has not happened: it is not unknown time."""
    from brain.plant import parse_plant
    from processors.kpi import Context
    from processors.machine_state import MachineStream

    plant = parse_plant(
        {
            "timezone": "Asia/Shanghai",
            "sites": [{"id": "s", "lines": [{"id": "l", "machines": [{"id": "m", "ideal_cycle_s": 1}]}]}],
        }
    )
    machine = plant.sites[0].lines[0].machines[0]
    stream = MachineStream(machine, Context.from_plant(plant), grace_ms=0, windows=("15m",))
    t0 = data.START + 4 * 60_000  # 08:00, a quarter-hour boundary
    stream.add("state", "running", t0, offset=1)
    stream.add("count_total", 0, t0, offset=2)
    stream.add("count_total", 420, t0 + 7 * 60_000, offset=3)  # watermark 08:07
    (emit,) = [e for e in stream.step(now_ms=0, interval_ms=0, force=True) if e.start == t0]
    assert not emit.final
    p = emit.partial
    assert (p["pot"], p["apt"], p["unknown"]) == (420_000, 420_000, 0)  # not 900 s of POT, 480 s unknown
    assert p["pq"] == 420
