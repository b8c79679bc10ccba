"""Every pack shipped in packs/<id>/ is one room (shared/PACKS.md, Telegraf's rule): the folder
name is the entry-point name and the pack id; README.md names every metric, config key and KPI
field; sample.yaml is a plant config that lists the pack; the worked example and a test exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from brain.pack_registry import available
from brain.plant import load_plant

PACKS_DIR = Path(__file__).resolve().parents[2] / "packs"
ROOMS = sorted(
    p.name for p in PACKS_DIR.iterdir() if (p / "__init__.py").exists() and p.name != "__pycache__"
)


def test_every_room_is_registered_under_its_name() -> None:
    for room in ROOMS:
        assert room in available(), f"packs/{room} is not registered in pyproject.toml (brain.packs)"
        assert available()[room].id == room


@pytest.mark.parametrize("room", ROOMS)
def test_the_room(room: str) -> None:
    pack, folder = available()[room], PACKS_DIR / room
    for name in ("README.md", "sample.yaml", "testdata/worked_example.jsonl", f"tests/test_{room}.py"):
        assert (folder / name).is_file(), f"packs/{room}/{name} is missing"
    readme = (folder / "README.md").read_text()
    named = (
        [m.name for m in pack.metrics] + [c.name for c in pack.config] + [pack.field(k) for k in pack.kpis]
    )
    missing = [n for n in named if f"`{n}`" not in readme]
    assert not missing, f"packs/{room}/README.md does not name {missing}"
    assert room in load_plant(str(folder / "sample.yaml")).packs
