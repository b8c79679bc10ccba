"""The oee.com worked example, through the `brain kpi` command (KPIS.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from brain.cli import main

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "examples" / "oee-com.yaml"
READINGS = ROOT / "tests" / "kpi" / "cases" / "oee_com" / "readings.jsonl"
WINDOW_ARGS = {
    "shift": ["--window", "shift"],
    "all": ["--window", "all", "--from", "2025-03-03T06:00:00+08:00", "--to", "2025-03-03T14:00:00+08:00"],
    "all-epoch-ms": ["--window", "all", "--from", "1740952800000", "--to", "1740981600000"],
}


def _machine_record(out: str) -> dict:
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["scope"] for r in records] == ["site", "line", "machine"]
    return records[2]


@pytest.mark.parametrize("window", sorted(WINDOW_ARGS))
def test_oee_com_through_brain_kpi(window: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["kpi", "--config", str(CONFIG), "--input", str(READINGS), *WINDOW_ARGS[window]])
    assert rc == 0
    rec = _machine_record(capsys.readouterr().out)
    assert rec["pot_s"] == 480 * 60
    assert rec["pdot_s"] == 60 * 60
    assert rec["pbt_s"] == 420 * 60
    assert rec["apt_s"] == 373 * 60
    assert rec["adet_s"] == 47 * 60
    assert rec["unknown_s"] == 0
    assert (rec["pq"], rec["sq"], rec["gq"], rec["failures"]) == (19271, 423, 18848, 1)
    assert round(rec["availability"] * 100, 2) == 88.81
    assert round(rec["performance"] * 100, 2) == 86.11
    assert round(rec["quality"] * 100, 2) == 97.80
    assert round(rec["oee"] * 100, 2) == 74.79
    assert rec["oee"] == pytest.approx(18848 * 1.0 / 25200, abs=1e-12)
    assert rec["mttr_s"] == 47 * 60
    assert rec["mtbf_s"] == 373 * 60


def test_oee_com_through_installed_script() -> None:
    brain = Path(sys.executable).with_name("brain")
    proc = subprocess.run(
        [str(brain), "kpi", "--config", str(CONFIG), "--input", str(READINGS), "--window", "shift"],
        capture_output=True,
        text=True,
        check=True,
    )
    rec = _machine_record(proc.stdout)
    assert round(rec["oee"] * 100, 2) == 74.79
