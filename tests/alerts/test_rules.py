"""Table-driven tests of every rule type at the edges of `for`, hysteresis, `clear_for`, re-notify.

Each case: the rule (plant config YAML as a dict), the inputs in order, and the expected events
as (state, seconds after T0). Times are seconds after T0 (a 15-minute block start).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.alerts.helpers import MIN, T0, brief, engine, reading, run, tick


def at(seconds: float) -> int:
    return T0 + int(seconds * 1000)


def r(metric: str, value: Any, s: float, **kw: Any):
    return reading(metric, value, at(s), **kw)


def t(s: float):
    return tick(at(s))


def kpi(
    value: Any,
    start_min: int,
    *,
    final: bool = True,
    field: str = "oee",
    window: str = "15m",
    scope: str = "line",
    minutes: int = 15,
    **kw: Any,
):
    rec = {
        "scope": scope,
        "site": "s1",
        "line": "l1",
        "machine": None,
        "window": window,
        "start": T0 + start_min * MIN,
        "end": T0 + (start_min + minutes) * MIN,
        "final": final,
        field: value,
        **kw,
    }
    if scope == "machine":
        rec["machine"] = "m1"
    return ("kpi", rec, rec["end"])


def dl(s: float, topic: str = "brain/v1/s1/l1/m1/power_kw", **kw: Any):
    return (
        "deadletter",
        {
            "topic": topic,
            "payload": "",
            "reason": "value.not_finite",
            "received_ts": at(s),
            "source": "mqtt",
            **kw,
        },
        at(s),
    )


HOT = {"id": "hot", "type": "threshold", "metric": "temp_c", "above": 80, "clear": 70}

CASES: dict[str, tuple[dict[str, Any], list[tuple], list[tuple[str, float]]]] = {
    # -- threshold ----------------------------------------------------------------------------------
    "threshold: above fires at once without for": (
        HOT,
        [r("temp_c", 81, 0)],
        [("firing", 0)],
    ),
    "threshold: the threshold itself is not a breach": (
        HOT,
        [r("temp_c", 80, 0), r("temp_c", 80.0, 5)],
        [],
    ),
    "threshold: for not yet reached (59.999 s of 60)": (
        {**HOT, "for": "60s"},
        [r("temp_c", 85, 0), r("temp_c", 85, 59.999)],
        [],
    ),
    "threshold: for reached exactly (60 s)": (
        {**HOT, "for": "60s"},
        [r("temp_c", 85, 0), r("temp_c", 85, 30), r("temp_c", 85, 60)],
        [("firing", 60)],
    ),
    "threshold: for reached by the wall-clock tick, no new reading": (
        {**HOT, "for": 60},
        [r("temp_c", 85, 0), t(59), t(60), t(61)],
        [("firing", 60)],
    ),
    "threshold: a dip into the band resets pending": (
        {**HOT, "for": 60},
        [r("temp_c", 85, 0), r("temp_c", 75, 30), r("temp_c", 85, 31), t(90), t(91)],
        [("firing", 91)],
    ),
    "threshold: band keeps it firing, clear resolves": (
        HOT,
        [r("temp_c", 85, 0), r("temp_c", 75, 10), r("temp_c", 70.01, 20), r("temp_c", 70, 30)],
        [("firing", 0), ("resolved", 30)],
    ),
    "threshold: no clear given resolves at the threshold": (
        {"id": "hot", "type": "threshold", "metric": "temp_c", "above": 80},
        [r("temp_c", 85, 0), r("temp_c", 80, 10)],
        [("firing", 0), ("resolved", 10)],
    ),
    "threshold: flapping inside the band -> one firing, one resolved": (
        HOT,
        [r("temp_c", v, i * 5) for i, v in enumerate([85, 75, 85, 72, 90, 71, 85, 79, 81, 65])],
        [("firing", 0), ("resolved", 45)],
    ),
    "threshold: flapping across clear with clear_for -> one firing, one resolved": (
        {**HOT, "clear_for": "30s"},
        [r("temp_c", v, i * 10) for i, v in enumerate([85, 60, 85, 60, 85, 60, 60, 60])] + [t(79), t(80)],
        [("firing", 0), ("resolved", 80)],
    ),
    "threshold: clear_for edge (29.999 s of 30 s)": (
        {**HOT, "clear_for": 30},
        [r("temp_c", 85, 0), r("temp_c", 60, 10), t(39.999), t(40)],
        [("firing", 0), ("resolved", 40)],
    ),
    "threshold: below with hysteresis": (
        {"id": "cold", "type": "threshold", "metric": "pressure", "below": 2.0, "clear": 2.5},
        [r("pressure", 1.9, 0), r("pressure", 2.4, 1), r("pressure", 1.0, 2), r("pressure", 2.5, 3)],
        [("firing", 0), ("resolved", 3)],
    ),
    "threshold: renotify edges (9m59s no, 10m yes)": (
        {**HOT, "renotify": "10m"},
        [r("temp_c", 85, 0), t(599), t(600), t(1199), t(1200), r("temp_c", 60, 1201)],
        [("firing", 0), ("firing", 600), ("firing", 1200), ("resolved", 1201)],
    ),
    "threshold: other metrics, machines outside the scope, strings are ignored": (
        {**HOT, "scope": {"line": "l1", "machine": "m2"}},
        [r("temp_c", 99, 0), r("other", 99, 1, machine="m2"), r("temp_c", "hot", 2, machine="m2")],
        [],
    ),
    "threshold: an older reading does not override a newer one": (
        HOT,
        [r("temp_c", 85, 10), r("temp_c", 50, 5)],
        [("firing", 10)],
    ),
    # -- kpi -------------------------------------------------------------------------------------------
    "kpi: provisional records are ignored by default": (
        {"id": "oee", "type": "kpi", "field": "oee", "below": 0.65, "clear": 0.7},
        [kpi(0.5, 0, final=False)],
        [],
    ),
    "kpi: final record below fires, band holds, clear resolves": (
        {"id": "oee", "type": "kpi", "field": "oee", "below": 0.65, "clear": 0.7},
        [kpi(0.6, 0), kpi(0.69, 15), kpi(0.7, 30)],
        [("firing", 15 * 60), ("resolved", 45 * 60)],
    ),
    "kpi: for 30m on 15m windows needs two windows in a row": (
        {"id": "oee", "type": "kpi", "field": "oee", "below": 0.65, "for": "30m"},
        [kpi(0.6, 0), kpi(0.7, 15), kpi(0.6, 30), kpi(0.6, 45)],
        [("firing", 60 * 60)],
    ),
    "kpi: records any evaluates provisional records": (
        {"id": "oee", "type": "kpi", "field": "oee", "below": 0.65, "records": "any"},
        [kpi(0.5, 0, final=False)],
        [("firing", 15 * 60)],
    ),
    "kpi: other windows, levels and null values are ignored": (
        {"id": "oee", "type": "kpi", "field": "oee", "below": 0.65},
        [kpi(0.1, 0, window="1h", minutes=60), kpi(0.1, 0, scope="machine"), kpi(None, 0)],
        [],
    ),
    "kpi: an older final record, sent again after the episode resolved, fires nothing": (
        # seen in the fault suite: records of resolved episodes came again and fired them again
        {"id": "oee", "type": "kpi", "field": "oee", "below": 0.65, "clear": 0.7},
        [kpi(0.6, 0), kpi(0.8, 15), kpi(0.6, 0), kpi(0.8, 15), kpi(0.5, 30)],
        [("firing", 15 * 60), ("resolved", 30 * 60), ("firing", 45 * 60)],
    ),
    "kpi: the newest window's final record again (a late reading corrected it) is evaluated": (
        {"id": "oee", "type": "kpi", "field": "oee", "below": 0.65, "clear": 0.7},
        [kpi(0.8, 0), kpi(0.8, 15), kpi(0.6, 15)],
        [("firing", 30 * 60)],
    ),
    "kpi: records any: a provisional record after a newer window is still evaluated": (
        {"id": "oee", "type": "kpi", "field": "oee", "below": 0.65, "records": "any"},
        [kpi(0.8, 15), kpi(0.5, 0, final=False)],
        [("firing", 30 * 60)],
    ),
    "sec_deviation: an older final record after a newer one is ignored": (
        {"id": "sec", "type": "sec_deviation", "baseline": 2.0, "percent": 10, "window": "15m"},
        [kpi(2.0, 15, field="sec_kwh_per_unit"), kpi(2.5, 0, field="sec_kwh_per_unit")],
        [],
    ),
    "kpi: machine level above": (
        {"id": "mttr", "type": "kpi", "field": "mttr_s", "above": 600, "level": "machine", "window": "1h"},
        [kpi(900, 0, scope="machine", field="mttr_s", window="1h", minutes=60)],
        [("firing", 3600)],
    ),
    # -- sec_deviation ------------------------------------------------------------------------------------
    "sec_deviation: 15 % above fires, 10 % (the limit) resolves": (
        {"id": "sec", "type": "sec_deviation", "baseline": 2.0, "percent": 10, "window": "15m"},
        [kpi(2.3, 0, field="sec_kwh_per_unit"), kpi(2.2, 15, field="sec_kwh_per_unit")],
        [("firing", 15 * 60), ("resolved", 30 * 60)],
    ),
    "sec_deviation: below the baseline is fine with direction above": (
        {"id": "sec", "type": "sec_deviation", "baseline": 2.0, "percent": 10, "window": "15m"},
        [kpi(1.0, 0, field="sec_kwh_per_unit")],
        [],
    ),
    "sec_deviation: direction both with a clear band": (
        {
            "id": "sec",
            "type": "sec_deviation",
            "baseline": 2.0,
            "percent": 10,
            "clear": 5,
            "window": "15m",
            "direction": "both",
        },
        [
            kpi(1.7, 0, field="sec_kwh_per_unit"),
            kpi(2.15, 15, field="sec_kwh_per_unit"),
            kpi(2.1, 30, field="sec_kwh_per_unit"),
        ],
        [("firing", 15 * 60), ("resolved", 45 * 60)],
    ),
    # -- state_duration -----------------------------------------------------------------------------------
    "state_duration: fault for 9m59.999s does not fire; 10m does (tick)": (
        {"id": "stuck", "type": "state_duration", "state": "fault", "for": "10m"},
        [r("state", "fault", 0), t(599.999), t(600), r("state", "running", 720)],
        [("firing", 600), ("resolved", 720)],
    ),
    "state_duration: numeric code mapped through the machine's state_codes": (
        {"id": "stuck", "type": "state_duration", "for": "10m"},
        [r("state", 4, 0), r("state", 4, 300), r("state", 4.0, 600), r("state", 2, 601)],
        [("firing", 600), ("resolved", 601)],
    ),
    "state_duration: flapping fault/running never lasting 10m -> nothing": (
        {"id": "stuck", "type": "state_duration", "for": "10m"},
        [r("state", "fault" if i % 2 == 0 else "running", i * 300) for i in range(8)] + [t(2399)],
        [],
    ),
    # -- stop_without_reason --------------------------------------------------------------------------
    "stop_without_reason: unlabelled fault 9m59.999s no, 10m yes; running again resolves": (
        {"id": "label", "type": "stop_without_reason", "for": "10m"},
        [r("state", "running", -60), r("state", "fault", 0), t(599.999), t(600), r("state", "running", 700)],
        [("firing", 600), ("resolved", 700)],
    ),
    "stop_without_reason: a reason reading for the stop resolves it": (
        {"id": "label", "type": "stop_without_reason", "for": "10m"},
        [r("state", "idle", 0), t(600), r("reason", "R31", 650), t(660)],
        [("firing", 600), ("resolved", 650)],
    ),
    "stop_without_reason: labelled at the stop (same ts, reason first) never fires": (
        {"id": "label", "type": "stop_without_reason", "for": "10m"},
        [r("reason", "R01", 0), r("state", "fault", 0), t(600), t(3600)],
        [],
    ),
    "stop_without_reason: a reason of the previous stop does not label this one": (
        {"id": "label", "type": "stop_without_reason", "for": "10m"},
        [
            r("state", "fault", 0),
            r("reason", "R01", 10),
            r("state", "running", 60),
            r("state", "setup", 120),
            r("reason", "R01", 30),  # late label of the first stop
            t(719.999),
            t(720),
        ],
        [("firing", 720)],
    ),
    "stop_without_reason: fault -> idle is one episode, timed from the stop's start": (
        {"id": "label", "type": "stop_without_reason", "for": "10m"},
        [r("state", "fault", 0), r("state", "idle", 300), t(600)],
        [("firing", 600)],
    ),
    "stop_without_reason: planned stop and offline are not asked for a reason": (
        {"id": "label", "type": "stop_without_reason", "for": "10m"},
        [r("state", "planned_stop", 0), t(3600), r("state", "offline", 3600), t(7200)],
        [],
    ),
    "stop_without_reason: a break ends the alert; back in fault it is timed again": (
        {"id": "label", "type": "stop_without_reason", "for": "10m"},
        [
            r("state", "fault", 0),
            t(600),
            r("state", "planned_stop", 900),
            r("state", "fault", 1800),
            t(2399),
            t(2400),
        ],
        [("firing", 600), ("resolved", 900), ("firing", 2400)],
    ),
    "stop_without_reason: numeric state codes through state_codes": (
        {"id": "label", "type": "stop_without_reason", "for": 60},
        [r("state", 2, 0), r("state", 4, 10), t(70), r("reason", 17, 80)],
        [("firing", 70), ("resolved", 80)],
    ),
    # -- silence --------------------------------------------------------------------------------------------
    "silence: watched from the first tick; 29.999 s no, 30 s yes; a reading resolves": (
        {"id": "quiet", "type": "silence", "for": "30s", "scope": "s1/l1/m1"},
        [t(0), t(29.999), t(30), t(31), r("power_kw", 1, 40)],
        [("firing", 30), ("resolved", 40)],
    ),
    "silence: uses received_ts (bridge clock) over device ts": (
        {"id": "quiet", "type": "silence", "for": 30, "scope": "s1/l1/m1"},
        [r("power_kw", 1, -3600, received_ts=at(0)), t(29), t(30)],
        [("firing", 30)],
    ),
    "silence: state offline counts as silent": (
        {"id": "quiet", "type": "silence", "for": 30, "scope": "s1/l1/m1"},
        [r("state", "offline", 0), r("temp_c", 20, 10), t(29), t(30), r("state", "running", 35)],
        [("firing", 30), ("resolved", 35)],
    ),
    "silence: only the named metric is a sign of life": (
        {"id": "quiet", "type": "silence", "for": 30, "metric": "count_total", "scope": "s1/l1/m1"},
        [t(0), r("power_kw", 5, 10), r("power_kw", 5, 20), t(30), r("count_total", 1, 31)],
        [("firing", 30), ("resolved", 31)],
    ),
    # -- demand_projection (s1: contracted 100 kW; factor 0.9 -> limit 90 kW) --------------------------------
    "demand: 96 kW from the meter projects to 96 kW > 90 -> fires; 10 kW resolves": (
        {"id": "demand", "type": "demand_projection", "factor": 0.9, "scope": {"line": "l2"}},
        [
            r("energy_kwh", 1000, 0, line="l2", machine="meter"),
            r("energy_kwh", 1001.6, 60, line="l2", machine="meter"),
            r("power_kw", 10, 120, line="l2", machine="meter"),
        ],
        [("firing", 60), ("resolved", 120)],
    ),
    "demand: exactly at the limit (90 kW) is not a breach": (
        {"id": "demand", "type": "demand_projection", "factor": 0.9, "scope": {"line": "l2"}},
        [
            r("energy_kwh", 1000, 0, line="l2", machine="meter"),
            r("energy_kwh", 1001.5, 60, line="l2", machine="meter"),
        ],
        [],
    ),
    "demand: nothing before min_elapsed (59 s of 60)": (
        {"id": "demand", "type": "demand_projection", "factor": 0.9, "scope": {"line": "l2"}},
        [
            r("power_kw", 500, 0, line="l2", machine="meter"),
            r("power_kw", 500, 59, line="l2", machine="meter"),
            t(60),
        ],
        [("firing", 60)],
    ),
    "demand: an increase straddling the block start is split by time": (
        {"id": "demand", "type": "demand_projection", "factor": 0.9, "scope": {"line": "l2"}},
        [
            r("energy_kwh", 1000, -60, line="l2", machine="meter"),
            r("energy_kwh", 1003.2, 60, line="l2", machine="meter"),
        ],
        [("firing", 60)],
    ),
    "demand: power only (no meter); a new block starts from zero; ticks re-project": (
        {"id": "demand", "type": "demand_projection", "factor": 0.9, "clear": 0.8, "scope": {"line": "l2"}},
        [
            r("power_kw", 95, 0, line="l2", machine="meter"),
            t(60),
            *(r("power_kw", 95, s, line="l2", machine="meter") for s in (240, 480, 720)),
            t(899),
            r("power_kw", 70, 900, line="l2", machine="meter"),
            t(959),
            t(1000),
        ],
        [("firing", 60), ("resolved", 1000)],
    ),
    # -- deadletter_rate ------------------------------------------------------------------------------------
    "deadletter_rate: 6 in a minute > 5/min fires; the rate falls on ticks and resolves": (
        {"id": "dl", "type": "deadletter_rate", "above": 5},
        [dl(i * 5) for i in range(6)] + [t(59), t(60), t(100)],
        [("firing", 25), ("resolved", 60)],
    ),
    "deadletter_rate: 5 in a minute is at the limit": (
        {"id": "dl", "type": "deadletter_rate", "above": 5},
        [dl(i * 10) for i in range(5)],
        [],
    ),
    "deadletter_rate: the site selector filters (sparkplug group mapped to s1)": (
        {"id": "dl", "type": "deadletter_rate", "above": 1, "scope": {"site": "s2"}},
        [
            dl(0, topic="spBv1.0/G1/DDATA/e/d"),
            dl(1, topic="spBv1.0/G1/DDATA/e/d"),
            dl(2, topic="brain/v1/s2/x"),
            dl(3, topic="brain/v1/s2/x"),
        ],
        [("firing", 3)],
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_rule_cases(case: str) -> None:
    rule, steps, expected = CASES[case]
    eng, _ = engine(rule)
    assert brief(run(eng, steps)) == expected


def test_one_event_per_episode_and_stable_id() -> None:
    eng, _ = engine(HOT)
    events = run(eng, [r("temp_c", 85, 0), r("temp_c", 60, 10), r("temp_c", 85, 20), r("temp_c", 60, 30)])
    assert [e.state for e in events] == ["firing", "resolved", "firing", "resolved"]
    assert {e.id for e in events} == {"hot:s1/l1/m1"}
    assert [e.started for e in events] == [at(0), at(0), at(20), at(20)]
    assert [e.ended for e in events] == [None, at(10), None, at(30)]
    first = events[0]
    assert (first.scope, first.site, first.line, first.machine) == ("machine", "s1", "l1", "m1")
    assert (first.value, first.threshold, first.clear, first.severity) == (85, 80, 70, "warning")


def test_started_is_when_the_condition_began() -> None:
    eng, _ = engine({"id": "stuck", "type": "state_duration", "for": "10m"})
    (event,) = run(eng, [r("state", "fault", 0), t(600)])
    assert (event.started, event.ts, event.value, event.threshold) == (at(0), at(600), 600.0, 600.0)


def test_restart_from_serialised_state_does_not_refire() -> None:
    """What the Faust changelog restores: the same JSON, so replayed input fires nothing again."""
    eng, _ = engine({**HOT, "for": 10})
    store: dict = {}
    steps = [r("temp_c", 85, 0), r("temp_c", 85, 10), r("temp_c", 86, 20)]
    assert brief(run(eng, steps, store)) == [("firing", 10)]
    restored = json.loads(json.dumps(store))
    eng2, _ = engine({**HOT, "for": 10})
    assert run(eng2, [*steps, t(30)], restored) == []  # replay after a crash: nothing new
    assert eng2.firing(restored) == ["hot:s1/l1/m1"]


def test_sink_dead_letter_site_from_payload() -> None:
    eng, _ = engine({"id": "dl", "type": "deadletter_rate", "above": 1})
    payload = base64.b64encode(json.dumps({"site": "s2", "scope": "line"}).encode()).decode()
    events = run(
        eng, [dl(0, topic="brain.kpis", payload=payload), dl(1, topic="brain.kpis", payload=payload)]
    )
    assert [(e.id, e.scope) for e in events] == [("dl:s2", "site")]


def test_deadletter_unknown_site() -> None:
    eng, _ = engine({"id": "dl", "type": "deadletter_rate", "above": 1})
    events = run(eng, [dl(0, topic="weird"), dl(1, topic="weird")])
    assert [e.site for e in events] == ["unknown"]


def test_engine_ignores_malformed_readings() -> None:
    eng, _ = engine(HOT)
    assert eng.process("reading", {"site": "s1", "metric": "temp_c", "value": 99}, {}, at(0)) == []
    with pytest.raises(ValueError, match="kind"):
        eng.process("nope", {}, {}, 0)


def test_stop_without_reason_event_and_message() -> None:
    eng, _ = engine({"id": "label", "type": "stop_without_reason", "for": "10m", "scope": "s1/l1/m1"})
    (event,) = run(eng, [r("state", "fault", 0), r("state", "fault", 60, machine="m2"), t(600)])
    assert (event.id, event.started, event.value, event.threshold) == ("label:s1/l1/m1", at(0), 600.0, 600.0)
    assert "with no reason" in event.message_en and "10m" in event.message_en
    assert "请标注原因" in event.message_zh


def test_stop_without_reason_needs_for() -> None:
    from brain.plant import PlantConfigError

    with pytest.raises(PlantConfigError, match="for"):
        engine({"id": "label", "type": "stop_without_reason"})
