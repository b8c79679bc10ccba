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


def dense_readings(plant: Any, site: str, *, start: int, minutes: int, step_ms: int = 3_000,
                   seed: int = 7) -> list[dict[str, Any]]:  # fmt: skip
    """Readings every ~`step_ms` for every machine of `plant` (parse_plant of merged_plant): the
    core metrics and each metric of its pack by its row (a counter rising, a gauge or sample within
    its bounds, a flag toggling, a text among its values), in event-time order. Generated from the
    pack rows, so any installed pack gets a load; dense enough that no window is left to guess."""
    import random

    from brain.pack_registry import get
    from brain.vocabulary import COUNTER, FLAG, GAUGE, SAMPLE

    rnd = random.Random(seed)
    out: list[dict[str, Any]] = []
    end = start + minutes * 60_000
    for _s, ln, m in plant.machines():
        metrics = get(m.pack).metrics if m.pack else ()
        totals: dict[str, float] = {}
        state, ts = "running", start + rnd.randrange(0, 1_000)
        while ts < end:
            values: dict[str, Any] = {}
            if m.kind == "meter":
                values["energy_kwh"] = totals["energy_kwh"] = totals.get("energy_kwh", 100.0) + rnd.random()
            else:
                if rnd.random() < 0.05:
                    state = rnd.choice(["running", "running", "idle", "fault", "setup"])
                    values["state"] = state
                up = state == "running"
                totals["count_total"] = totals.get("count_total", 0) + (rnd.randrange(0, 3) if up else 0)
                values["count_total"] = totals["count_total"]
                values["power_kw"] = round(5 + 20 * rnd.random(), 3)
            for metric in metrics:
                lo = 0.0 if metric.minimum is None else metric.minimum
                hi = lo + 100.0 if metric.maximum is None else metric.maximum
                if metric.kind == COUNTER:
                    totals[metric.name] = totals.get(metric.name, 0) + rnd.randrange(0, 4)
                    values[metric.name] = totals[metric.name]
                elif metric.kind == FLAG:
                    values[metric.name] = rnd.random() < 0.7
                elif metric.kind in (GAUGE, SAMPLE):
                    values[metric.name] = round(lo + (hi - lo) * (0.4 + 0.2 * rnd.random()), 4)
                elif rnd.random() < 0.1:  # text: telemetry only
                    values[metric.name] = rnd.choice(metric.values or ("P1", "P2"))
            out += [{"site": site, "line": ln.id, "machine": m.id, "metric": k, "value": v, "ts": ts}
                    for k, v in values.items()]  # fmt: skip
            ts += step_ms + rnd.randrange(-300, 300)
    return sorted(out, key=lambda r: r["ts"])
