"""The pack contract end to end: `brain packs new` scaffolds a pack into a temporary folder, pip
installs it (its own pyproject, onto a --target path with its dist-info: the entry point is how the
core finds it), and then — with no core file changed — `brain packs list` shows it, `brain kpi`
computes its KPI from a reading file, and the scaffold's own tests pass."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

NAME = "widget"


def _run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    out = subprocess.run(list(args), capture_output=True, text=True, env=env, cwd=cwd, timeout=120)
    assert out.returncode == 0, f"{' '.join(args)} exited {out.returncode}:\n{out.stdout}\n{out.stderr}"
    return out.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("packs")
    _run(sys.executable, "-m", "brain.cli", "packs", "new", NAME, "--dir", str(root))
    site = root / "site"
    _run(sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(root / NAME))
    assert (site / f"brain_pack_{NAME}").is_dir()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, (str(site), os.environ.get("PYTHONPATH")))),
    }
    return root / NAME, env


def test_brain_packs_list_shows_the_new_pack(installed: tuple[Path, dict[str, str]]) -> None:
    _, env = installed
    doc = json.loads(_run(sys.executable, "-m", "brain.cli", "packs", "list", "--json", env=env))
    packs = {p["id"]: p for p in doc["packs"]}
    assert NAME in packs and "smt" in packs
    assert f"{NAME}_reject_ppm" in [k["field"] for k in packs[NAME]["kpis"]]


def test_brain_kpi_computes_the_new_packs_kpi(installed: tuple[Path, dict[str, str]]) -> None:
    room, env = installed
    out = _run(sys.executable, "-m", "brain.cli", "kpi", "--config", str(room / "sample.yaml"), "--input",
               str(room / "testdata/worked_example.jsonl"), "--window", "all", "--from",
               "2025-03-03T08:00:00+08:00", "--to", "2025-03-03T09:00:00+08:00", env=env)  # fmt: skip
    machine = next(r for r in map(json.loads, out.splitlines()) if r["machine"] == "m1")
    assert machine[f"{NAME}_reject_ppm"] == pytest.approx(10 / 1000 * 1e6, rel=1e-12)


def test_the_scaffolds_own_tests_pass(installed: tuple[Path, dict[str, str]]) -> None:
    room, env = installed
    out = _run(
        sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", env=env, cwd=room
    )
    assert "2 passed" in out


def test_without_the_install_the_pack_is_unknown(installed: tuple[Path, dict[str, str]]) -> None:
    """The control: the same config without the installed pack is a clear config error."""
    room, _ = installed
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    config, readings = str(room / "sample.yaml"), str(room / "testdata/worked_example.jsonl")
    args = [
        sys.executable,
        "-m",
        "brain.cli",
        "kpi",
        "--config",
        config,
        "--input",
        readings,
        "--window",
        "all",
    ]
    out = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode != 0
    assert "packs[0]" in out.stderr and NAME in out.stderr and "installed pack" in out.stderr
