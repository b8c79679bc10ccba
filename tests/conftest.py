"""Fixtures on the REAL servers. A missing server fails the run with a clear message; nothing skips.

`make test` starts the stack once (`brain stack up`) before pytest; the `stack` fixture only
checks that it is there, once per run, and hands out the connection settings.
"""

from __future__ import annotations

import uuid

import pytest

from brain.settings import Settings


@pytest.fixture(scope="session")
def stack() -> Settings:
    """Connection settings of the running stack; FAILS (never skips) if a server is missing."""
    from brain.stack.health import problems

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
