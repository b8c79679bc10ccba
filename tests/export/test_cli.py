"""`brain export` refuses a plant config it cannot use, before touching Kafka (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from brain.cli import main

PLANT = "sites: [{id: s, lines: [{id: l, machines: [{id: m}]}]}]\n"


def test_no_export_key_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "plant.yaml"
    path.write_text(PLANT)
    assert main(["export", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: export: expected a mapping" in err and "exports nothing" in err


def test_bad_export_key_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "plant.yaml"
    path.write_text(PLANT + "export: {enterprise: e, windows: [15m]}\n")
    assert main(["export", "--config", str(path)]) == 2
    assert f"{path}: export.windows[0]: expected one of day, 1h, found '15m'" in capsys.readouterr().err
