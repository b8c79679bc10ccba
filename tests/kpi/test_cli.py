"""`brain kpi`: inputs (JSON Lines, CSV), bad lines, formats, ordering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brain.cli import main

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "examples" / "oee-com.yaml")
MINIMAL = str(ROOT / "examples" / "plant-minimal.yaml")


def _run(capsys, *args: str) -> tuple[int, str, str]:
    rc = main(["kpi", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_csv_input_with_rfc3339_and_epoch_times(tmp_path, capsys) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "site,line,machine,metric,value,ts\n"
        "plant1,line1,m1,state,running,2025-03-03T08:00:00+08:00\n"
        "plant1,line1,m1,count_total,0,1740960000000\n"
        "plant1,line1,m1,count_total,1440,2025-03-03T09:00:00+08:00\n"
    )
    rc, out, _ = _run(
        capsys,
        "--config",
        MINIMAL,
        "--input",
        str(path),
        "--window",
        "15m",
        "--from",
        "2025-03-03T08:00:00+08:00",
        "--to",
        "2025-03-03T09:00:00+08:00",
    )
    assert rc == 0
    recs = [json.loads(x) for x in out.splitlines()]
    assert len(recs) == 4 * 3
    keys = [(r["start"], r["site"], r["line"] or "", r["machine"] or "") for r in recs]
    assert keys == sorted(keys)
    machine = [r for r in recs if r["scope"] == "machine"]
    assert [r["pq"] for r in machine] == pytest.approx([360] * 4)
    assert machine[0]["performance"] == pytest.approx(2.5 * 360 / 900)


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ('{"site": "plant1"\n', ".jsonl", "r.jsonl:1: invalid JSON"),
        (
            '{"site":"plant1","line":"line1","machine":"m1","metric":"state","value":"running"}\n',
            ".jsonl",
            "r.jsonl:1: reading: missing required field 'ts'",
        ),
        (
            '\n{"site":"plant1","line":"line1","machine":"m1","metric":"x","value":1,"ts":1.5}\n',
            ".jsonl",
            "r.jsonl:2: reading.ts: expected integer epoch milliseconds",
        ),
        ("site,line,machine,metric,value\n", ".csv", "r.csv:1: expected the header"),
        (
            "site,line,machine,metric,value,ts\nplant1,line1,m1,state,running\n",
            ".csv",
            "r.csv:2: expected 6 columns, found 5",
        ),
        (
            "site,line,machine,metric,value,ts\nplant1,line1,m1,state,running,yesterday\n",
            ".csv",
            "r.csv:2: expected RFC 3339 time or epoch ms",
        ),
    ],
)
def test_bad_lines_fail_with_file_and_line(tmp_path, capsys, content, suffix, message) -> None:
    path = tmp_path / f"r{suffix}"
    path.write_text(content)
    rc, out, err = _run(capsys, "--config", MINIMAL, "--input", str(path), "--window", "1h")
    assert rc == 2 and out == ""
    assert message in err


def test_skip_bad_counts_and_continues(tmp_path, capsys) -> None:
    path = tmp_path / "r.jsonl"
    good = {
        "site": "plant1",
        "line": "line1",
        "machine": "m1",
        "metric": "state",
        "value": "idle",
        "ts": 1740960000000,
    }
    other = dict(good, machine="ghost")
    path.write_text("not json\n" + json.dumps(good) + "\n" + json.dumps(other) + "\n")
    rc, out, err = _run(capsys, "--config", MINIMAL, "--input", str(path), "--window", "1m", "--skip-bad")
    assert rc == 0 and len(out.splitlines()) == 3
    assert "kpi.skipped_bad_lines" in err and "count=1" in err
    assert "kpi.unknown_machine" in err and "plant1/line1/ghost" in err


def test_table_format(capsys) -> None:
    rc, out, _ = _run(
        capsys,
        "--config",
        CONFIG,
        "--input",
        str(ROOT / "tests/kpi/cases/oee_com/readings.jsonl"),
        "--window",
        "shift",
        "--format",
        "table",
    )
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["scope", "site", "line"] and len(lines) == 4
    assert "0.7479" in lines[3]


def test_config_errors_are_reported(tmp_path, capsys) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("sites: [{id: a, lines: [{id: b, machines: [{id: c, ideal_cycle: 1}]}]}]\n")
    rc, _, err = _run(capsys, "--config", str(bad), "--input", "-", "--window", "1h")
    assert rc == 2 and "sites[0].lines[0].machines[0].ideal_cycle" in err


def test_shift_window_needs_shifts(capsys) -> None:
    rc, _, err = _run(capsys, "--config", MINIMAL, "--input", "-", "--window", "shift")
    assert rc == 2 and "shifts" in err


def test_bad_from(capsys) -> None:
    rc, _, err = _run(capsys, "--config", MINIMAL, "--input", "-", "--window", "all", "--from", "soon")
    assert rc == 2 and "--from/--to" in err
