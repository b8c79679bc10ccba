"""Fixtures on the REAL servers. A missing server fails the run with a clear message; nothing skips.

`make test` starts the stack once (`brain stack up`) before pytest; the `stack` fixture only
checks that it is there, once per run, and hands out the connection settings.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from brain.settings import Settings
from tests.private_stack import PrivateStack, start_private_stack


@pytest.fixture(scope="session")
def stack() -> Settings:
    """Connection settings of the running stack; FAILS (never skips) if a server is missing."""
    from brain.health import problems

    settings = Settings.from_env()
    found = problems(settings)
    if found:
        pytest.fail(
            "the real servers are required for this test and are not available:\n  - "
            + "\n  - ".join(found)
            + "\nStart them with `brain stack up` (`make test` does it for you).",
            pytrace=False,
        )
    return settings


@pytest.fixture
def site_id() -> str:
    """A site name no other test uses: topics are shared, so tests filter their data by site."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def private_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateStack]:
    """A private stack on free ports (tests/private_stack.py), started on first use, once per run:
    for tests that kill or freeze servers or need an empty cluster. Never the shared servers."""
    yield from start_private_stack(tmp_path_factory)


@pytest.fixture(scope="session")
def private_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateStack]:
    """A private stack whose Kafka is a 3-node KRaft cluster (kafka-1..3, three JVMs; RF 3 /
    min ISR 2 in its env and settings), started on first use, once per run."""
    yield from start_private_stack(tmp_path_factory, kafka_brokers=3)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that uses the real servers is marked `stack`, whether the module says so or not:
    `make unit` (`-m "not stack and not faults and not bench"`) then runs without any server."""
    for item in items:
        if {"stack", "private_stack", "private_cluster"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.stack)
