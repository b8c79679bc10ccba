"""`KafkaOutbox.flush` (processors/runtime/kafka.py) against a fake producer: a send that Kafka
never acknowledges (a response lost across a broker freeze) or that fails with a retriable error
is retried until acknowledged, instead of holding the step (and a rebalance) forever; a
non-retriable error still fails the step."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

import pytest
from aiokafka.errors import MessageSizeTooLargeError, NotLeaderForPartitionError

from processors.runtime.kafka import KafkaOutbox


class FakeProducer:
    """`outcomes[i]` says what the i-th send does: "ok", "hang" (never acknowledged) or an exception."""

    def __init__(self, outcomes: list[Any]) -> None:
        self.outcomes = outcomes
        self.sent: list[tuple[str, bytes, bytes | None]] = []

    async def send(
        self, topic: str, value: Any = None, key: Any = None, partition: Any = None
    ) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        what = self.outcomes[len(self.sent)] if len(self.sent) < len(self.outcomes) else "ok"
        self.sent.append((topic, key, value))
        if what == "ok":
            fut.set_result(None)
        elif isinstance(what, BaseException):
            fut.set_exception(what)
        return fut


class _Producer:
    """The `Producer` port: `get()` gives the started producer."""

    def __init__(self, producer: FakeProducer) -> None:
        self.producer = producer

    async def get(self) -> FakeProducer:
        return self.producer


def _sender(producer: FakeProducer, timeout_s: float = 0.2) -> KafkaOutbox:
    return KafkaOutbox(_Producer(producer), timeout_s=timeout_s, stats=Counter(),  # type: ignore[arg-type]
                       log=logging.getLogger("test"))  # fmt: skip


def test_unacknowledged_sends_are_retried_not_awaited_forever() -> None:
    producer = FakeProducer(["ok", "hang", "hang"])
    sender = _sender(producer)
    for i in range(3):
        sender.add("t", b"k%d" % i, b"v%d" % i)
    asyncio.run(asyncio.wait_for(sender.flush(), 5))
    # the acknowledged one is not sent again; the two lost ones are, in order
    assert [k for _, k, _ in producer.sent] == [b"k0", b"k1", b"k2", b"k1", b"k2"]
    assert sender.stats["send_retries"] == 1
    assert not sender.out


def test_retriable_error_is_retried() -> None:
    producer = FakeProducer([NotLeaderForPartitionError(), "ok"])
    sender = _sender(producer)
    sender.add("t", b"a", b"1")
    sender.add("t", b"b", b"2")
    asyncio.run(asyncio.wait_for(sender.flush(), 5))
    assert [k for _, k, _ in producer.sent] == [b"a", b"b", b"a"]


def test_non_retriable_error_fails_the_batch() -> None:
    sender = _sender(FakeProducer([MessageSizeTooLargeError()]))
    sender.add("t", b"a", b"1")
    with pytest.raises(MessageSizeTooLargeError):
        asyncio.run(asyncio.wait_for(sender.flush(), 5))
