"""`brain bench --packs`: the load carries each pack's metrics, made from its rows, and the bench
plant is a valid config whose lines run the packs (pure; the bench itself: tests/bench)."""

from __future__ import annotations

import orjson
import yaml

from brain.bench.load import LINES, LOAD_METRICS, Load, metric_index, plant_yaml
from brain.pack_registry import available, get
from brain.plant import parse_plant
from ingest.validate import pack_value_problem

PACKS = tuple(sorted(available()))


def _load() -> Load:
    return Load("benchx", [(f"l{i % LINES}", f"m{i}") for i in range(8)], packs=PACKS)


def test_every_load_message_carries_its_pack_metrics_and_they_are_valid() -> None:
    load = _load()
    for i, (line, _) in enumerate(load.machines):
        for _ in range(3):
            _, payload = load.message(i)
        metrics = orjson.loads(payload)["metrics"]
        pack = get(PACKS[int(line[1:]) % len(PACKS)])
        assert set(metrics) == set(LOAD_METRICS) | {m.name for m in pack.folded}
        for m in pack.folded:
            assert pack_value_problem(m, metrics[m.name]) is None, (pack.id, m.name, metrics[m.name])
    assert load.readings == sum(load.sent.values())


def test_the_bench_plant_runs_the_packs() -> None:
    load = _load()
    plant = parse_plant(yaml.safe_load(plant_yaml(load.site, load.machines, PACKS)), source="bench.yaml")
    assert set(plant.packs) == set(PACKS)
    for _, line, machine in plant.machines():
        assert machine.pack == PACKS[int(line.id[1:]) % len(PACKS)]
    index = metric_index(PACKS)
    assert all(m.name in index for p in PACKS for m in get(p).folded) and len(set(index.values())) == len(
        index
    )


def test_without_packs_the_load_is_the_core_seven() -> None:
    load = Load("benchx", [("l0", "m0")])
    _, payload = load.message(0)
    assert set(orjson.loads(payload)["metrics"]) == set(LOAD_METRICS) and load.readings == len(LOAD_METRICS)
