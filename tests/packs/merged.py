"""The four packs' sample plants and worked-example readings merged into one plant of one site
(a test's own site id): the lines keep their ids, the readings their times (2025-03-03 08:00 to
16:00 +08:00). Used where the packs must go through the stream, InfluxDB or the benchmark together."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
PACKS = ("smt", "cnc", "weaving", "battery")
T0 = 1740960000000  # 2025-03-03T08:00:00+08:00
H8 = T0 + 8 * 3_600_000


def merged_plant(site: str) -> dict[str, Any]:
    """The plant config (a mapping): `packs:` all four, one site with every sample's lines."""
    lines: list[dict[str, Any]] = []
    tz = None
    for pack in PACKS:
        sample = yaml.safe_load((ROOT / f"packs/{pack}/sample.yaml").read_text())
        assert tz in (None, sample["timezone"]), "the samples' time zones differ"
        tz = sample["timezone"]
        for s in sample["sites"]:
            lines += s["lines"]
    assert len({ln["id"] for ln in lines}) == len(lines), "two samples share a line id"
    return {"timezone": tz, "packs": list(PACKS), "sites": [{"id": site, "lines": lines}]}


def merged_readings(site: str) -> list[dict[str, Any]]:
    """Every worked example's readings with the site replaced, in event-time order."""
    rows: list[dict[str, Any]] = []
    for pack in PACKS:
        text = (ROOT / f"packs/{pack}/testdata/worked_example.jsonl").read_text()
        rows += [json.loads(line) | {"site": site} for line in text.splitlines() if line.strip()]
    return sorted(rows, key=lambda r: r["ts"])


def write_merged(root: Path, site: str) -> tuple[Path, Path]:
    """The merged plant and readings as files (plant.yaml, readings.jsonl) under `root`."""
    config, readings = root / "plant.yaml", root / "readings.jsonl"
    config.write_text(yaml.safe_dump(merged_plant(site), sort_keys=False))
    readings.write_text("".join(json.dumps(r) + "\n" for r in merged_readings(site)))
    return config, readings
