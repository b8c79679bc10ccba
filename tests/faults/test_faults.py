"""Fault injection on a private stack (issue 8): SIGKILL of every service and server, SIGSTOP of
every server for 30 s, while a known workload streams; then no reading lost between MQTT and
Kafka, final KPIs equal to `brain kpi`, InfluxDB equal to them, no alert fired twice.

One pipeline run carries the whole matrix (docs/RELIABILITY.md, "Faults"): each check below is
parametrised by fault and looks only at the event times of that fault's phase, so a failure names
the fault. Run: `.venv/bin/pytest -m faults tests/faults -s` (about 6 minutes on 2 cores).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest

from tests.faults import scenario as sc
from tests.faults import workload as w
from tests.faults.conftest import PrivateStack

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.timeout(900)]

PLAN = [
    ("kill bridge", "bridge", "kill"),
    ("kill processors", "processors", "kill"),
    ("kill sink", "sink", "kill"),
    ("kill mosquitto", "mosquitto", "kill"),
    ("kill influxdb", "influxdb", "kill"),
    ("kill kafka", "kafka", "kill"),
    ("freeze mosquitto", "mosquitto", "freeze"),
    ("freeze influxdb", "influxdb", "freeze"),
    ("freeze kafka", "kafka", "freeze"),
]
PHASES = ["baseline", *(name for name, _, _ in PLAN)]

# Mosquitto persists its store every `autosave_interval` (1 s): a SIGKILL loses the QoS 1
# messages it acknowledged to the publisher but had neither saved nor delivered to the bridge.
# Measured (docs/RELIABILITY.md): 0 in most runs; the bound allows one second of this workload
# (3 machines x 6 readings x 6 samples per simulated minute x SPEED/60).
MOSQUITTO_KILL_BOUND = int(3 * 6 * 6 * sc.SPEED / 60)


@pytest.fixture(scope="module")
def outcome(private_stack: PrivateStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[sc.Outcome]:
    out = sc.run(private_stack, tmp_path_factory.mktemp("faults"), PLAN)
    report = summary(out)
    (out.run_dir / "report.json").write_text(json.dumps(report, indent=1, default=str))
    print("\nfault matrix:\n" + json.dumps(report, indent=1, default=str))
    yield out


def accepted(out: sc.Outcome) -> list[dict[str, Any]]:
    """The published readings that reached Kafka, in publish order (all of them unless lost)."""
    seen = {w.reading_id(r) for r in out.readings}
    return [r for r in out.published if w.reading_id(r) in seen]


def _cached(out: sc.Outcome, name: str, make: Any) -> Any:
    cache = out.__dict__.setdefault("_cache", {})
    if name not in cache:
        cache[name] = make()
    return cache[name]


def readings_cmp(out: sc.Outcome) -> dict[str, Any]:
    return _cached(out, "readings", lambda: w.compare_readings(out.published, out.readings))


def expected(out: sc.Outcome) -> dict[str, list[dict[str, Any]]]:
    return _cached(out, "kpis", lambda: w.expected_kpis(out.config, accepted(out)))


def kpis_cmp(out: sc.Outcome) -> dict[str, Any]:
    return _cached(out, "kpis_cmp", lambda: w.compare_kpis(expected(out), out.kpis, out.horizon))


def alerts_cmp(out: sc.Outcome) -> dict[str, Any]:
    def make() -> dict[str, Any]:
        finals = [r for recs in expected(out).values() for r in recs if r["end"] <= out.horizon]
        want = w.expected_alerts(out.config, accepted(out), finals)
        # episodes decided by windows past the horizon are not in `want`: leave them out
        cut = out.horizon - 900_000
        return w.compare_alerts(
            [x for x in want if x[1] < cut], [e for e in out.alerts if e["started"] < cut]
        )

    return _cached(out, "alerts_cmp", make)


def influx_cmp(out: sc.Outcome) -> dict[str, Any]:
    def make() -> dict[str, Any]:
        from tests.sink.helpers import expected_kpi_points

        finals = [r for recs in expected(out).values() for r in recs if r["end"] <= out.horizon]
        want = expected_kpi_points(finals)
        missing = [k for k in want if k not in out.influx]
        wrong = [
            k
            for k, fields in want.items()
            if k in out.influx and any(not _same(out.influx[k].get(f), v) for f, v in fields.items())
        ]
        return {"expected_points": len(want), "missing": missing, "wrong": wrong}

    return _cached(out, "influx", make)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


LENGTH = {"1m": 60_000, "15m": 900_000, "1h": 3_600_000}


def window_phases(out: sc.Outcome, key: w.Key) -> set[str]:
    """The phase in which the window ended, i.e. became final."""
    return {sc.phase_of(out, key[5] + LENGTH[key[4]] - 1)}


def point_phase(out: sc.Outcome, key: Any) -> str:
    window = dict(key[1])["window"]
    return sc.phase_of(out, key[2] + LENGTH[window] - 1)


def summary(out: sc.Outcome) -> dict[str, Any]:
    r, k, a, i = readings_cmp(out), kpis_cmp(out), alerts_cmp(out), influx_cmp(out)
    rows = {}
    for phase in PHASES:
        fault = next((f for f in [out.baseline, *out.faults] if f.name == phase), None)
        rows[phase] = {
            "missing_readings": sum(1 for m in r["missing"] if sc.phase_of(out, m[4]) == phase),
            "kpi_windows_wrong_or_missing": sum(
                1 for key in [*k["missing"], *k["wrong"]] if phase in window_phases(out, key)
            ),
            "alerts_fired_twice": sum(1 for x in a["fired_twice"] if sc.phase_of(out, x[1]) == phase),
            "fault_s": fault.restart_s if fault else None,
            "recovery_s": fault.recovery if fault else None,
        }
    return {
        "site": out.site,
        "seconds": out.seconds,
        "readings": {x: v for x, v in r.items() if x not in ("missing", "unexpected")}
        | {"missing": len(r["missing"]), "unexpected": len(r["unexpected"])},
        "kpis": {x: (len(v) if isinstance(v, list | dict) else v) for x, v in k.items()},
        "alerts": {x: (len(v) if isinstance(v, list) else v) for x, v in a.items()},
        "influx": {x: (len(v) if isinstance(v, list) else v) for x, v in i.items()},
        "phases": rows,
        "dead": out.dead,
        "run_dir": str(out.run_dir),
    }


def _logs(out: sc.Outcome, *names: str) -> str:
    return "\n".join(f"--- {n}:\n" + out.logs.get(n, "")[-3000:] for n in names)


def test_every_service_stays_up(outcome: sc.Outcome) -> None:
    assert not outcome.dead, "\n".join(outcome.dead)
    assert len(outcome.faults) == len(PLAN)


def test_workload_is_nontrivial(outcome: sc.Outcome) -> None:
    r = readings_cmp(outcome)
    assert r["distinct_published"] > 10_000
    assert kpis_cmp(outcome)["expected"] > 500
    assert alerts_cmp(outcome)["expected_episodes"] >= 10


@pytest.mark.parametrize("phase", PHASES)
def test_no_reading_lost_between_mqtt_and_kafka(outcome: sc.Outcome, phase: str) -> None:
    r = readings_cmp(outcome)
    assert not r["unexpected"], f"readings in Kafka that were never published: {r['unexpected'][:5]}"
    lost = [m for m in r["missing"] if sc.phase_of(outcome, m[4]) == phase]
    bound = MOSQUITTO_KILL_BOUND if phase == "kill mosquitto" else 0
    assert len(lost) <= bound, (
        f"{phase}: {len(lost)} readings published but not in brain.readings (bound {bound}), "
        f"e.g. {lost[:5]}\n{_logs(outcome, 'bridge', 'simulator')}"
    )


@pytest.mark.parametrize("phase", PHASES)
def test_final_kpis_equal_brain_kpi(outcome: sc.Outcome, phase: str) -> None:
    k = kpis_cmp(outcome)
    missing = [key for key in k["missing"] if phase in window_phases(outcome, key)]
    wrong = {key: f for key, f in k["wrong"].items() if phase in window_phases(outcome, key)}
    assert not missing, f"{phase}: {len(missing)} final KPI records missing, e.g. {missing[:3]}"
    assert not wrong, f"{phase}: {len(wrong)} final KPI records differ, e.g. {list(wrong.items())[:3]}"


def test_no_unexpected_final_records(outcome: sc.Outcome) -> None:
    assert not kpis_cmp(outcome)["extra"]


@pytest.mark.parametrize("phase", PHASES)
def test_no_alert_fired_twice(outcome: sc.Outcome, phase: str) -> None:
    a = alerts_cmp(outcome)
    twice = [x for x in a["fired_twice"] if sc.phase_of(outcome, x[1]) == phase]
    missing = [x for x in a["missing"] if sc.phase_of(outcome, x[1]) == phase]
    unexpected = [x for x in a["unexpected"] if sc.phase_of(outcome, x[1]) == phase]
    assert not twice, f"{phase}: episodes fired twice: {twice}"
    assert not missing, f"{phase}: episodes the engine fires but the stream did not: {missing}"
    assert not unexpected, f"{phase}: episodes the stream fired but the engine does not: {unexpected}"


@pytest.mark.parametrize("phase", PHASES)
def test_influxdb_holds_the_final_kpis(outcome: sc.Outcome, phase: str) -> None:
    i = influx_cmp(outcome)
    missing = [k for k in i["missing"] if point_phase(outcome, k) == phase]
    wrong = [k for k in i["wrong"] if point_phase(outcome, k) == phase]
    assert not missing, f"{phase}: {len(missing)} points missing: {missing[:3]}"
    assert not wrong, f"{phase}: {len(wrong)} points differ: {wrong[:3]}"


@pytest.mark.parametrize("phase", PHASES[1:])
def test_every_fault_recovers(outcome: sc.Outcome, phase: str) -> None:
    fault = next(f for f in outcome.faults if f.name == phase)
    assert None not in fault.recovery.values(), f"layers that never caught up after {phase}: {fault.recovery}"
