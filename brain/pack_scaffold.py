"""`brain packs new NAME`: a new pack as its own pip-installable project, one room like
packs/smt — its rows, a sample plant config, a worked example, a test that runs it through
`brain kpi`, a README — so that adding a pack needs no core change:

    brain packs new dyeing --dir ~/src && pip install -e ~/src/dyeing && pytest ~/src/dyeing

`files(name)` is pure (path -> text); `write(name, root)` creates the folder.
"""

from __future__ import annotations

import json
from pathlib import Path

from brain.pack import PACK_ID

TOKEN = "__pack__"

_INIT = '''"""`__pack__` — what this trade measures (README.md has every formula and its source).

Rows only: the core folds the metrics by kind into one-minute sums, computes the derived sums per
machine and window, and the KPIs from the summed parts of any window or scope (brain/pack.py)."""

from __future__ import annotations

from brain.pack import ConfigKey, Derived, Kpi, Metric, Pack, ratio
from brain.text import Text
from brain.vocabulary import COUNTER


def _rated_units(s, cfg):  # rated units per hour x running hours: the capacity, additive
    rated = cfg.get("rated_per_h")
    return None if rated is None or s["apt_h"] is None else rated * s["apt_h"]


PACK = Pack(
    id="__pack__",
    title=Text("__pack__ (new pack)", "__pack__ (新行业包)"),
    metrics=(
        Metric("good_units", COUNTER, "units", Text("Good units", "良品数")),
        Metric("rejects", COUNTER, "units", Text("Rejects", "不良数")),
    ),
    config=(ConfigKey("rated_per_h", "positive", ("line", "machine"), help="rated units per hour"),),
    derived=(Derived("rated_units", _rated_units, "rated_per_h x APT hours"),),
    kpis=(
        Kpi(
            "reject_ppm",
            "ppm",
            Text("Rejects", "不良率 (ppm)"),
            lambda s: ratio(s["rejects"], s["good_units"] + s["rejects"], 1e6),
            "rejects / (good_units + rejects) x 10^6",
        ),
        Kpi(
            "units_per_h",
            "1/h",
            Text("Good units per running hour", "每运行小时良品数"),
            lambda s: ratio(s["good_units"], s["apt_h"]),
            "good_units / APT hours",
        ),
        Kpi(
            "rate_efficiency",
            "ratio",
            Text("Rate efficiency", "速率效率"),
            lambda s: ratio(s["good_units"] + s["rejects"], s["rated_units"]),
            "(good_units + rejects) / (rated_per_h x APT hours)",
        ),
    ),
)
'''

_SAMPLE = """# A plant config using the __pack__ pack (checked by tests/test___pack__.py).
timezone: Asia/Shanghai
packs: [__pack__]
sites:
  - id: site1
    lines:
      - id: line1
        pack: __pack__
        __pack__: {rated_per_h: 1200}     # line-level keys: defaults for its machines
        machines:
          - {id: m1}
"""

# 1 h running, 990 good units and 10 rejects
_READINGS = "".join(
    json.dumps(
        {"site": "site1", "line": "line1", "machine": "m1", "metric": metric, "value": value, "ts": ts}
    )
    + "\n"
    for metric, value, ts in (
        ("state", "running", 1740960000000),
        ("good_units", 0, 1740960000000),
        ("rejects", 0, 1740960000000),
        ("good_units", 990, 1740963600000),
        ("rejects", 10, 1740963600000),
    )
)

