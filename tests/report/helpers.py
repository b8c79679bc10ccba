"""A report test plant on a Chinese calendar, its simulated readings, and `brain kpi` to compare with.

Readings: Friday 2026-02-13 18:00 to Sunday 2026-02-15 10:00 (Asia/Shanghai). Saturday
2026-02-14 is an adjusted workday (调休) in chinese-calendar, so with `calendar: cn` its day and
night shifts run; the Friday night shift crosses midnight into it.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import yaml

from brain.cli import main as brain_main

REPO = Path(__file__).resolve().parents[2]
START, DURATION = "2026-02-13T18:00:00+08:00", "40h"
CODES = {0: "offline", 1: "idle", 2: "running", 3: "setup", 4: "fault", 5: "planned_stop"}
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def plant_data(site: str) -> dict[str, Any]:
    return {
        "timezone": "Asia/Shanghai",
        "calendar": "cn",
        "shifts": [
            {
                "name": "day",
                "start": "08:00",
                "end": "20:00",
                "days": WEEKDAYS,
                "breaks": [{"start": "12:00", "end": "12:30"}],
            },
            {
                "name": "night",
                "start": "20:00",
                "end": "08:00",
                "days": WEEKDAYS,
                "breaks": [{"start": "00:00", "end": "00:30"}],
            },
        ],
        "tariff": {"prices": {"peak": 1.0812, "flat": 0.6435, "valley": 0.2983}, "prices_are_example": True},
        "sites": [
            {
                "id": site,
                "contracted_demand_kw": 300,
                "lines": [
                    {
                        "id": "smt1",
                        "machines": [
                            {"id": "printer", "ideal_cycle_s": 18},
                            {"id": "mounter1", "ideal_cycle_s": 20},
                            {"id": "reflow", "ideal_cycle_s": 20},
                        ],
                    },
                    {
                        "id": "cnc1",
                        "defaults": {"counter_modulus": 65536, "state_codes": CODES},
                        "machines": [
                            {"id": "vmc1", "ideal_cycle_s": 95},
                            {"id": "main_meter", "kind": "meter"},
                        ],
                    },
                ],
            }
        ],
    }


def write_plant(directory: Path, site: str) -> Path:
    path = directory / f"plant-{site}.yaml"
    path.write_text(yaml.safe_dump(plant_data(site), allow_unicode=True), encoding="utf-8")
    return path


def simulate(
    config: Path,
    out: Path,
    *,
    start: str = START,
    duration: str = DURATION,
    seed: int = 11,
    timeout: float = 120,
    period: str = "state=0,counters=60,energy=60,power=60",
) -> Path:
    """Readings of the plant as JSON Lines (the project's own simulator, no MQTT)."""
    cmd = [
        sys.executable,
        "-m",
        "brain.cli",
        "simulate",
        "--config",
        str(config),
        "--seed",
        str(seed),
        "--start",
        start,
        "--duration",
        duration,
        "--speed",
        "0",
        "--no-mqtt",
        "--out",
        str(out),
        "--period",
        period,
        "--quiet",
    ]
    subprocess.run(cmd, check=True, capture_output=True, cwd=REPO, timeout=timeout)
    return out


def brain(*argv: str) -> tuple[int, str]:
    """Run a `brain` command in this process; (exit code, stdout)."""
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = brain_main(list(argv))
    return code, buf.getvalue()


def brain_kpi(config: Path, readings: Path, window: str, start: str, end: str) -> list[dict[str, Any]]:
    """What `brain kpi` prints, parsed."""
    code, out = brain(
        "kpi",
        "--config",
        str(config),
        "--input",
        str(readings),
        "--window",
        window,
        "--from",
        start,
        "--to",
        end,
    )
    assert code == 0, out
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def report_json(directory: Path) -> dict[str, Any]:
    return json.loads((directory / "report.json").read_text(encoding="utf-8"))


def key(r: dict[str, Any]) -> tuple:
    return (r["window"], r["start"], r["end"], r["scope"], r["site"], r["line"], r["machine"])


def close(a: Any, b: Any, rel: float = 1e-9) -> bool:
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return abs(a - b) <= rel * max(1.0, abs(a), abs(b))
    if isinstance(b, float) and isinstance(a, (int, float)) and not isinstance(a, bool):
        return close(b, a, rel)
    return a == b


def differences(got: dict[str, Any], want: dict[str, Any], *, exact: bool = True) -> list[str]:
    """Fields where two KPI records differ (exactly, or to 1e-9 relative)."""
    out = []
    for name in sorted(set(got) | set(want)):
        g, w = got.get(name), want.get(name)
        same = g == w if exact else close(g, w)
        if not same:
            out.append(f"{name}: report {g!r} != brain kpi {w!r}")
    return out
