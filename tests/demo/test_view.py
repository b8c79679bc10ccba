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


def test_each_line_shows_its_pack_kpis_under_its_row() -> None:
    """Under a line's row, the first KPIs of the pack whose fields its record has, in their units."""
    from brain.demo.view import PACK_KPIS_SHOWN, pack_value
    from brain.pack_registry import available

    packs = tuple(available().values())
    state = LiveState()
    lines = {}
    for i, pack in enumerate(packs):
        fields = {pack.field(k): 0.5 + j for j, k in enumerate(pack.kpis)}
        lines[pack.id] = f"l{i}"
        state.add_kpi({**_line_record(1_000_000, 0.7), "line": f"l{i}", **fields})
    state.add_kpi({**_line_record(1_000_000, 0.7), "line": "plain"})  # a line without a pack
    rows = render(state, tz=TZ, elapsed_s=1, total_s=2, packs=packs).splitlines()
    for pack in packs:
        at = next(i for i, row in enumerate(rows) if row.startswith(f"sip/{lines[pack.id]} "))
        below = rows[at + 1]
        assert below.startswith(f"  {pack.id}: ")
        for j, kpi in enumerate(pack.kpis[:PACK_KPIS_SHOWN]):
            assert f"{kpi.name} {pack_value(kpi, 0.5 + j)}" in below
    at = next(i for i, row in enumerate(rows) if row.startswith("sip/plain "))
    assert not rows[at + 1].startswith("  ")  # the next line's row, or the blank before the alerts
    assert pack_value(packs[0].kpis[0], None) == "-"


def test_pack_values_in_their_units() -> None:
    from brain.demo.view import pack_value
    from brain.pack import Kpi

    def kpi(unit: str) -> Kpi:
        return Kpi("x", unit, None, lambda s: None)  # type: ignore[arg-type]

    assert pack_value(kpi("ratio"), 0.8356) == "83.6%"
    assert pack_value(kpi("%"), 38.5511) == "38.6%"
    assert pack_value(kpi("1/h"), 33424.79) == "33,425 1/h"
    assert pack_value(kpi("ppm"), 46.875) == "46.9 ppm"
    assert pack_value(kpi(""), 1.5832) == "1.58"


def _loss(start: int, reason: str, category: str, seconds: float, **kw) -> dict:
    return {"scope": "line", "site": "sip", "line": "smt1", "machine": None, "window": "15m",
            "shift": "morning", "start": start, "reason": reason, "category": category,
            "seconds": seconds, "stops": 1, **kw}  # fmt: skip


def test_each_line_shows_its_top_loss_reason_and_category() -> None:
    state = LiveState(until_ms=10_000_000)
    q1, q2 = 1_000_000, 1_900_000
    state.add_loss(_loss(q1, "R01", "breakdown", 600))
    state.add_loss(_loss(q1, "R20", "setup", 700))
    state.add_loss(_loss(q2, "R01", "breakdown", 300))  # R01: 900 s over two quarters beats R20's 700
    state.add_loss(_loss(q2, "R99", "breakdown", 5000, scope="machine", machine="m1"))  # not a line
    state.add_loss(_loss(q2, "R98", "setup", 5000, window="1h"))  # not a quarter hour
    state.add_loss(_loss(20_000_000, "R97", "setup", 5000))  # after the replayed period
    state.add_kpi({**_line_record(q1, 0.7), "loss_breakdown_s": 600.0, "loss_setup_s": 700.0})
    state.add_kpi({**_line_record(q2, 0.8), "loss_breakdown_s": 300.0, "loss_setup_s": 0.0})
    screen = render(state, tz=TZ, elapsed_s=1, total_s=2, reason_names={"R01": "Spindle fault"})
    assert "  top loss: R01 Spindle fault (breakdown) 15.0 min · by category: breakdown 15.0 min" in screen
    # A re-classification re-emits the window: its new split replaces the old one, nothing doubles.
    state.add_loss(_loss(q1, "R01", "breakdown", 0))
    state.add_loss(_loss(q1, "R20", "setup", 1300))
    state.add_kpi({**_line_record(q1, 0.7), "loss_breakdown_s": 0.0, "loss_setup_s": 1300.0})
    screen = render(state, tz=TZ, elapsed_s=1, total_s=2)
    assert "  top loss: R20 (setup) 21.7 min · by category: setup 21.7 min" in screen.splitlines()


def test_no_losses_no_row() -> None:
    state = LiveState()
    state.add_kpi(_line_record(1_000_000, 0.7))
    assert "top loss" not in render(state, tz=TZ, elapsed_s=1, total_s=2)


def test_the_header_counts_what_the_factory_exported() -> None:
    state = LiveState()
    state.add_kpi(_line_record(1_000_000, 0.7, window="1h", final=True))
    state.add_export({**_line_record(1_000_000, 0.7, window="1h", final=True), "enterprise": "e1"})
    screen = render(state, tz=TZ, elapsed_s=10, total_s=100)
    assert state.export_records == 1 and state.kpi_records == 1
    assert "exported: 1" in screen.splitlines()[0]
