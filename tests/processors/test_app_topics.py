"""No topic of `brain process` is consumed by two agents.

Faust 0.15 can hang a rebalance for good on such a topic: the first stream tracks a message and
acks it, the second drops its event of the previous generation without acking, and the
consumer's `wait_empty` waits for that ack forever (seen with one tick topic feeding both
agents: `wait_empty: Waiting for tasks [(1, <…-ticks …>)…]` after a 30 s Kafka freeze;
docs/RELIABILITY.md, "Faults")."""

from __future__ import annotations

from collections import Counter

import pytest

from brain.settings import Settings
from processors.app import build_app
from processors.options import ProcessorOptions
from tests.processors import data


@pytest.mark.parametrize("consumer", ["faust", "direct"])
def test_every_topic_has_one_agent(consumer: str) -> None:
    opts = ProcessorOptions(app_id="t-topics", consumer=consumer)
    app = build_app(data.plant(), Settings.from_env(), opts, partitions=2)
    consumed = Counter(topic for agent in app.agents.values() for topic in agent.channel.topics)
    # direct: the machines agent pulls the input itself (processors/direct.py), Faust never reads it
    inputs = {opts.input_topic} if consumer == "faust" else set()
    assert set(consumed) == {*inputs, opts.ticks, opts.partials, opts.rollup_ticks}
    assert [t for t, n in consumed.items() if n > 1] == []
