"""`brain city` on the worked example: the same rows as evaluate(), bad lines with their line number."""

from __future__ import annotations

import json
from pathlib import Path

from brain.city import evaluate, load_register
from brain.cli import main

ROOT = Path(__file__).resolve().parents[2]
REGISTER = str(ROOT / "examples" / "city" / "register.yaml")
EXPORTS = ROOT / "examples" / "city" / "exports.jsonl"


def run(tmp_path: Path, *extra: str, input_: Path = EXPORTS) -> tuple[int, list[dict]]:
    out = tmp_path / "out.jsonl"
    rc = main(
        [
            "city",
            "--register",
            REGISTER,
            "--input",
            str(input_),
            "--year",
            "2026",
            "--output",
            str(out),
            *extra,
        ]
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return rc, rows


def test_batch_equals_the_core(tmp_path, capsys):
    rc, rows = run(tmp_path)
    assert rc == 0
    records = [json.loads(line) for line in EXPORTS.read_text().splitlines()]
    want = evaluate(load_register(REGISTER), records, 2026).rows()
    assert rows == json.loads(json.dumps(want))
    assert [r["kind"] for r in rows].count("enterprise") == 7
    assert {r["kind"] for r in rows} == {"enterprise", "sector", "park"}
    err = capsys.readouterr().err
    assert "city/exports.jsonl:17: city.unknown_enterprise: 'e99' is not in the register" in err
    assert "rejected 1" in err and "duplicates 2" in err


def test_month(tmp_path):
    rc, rows = run(tmp_path, "--month", "2026-03")
    assert rc == 0 and {r["period"] for r in rows} == {"2026-03"}


def test_bad_lines_stop_or_are_counted(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    lines = EXPORTS.read_text().splitlines()
    bad.write_text("\n".join([lines[0], "{not json", "[1, 2]", *lines[1:]]) + "\n")
    rc, _ = run(tmp_path, input_=bad)
    assert rc == 2
    assert f"{bad}:2: not a JSON object" in capsys.readouterr().err
    rc, rows = run(tmp_path, "--skip-bad", input_=bad)
    err = capsys.readouterr().err
    assert rc == 0 and "bad_lines 2" in err and f"{bad}:3: not a JSON object" in err
    assert next(r for r in rows if r.get("enterprise") == "e1")["kwh"] == 10_000_000


def test_bad_register_is_a_clear_error(tmp_path, capsys):
    reg = tmp_path / "r.yaml"
    reg.write_text("scheme: {indicators: []}\nenterprises: []\n")
    assert main(["city", "--register", str(reg), "--input", str(EXPORTS), "--year", "2026"]) == 2
    assert f"{reg}: scheme.indicators: expected at least one indicator" in capsys.readouterr().err


def test_a_month_outside_the_year_is_a_clear_error(tmp_path, capsys):
    rc, _ = run(tmp_path, "--month", "2025-03")
    assert rc == 2
    assert "--month: month: expected a month YYYY-MM within 2026, found '2025-03'" in capsys.readouterr().err
