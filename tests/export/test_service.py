"""The exporter's commit rule with fake clients: offsets are committed only after every send of the
batch is confirmed; a failed send commits nothing and rewinds the batch, which is sent again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from kafka.structs import TopicPartition

from brain.plant.export import Export
from brain.settings import Settings
from processors.export.service import Exporter, ExportOptions
from tests.export.test_allowlist import _record

TP = TopicPartition("brain.kpis", 0)


@dataclass
class _Msg:
    offset: int
    value: bytes
    topic: str = "brain.kpis"
    partition: int = 0
    key: bytes | None = None


class _Consumer:
    def __init__(self, messages: list[_Msg]) -> None:
        self.messages, self.pos, self.commits, self.seeks = messages, 0, [], []

    def subscribe(self, topics: list[str]) -> None:
        pass

    def poll(self, timeout_ms: int, max_records: int) -> dict:
        batch = [m for m in self.messages if m.offset >= self.pos][:max_records]
        if batch:
            self.pos = batch[-1].offset + 1
        return {TP: batch} if batch else {}

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp, offset))
        self.pos = offset

    def commit(self, offsets: dict) -> None:
        self.commits.append({tp: o.offset for tp, o in offsets.items()})


class _Future:
    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def get(self, timeout: float | None = None) -> None:
        if self.error:
            raise self.error


class _Producer:
    def __init__(self, fail_sends: int) -> None:
        self.fail_sends, self.sent = fail_sends, []

    def send(self, topic: str, key: bytes | None, value: bytes) -> Any:
        if self.fail_sends:
            self.fail_sends -= 1
            return _Future(TimeoutError("not confirmed"))
        self.sent.append((topic, key, value))
        return _Future(None)

    def flush(self) -> None:
        pass


def test_a_failed_send_commits_nothing_and_the_batch_is_sent_again() -> None:
    messages = [_Msg(i, orjson.dumps(_record(final=i != 1, energy_kwh=float(i)))) for i in range(3)]
    consumer, producer = _Consumer(messages), _Producer(fail_sends=1)
    options = ExportOptions(retry_initial_s=0.0, status_interval_s=60)
    exporter = Exporter(Settings.from_env({}), Export("ent-1"), options, consumer=consumer, producer=producer)
    exporter.open()
    assert exporter.step() is False
    assert consumer.commits == [] and consumer.seeks == [(TP, 0)] and exporter.stats.exported == 0
    assert exporter.step() is True
    assert consumer.commits == [{TP: 3}]
    # 1st try: record 0's send failed, record 2's went; the retry sends both again (at least once)
    assert [orjson.loads(v)["energy_kwh"] for _, _, v in producer.sent] == [2.0, 0.0, 2.0]
    assert exporter.stats.exported == 2 and exporter.stats.skipped["not_final"] == 1
    assert exporter.step() is True and consumer.commits == [{TP: 3}]  # nothing new: no commit
