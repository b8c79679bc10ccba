"""`brain packs list` and `brain packs new` in-process: the shipped packs and their rows, the
scaffold's files, clear errors for a bad name or an existing folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brain.cli import main
from brain.pack_registry import available
from brain.pack_scaffold import files


def test_list_names_every_pack_metric_key_and_kpi(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["packs", "list"]) == 0
    text = capsys.readouterr().out
    for pack in available().values():
        assert pack.id in text
        for name in (
            [m.name for m in pack.metrics]
            + [c.name for c in pack.config]
            + [pack.field(k) for k in pack.kpis]
        ):
            assert name in text


def test_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["packs", "list", "--json"]) == 0
    doc = {p["id"]: p for p in json.loads(capsys.readouterr().out)["packs"]}
    assert set(doc) == set(available())
    battery = doc["battery"]
    assert {
        "name": "coat_weight_gsm",
        "kind": "sample",
        "unit": "g/m²",
        "minimum": 0,
        "maximum": 1000,
    } in battery["metrics"]
    assert [c["kind"] for c in battery["config"]] == ["limits"]
    assert battery["alert_presets"][0]["field"] == "battery_coat_cpk"


def test_new_writes_the_scaffold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["packs", "new", "dyeing", "--dir", str(tmp_path)]) == 0
    written = sorted(
        str(p.relative_to(tmp_path / "dyeing")) for p in (tmp_path / "dyeing").rglob("*") if p.is_file()
    )
    assert written == sorted(files("dyeing"))
    assert "brain_pack_dyeing/__init__.py" in written and "tests/test_dyeing.py" in written
    assert 'dyeing = "brain_pack_dyeing:PACK"' in (tmp_path / "dyeing/pyproject.toml").read_text()
    assert "__pack__" not in "".join(files("dyeing").values())


@pytest.mark.parametrize("name", ["Dyeing", "9x", "a-b", ""])
def test_new_refuses_a_bad_name(tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["packs", "new", name, "--dir", str(tmp_path)]) == 2
    assert "[a-z][a-z0-9_]*" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_new_refuses_an_existing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "dyeing").mkdir()
    assert main(["packs", "new", "dyeing", "--dir", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err