_TEST = '''"""The __pack__ pack: its worked example through `brain kpi` (the pack must be installed:
`pip install -e .`, so that the entry point `brain.packs` finds it) and its sample config."""

from __future__ import annotations

from pathlib import Path

import pytest

from brain.pack_testing import kpi_records
from brain.plant import load_plant

ROOM = Path(__file__).resolve().parents[1]
H0, H1 = "2025-03-03T08:00:00+08:00", "2025-03-03T09:00:00+08:00"


def test_the_worked_example() -> None:
    """1 h running, 990 good units, 10 rejects, rated 1,200/h -> 10,000 ppm, 990/h, 0.8333."""
    records = kpi_records(ROOM / "sample.yaml", ROOM / "testdata/worked_example.jsonl", H0, H1)
    for key in (("machine", "m1"), ("line", "line1"), ("site", "site1")):
        r = records[key]
        assert r["__pack___reject_ppm"] == pytest.approx(10 / (990 + 10) * 1e6, rel=1e-12)
        assert r["__pack___units_per_h"] == pytest.approx(990 / 1.0, rel=1e-12)  # one running hour
        assert r["__pack___rate_efficiency"] == pytest.approx((990 + 10) / 1200, rel=1e-12)


def test_the_sample_config_loads() -> None:
    plant = load_plant(str(ROOM / "sample.yaml"))
    assert plant.packs == ("__pack__",)
'''

_README = """# `__pack__` — a pack for Industrial Brain 1+N

Made by `brain packs new __pack__`. Replace the example rows with your trade's (shared/PACKS.md,
docs/PACKS.md): every metric, config key and KPI below, with its formula and its source.

## Metrics
| metric | kind | unit | meaning |
|---|---|---|---|
| `good_units` | counter | units | good units made |
| `rejects` | counter | units | rejected units |

## Config keys (under `__pack__:` at a line or machine)
| key | kind | where | meaning |
|---|---|---|---|
| `rated_per_h` | positive | line, machine | rated units per hour |

## KPIs (record fields `__pack___<kpi>`, null when undefined)
| field | unit | formula | source |
|---|---|---|---|
| `__pack___reject_ppm` | ppm | rejects / (good_units + rejects) × 10⁶ | (cite yours) |
| `__pack___units_per_h` | 1/h | good_units / APT hours | (cite yours) |
| `__pack___rate_efficiency` | ratio | (good_units + rejects) / (rated_per_h × APT hours) | (cite yours) |

## Worked example (`testdata/worked_example.jsonl`, `tests/test___pack__.py`)
1 h running, 990 good units, 10 rejects, rated 1,200/h → 10,000 ppm, 990 per hour, 0.8333.

## Use it
```sh
pip install -e .                       # registers the entry point brain.packs: __pack__
brain packs list                       # shows it
pytest                                 # the worked example through brain kpi
brain kpi --config sample.yaml --input testdata/worked_example.jsonl --window all \\
  --from 2025-03-03T08:00:00+08:00 --to 2025-03-03T09:00:00+08:00
```
"""

_PYPROJECT = """[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "brain-pack-__pack__"
version = "0.1.0"
description = "The __pack__ industry pack for Industrial Brain 1+N"
requires-python = ">=3.11"
dependencies = []  # industrial-brain provides `brain`; install it first

[project.entry-points."brain.packs"]
__pack__ = "brain_pack___pack__:PACK"

[tool.setuptools]
packages = ["brain_pack___pack__"]

[tool.pytest.ini_options]
testpaths = ["tests"]
"""


def package(name: str) -> str:
    """The import package of a scaffolded pack (a prefix, so `cnc` cannot shadow anything)."""
    return f"brain_pack_{name}"


def files(name: str) -> dict[str, str]:
    """Relative path -> text of the scaffold of pack `name`."""
    if not PACK_ID.match(name):
        raise ValueError(
            f"pack name {name!r}: expected [a-z][a-z0-9_]* (it is the pack id and the config key)"
        )
    texts = {
        "pyproject.toml": _PYPROJECT,
        "README.md": _README,
        f"{package(name)}/__init__.py": _INIT,
        "sample.yaml": _SAMPLE,
        "testdata/worked_example.jsonl": _READINGS,
        f"tests/test_{name}.py": _TEST,
    }
    return {path: text.replace(TOKEN, name) for path, text in texts.items()}


def write(name: str, root: Path) -> Path:
    """Create `root/name/` with the scaffold; refuse to overwrite an existing folder."""
    texts = files(name)  # validates the name first
    target = root / name
    if target.exists():
        raise FileExistsError(f"{target}: already exists (choose another NAME or --dir)")
    for path, text in texts.items():
        out = target / path
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    return target
