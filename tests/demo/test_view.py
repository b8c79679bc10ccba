"""The demo's live view and its choice of simulated start (pure parts)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from brain.demo.cli import simulated_start
from brain.demo.view import LiveState, render

TZ = ZoneInfo("Asia/Shanghai")


def _line_record(start: int, oee: float, *, window: str = "15m", final: bool = False) -> dict:
    return {
        "scope": "line",
        "site": "sip",
        "line": "smt1",
        "machine": None,
        "window": window,
        "start": start,
        "oee": oee,
        "availability": 0.9,
        "performance": 0.95,
        "quality": 0.99,
        "pq": 120.0,
        "energy_kwh": 30.0,
        "peak_demand_kw": None,
        "final": final,
    }


def test_latest_quarter_hour_per_line_wins_and_machine_records_are_ignored() -> None:
    state = LiveState()
    state.add_kpi(_line_record(1_000_000, 0.70))
    state.add_kpi(_line_record(1_900_000, 0.80))
    state.add_kpi(_line_record(1_000_000, 0.10))  # a late correction of an older window
    state.add_kpi({**_line_record(2_800_000, 0.5), "scope": "machine", "machine": "m1"})
    assert state.lines[("sip", "smt1")]["oee"] == 0.80
    assert state.kpi_records == 4
    screen = render(state, tz=TZ, elapsed_s=10, total_s=100)
    row = next(line for line in screen.splitlines() if line.startswith("sip/smt1"))
    assert " 80.0%" in row and " 90.0%" in row and "120" in row and "120" in row.split()[-2]  # 30 kWh × 4


def test_alerts_fire_and_resolve() -> None:
    state = LiveState()
    state.add_alert(
        {
            "id": "oee_low:sip/smt1",
            "state": "firing",
            "rule": "oee_low",
            "severity": "warning",
            "site": "sip",
            "line": "smt1",
            "message_en": "OEE 0.55 below 0.6",
        }
    )
    assert "active alerts: 1" in render(state, tz=TZ, elapsed_s=1, total_s=2)
    assert "OEE 0.55 below 0.6" in render(state, tz=TZ, elapsed_s=1, total_s=2)
    state.add_alert({"id": "oee_low:sip/smt1", "state": "resolved"})
    assert "active alerts: 0" in render(state, tz=TZ, elapsed_s=1, total_s=2)


def test_simulated_start_is_a_past_weekday_morning() -> None:
    thursday_noon = dt.datetime(2026, 11, 26, 12, 0, tzinfo=TZ)
    assert simulated_start(thursday_noon, dt.timedelta(hours=3)) == dt.datetime(2026, 11, 26, 8, 0, tzinfo=TZ)
    thursday_early = dt.datetime(2026, 11, 26, 9, 0, tzinfo=TZ)
    assert simulated_start(thursday_early, dt.timedelta(hours=3)) == dt.datetime(
        2026, 11, 25, 8, 0, tzinfo=TZ
    )
    monday_early = dt.datetime(2026, 11, 30, 7, 0, tzinfo=TZ)
    assert simulated_start(monday_early, dt.timedelta(hours=3)) == dt.datetime(2026, 11, 27, 8, 0, tzinfo=TZ)


def test_windows_after_the_replayed_period_are_not_shown() -> None:
    state = LiveState(until_ms=2_000_000)
    state.add_kpi(_line_record(1_900_000, 0.8))
    state.add_kpi(_line_record(2_000_000, 0.1))  # opened by a DEATH stamped with the real now
    assert state.lines[("sip", "smt1")]["start"] == 1_900_000 and state.kpi_records == 2
