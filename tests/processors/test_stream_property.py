"""Stream = batch as a property: random readings (out of order within the grace period), random
arrival chunks, restarts and crashes in mid-step, through the production workers on in-memory
ports (`run_processors`) — every final record equals `brain kpi`'s, machine, line and site."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brain.plant import parse_plant
from processors.harness import run_processors
from processors.kpi import compute_records
from processors.options import ProcessorOptions
from tests.processors import data
from tests.processors.test_core_stream import assert_same

GRACE_MS = 20_000
H0 = data.START + 4 * 60_000  # 08:00
PLANT = parse_plant(
    {
        "timezone": "Asia/Shanghai",
        "sites": [
            {
                "id": "s1",
                "lines": [
                    {
                        "id": "l1",
                        "machines": [{"id": "a", "ideal_cycle_s": 1.5}, {"id": "b", "ideal_cycle_s": 0.5}],
                    },
                    {"id": "l2", "machines": [{"id": "c"}, {"id": "e", "kind": "meter"}]},
                ],
            }
        ],
        "shifts": [
            {"name": "x", "start": "08:05", "end": "08:25", "breaks": [{"start": "08:10", "end": "08:12"}]}
        ],
        "tariff": {"prices": {"peak": 1.2, "flat": 0.7, "valley": 0.3}},
    },
    source="property.yaml",
)
MACHINES = {"a": "l1", "b": "l1", "c": "l2", "e": "l2"}
STATES = ["running", "setup", "fault", "idle", "planned_stop", "offline"]
END = H0 + 30 * 60_000
TRAILER = END + 5 * 60_000

reading = st.tuples(
    st.sampled_from(sorted(MACHINES)),
    st.integers(H0, END - 1),
    st.sampled_from(["state", "count_total", "count_scrap", "energy_kwh", "power_kw", "energy_kvarh"]),
    st.integers(0, 5000),
    st.integers(0, GRACE_MS // 2),  # arrival delay: out of order, never beyond the grace period
)


def _readings(items: list[tuple[str, int, str, int, int]]) -> list[dict]:
    rows = []
    counters: dict[tuple[str, str], int] = {}
    for i, (m, ts, metric, v, delay) in enumerate(sorted(items, key=lambda x: x[1])):
        if metric == "state":
            value: object = STATES[v % len(STATES)]
        elif metric == "power_kw":
            value = v / 100
        else:  # cumulative: rising with time, a reset now and then
            k = (m, metric)
            counters[k] = 0 if v % 97 == 0 else counters.get(k, 0) + v % 7
            value = counters[k]
        rows.append((ts + delay, i, {"site": "s1", "line": MACHINES[m], "machine": m, "metric": metric,
                                     "value": value, "ts": ts}))  # fmt: skip
    rows.sort(key=lambda r: (r[0], r[1]))
    start = [{"site": "s1", "line": ln, "machine": m, "metric": "heartbeat", "value": 0, "ts": H0}
             for m, ln in MACHINES.items()]  # fmt: skip
    end = [{"site": "s1", "line": ln, "machine": m, "metric": "heartbeat", "value": 0, "ts": TRAILER}
           for m, ln in MACHINES.items()]  # fmt: skip
    return start + [r[2] for r in rows] + end


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(reading, max_size=120),
    st.integers(1, 60),
    st.sampled_from([None, 3, 7]),
    st.sampled_from([None, 2, 5]),
    st.sampled_from(["1m", "15m", "1h"]),
)
def test_stream_equals_brain_kpi(items, chunk, restart_every, crash_every, window) -> None:
    readings = _readings(items)
    opts = ProcessorOptions(app_id="p", grace_ms=GRACE_MS, emit_interval_ms=0)
    run = run_processors(PLANT, readings, opts=opts, chunk=chunk, partitions=2,
                         restart_every=restart_every, crash_every=crash_every)  # fmt: skip
    rows = [(r["site"], r["line"], r["machine"], r["metric"], r["value"], r["ts"]) for r in readings]
    batch = compute_records(PLANT, rows, window)
    horizon = TRAILER - GRACE_MS
    got = {k: r for k, r in run.latest_final().items() if r["end"] <= horizon}
    assert_same(got, batch, window, horizon)
