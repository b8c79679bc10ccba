"""Fixtures for the sink's integration tests: fresh topics per test, deleted afterwards."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest

from brain.settings import Settings
from tests.sink.helpers import delete_site, fresh_topics


@pytest.fixture
def sink_topics(stack: Settings, site_id: str) -> Iterator[Callable[..., dict[str, str]]]:
    """`sink_topics()` -> {"kpis": ..., "alerts": ..., "dl": ...}: new topics for this test only."""
    created: list[str] = []

    def make(kinds: tuple[str, ...] = ("kpis", "alerts", "dl")) -> dict[str, str]:
        names = fresh_topics(stack, site_id, kinds)
        created.extend(names.values())
        return names

    yield make
    # leave nothing behind in the shared InfluxDB either (the site is this test's alone)
    with contextlib.suppress(Exception):
        delete_site(stack, site_id)
    if created:
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap, request_timeout_ms=15_000)
        with contextlib.suppress(Exception):
            admin.delete_topics(created)
        admin.close()
