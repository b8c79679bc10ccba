"""Benchmark of one bridge process through the real Mosquitto and Kafka, in the two forms of the
ingest targets (`make bench`; not part of `make test`). Figures: docs/BENCHMARKS.md, "Bridge"."""

from __future__ import annotations

import pytest

from ingest import bench

pytestmark = [pytest.mark.bench, pytest.mark.stack]


def test_bench_bridge(stack: object) -> None:
    assert bench.main(["--form", "both", "--repeats", "3"]) == 0
