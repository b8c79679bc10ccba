"""`brain simulate` writing files: byte-for-byte determinism, bad-out, `brain kpi` on the result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from brain.cli import main
from ingest.simulator import BAD_KINDS
from ingest.simulator.cli import parse_duration, parse_start
from tests.simulator.plants import plant_data

START = "2026-03-02T06:00:00+08:00"


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "plant.yaml"
    path.write_text(yaml.safe_dump(plant_data("clisite")))
    return str(path)


def _run(config: str, out: Path, *extra: str) -> int:
    argv = ["simulate", "--config", config, "--no-mqtt", "--speed", "0", "--quiet", "--start", START]
    return main([*argv, "--duration", "3h", "--out", str(out), *extra])


def test_same_seed_identical_file_different_seed_different(config: str, tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    assert _run(config, a, "--seed", "11") == 0
    assert (
        _run(config, b, "--seed", "11", "--bad-rate", "0.05", "--bad-out", str(tmp_path / "bad.jsonl")) == 0
    )
    assert _run(config, c, "--seed", "12") == 0
    assert a.read_bytes() == b.read_bytes()  # bad messages never touch the good stream
    assert a.read_bytes() != c.read_bytes()
    bad = [json.loads(line) for line in (tmp_path / "bad.jsonl").read_text().splitlines()]
    assert {b["kind"] for b in bad} == set(BAD_KINDS)
    assert all(b["reason"] == BAD_KINDS[b["kind"]].value for b in bad)
    first = json.loads(a.read_text().splitlines()[0])
    assert set(first) == {"site", "line", "machine", "metric", "value", "ts"}
    assert first["ts"] == parse_start(START) and first["site"] == "clisite"


def test_brain_kpi_runs_on_the_file(config: str, tmp_path: Path, capsys) -> None:
    out = tmp_path / "r.jsonl"
    assert (
        _run(config, out, "--seed", "5", "--duration", "24h", "--period", "counters=30,energy=30,power=30")
        == 0
    )
    capsys.readouterr()
    assert main(["kpi", "--config", config, "--input", str(out), "--window", "shift"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    day = [r for r in records if r["scope"] == "line" and r["shift"] == "day"]
    assert {r["line"] for r in day} == {"smt1", "cnc1", "weaving1"}
    for r in day:
        assert r["oee"] is not None and 0.3 <= r["oee"] <= 0.95


def test_option_errors(config: str, tmp_path: Path) -> None:
    assert main(["simulate", "--config", config, "--no-mqtt"]) == 2  # nothing to do
    with pytest.raises(SystemExit):
        main(["simulate", "--config", config, "--duration", "8 hours"])
    assert parse_duration("1h30m") == 5_400_000 and parse_duration("250ms") == 250
    assert parse_start("1772402400000") == parse_start(START)
