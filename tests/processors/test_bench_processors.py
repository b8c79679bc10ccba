"""Benchmark of one processor worker on the real Kafka (`make bench`; not part of `make test`)."""

from __future__ import annotations

import pytest

from processors import bench

pytestmark = [pytest.mark.bench, pytest.mark.stack]


def test_bench_processors(stack: object) -> None:
    assert bench.main(["--readings", "200000", "--machines", "100", "--repeats", "3", "--handler-only"]) == 0
