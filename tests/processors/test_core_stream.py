"""The processors' pure cores (no Kafka) give the batch results: final records equal `brain kpi`'s."""

from __future__ import annotations

import math

import pytest

from processors.kpi import compute_records
from tests.processors import data, simulate


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
    ("window", "interval_ms", "roundtrip"), [("1m", 0, True), ("1h", 0, True), ("15m", 25, False)]
)
def test_stream_core_equals_batch(window: str, interval_ms: int, roundtrip: bool) -> None:
    plant = data.plant()
    readings = data.readings()
    records, _ = simulate.run(plant, readings, data.GRACE_MS, interval_ms=interval_ms, roundtrip=roundtrip)
    rows = [(r["site"], r["line"], r["machine"], r["metric"], r["value"], r["ts"]) for r in readings]
    batch = compute_records(plant, rows, window)
    assert_same(simulate.latest_final(records), batch, window, data.final_horizon())
