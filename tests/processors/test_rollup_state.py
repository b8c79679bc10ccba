"""SiteRollup: a machine that has not sent yet is not silent while the rollup has only just
started seeing the site (found by tests/e2e: at --speed 0 one partition was consumed 15+ minutes of
event time ahead of another, the line's first window went final without the late machine, was
dropped, and the machine's partials were refused as too old)."""

from __future__ import annotations

from brain.plant import parse_plant
from processors.kpi import Context, MachineFold, machine_partial
from processors.rollup_state import RollupWindow, SiteRollup

T0 = 1_767_225_600_000  # 2026-01-01 08:00 Asia/Shanghai
MIN = 60_000
PLANT = parse_plant(
    {
        "timezone": "Asia/Shanghai",
        "sites": [{"id": "s", "lines": [{"id": "l1", "machines": [{"id": "m1"}, {"id": "m2"}]}]}],
    },
    "<test>",
)


def _running_partial(ctx: Context, machine_id: str) -> dict:
    (machine,) = [m for _, _, m in PLANT.machines() if m.id == machine_id]
    fold = MachineFold(machine, ctx.cal)
    fold.feed("state", "running", T0)
    fold.advance(T0 + MIN)
    return machine_partial(fold.buckets, sorted(fold.buckets), T0, T0 + MIN, machine, ctx)


def _line(records: list[dict]) -> dict | None:
    return next((r for r in records if r["scope"] == "line"), None)


def test_a_machine_not_yet_seen_is_not_silent_until_the_wait_passed_on_the_wall_clock() -> None:
    ctx = Context.from_plant(PLANT)
    rollup = SiteRollup(PLANT.sites[0], ctx, grace_ms=5_000, wait_ms=60_000)
    w = RollupWindow("1m", T0, T0 + MIN, None)
    w.apply("l1", "m2", 1, True, _running_partial(ctx, "m2"))
    far = T0 + 30 * MIN  # m2 (the only machine seen so far) is 30 minutes of event time ahead
    first = _line(rollup.emit(w, far, now_ms=1_000.0, interval_ms=0))
    assert first is not None and first["final"] is False  # m1 may just be behind: not final yet
    w.apply("l1", "m1", 1, True, _running_partial(ctx, "m1"))
    line = _line(rollup.emit(w, far, now_ms=3_000.0, interval_ms=0))
    assert line is not None and line["final"] is True
    assert line["apt_s"] == 120.0 and line["unknown_s"] == 0.0


def test_a_machine_that_never_sends_is_silent_after_the_wait() -> None:
    ctx = Context.from_plant(PLANT)
    rollup = SiteRollup(PLANT.sites[0], ctx, grace_ms=5_000, wait_ms=60_000)
    w = RollupWindow("1m", T0, T0 + MIN, None)
    w.apply("l1", "m2", 1, True, _running_partial(ctx, "m2"))
    far = T0 + 30 * MIN
    assert _line(rollup.emit(w, far, now_ms=0.0, interval_ms=0))["final"] is False
    line = _line(rollup.emit(w, far, now_ms=60_000.0, interval_ms=0, force=False))
    assert line is not None and line["final"] is True
    assert line["apt_s"] == 60.0 and line["unknown_s"] == 60.0
