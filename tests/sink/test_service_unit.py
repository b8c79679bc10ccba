"""The sink's loop and writer without servers: small fakes for the consumer, producer and writer.

What is checked: offsets are committed only after the write; InfluxDB down pauses and nothing is
committed until a write succeeds; rejected records (mapping or InfluxDB) become dead letters; a
rejected batch is bisected down to the bad points; a rebalance during an outage rewinds.
"""

from __future__ import annotations

import time
from collections import namedtuple
from typing import Any

import orjson
import pytest
from kafka import TopicPartition

from brain.settings import Settings
from processors.sink.lineproto import Point
from processors.sink.service import Sink, SinkOptions
from processors.sink.writer import InfluxWriter, Unavailable
from tests.sink.test_mapping import alert, kpi

Message = namedtuple("Message", "topic partition offset value")
TP = TopicPartition("k", 0)


class FakeConsumer:
    def __init__(self, messages: list[bytes]) -> None:
        self.queue = [Message("k", 0, i, v) for i, v in enumerate(messages)]
        self.commits: list[dict] = []
        self.paused: set = set()
        self.seeks: list[tuple] = []
        self.listener: Any = None

    def subscribe(self, topics: list[str], listener: Any) -> None:
        self.listener = listener
        listener.on_partitions_assigned([TP])

    def poll(self, timeout_ms: int, max_records: int) -> dict:
        if TP in self.paused or not self.queue:
            return {}
        out, self.queue = self.queue[:max_records], self.queue[max_records:]
        return {TP: out}

    def assignment(self) -> set:
        return {TP}

    def pause(self, *tps: Any) -> None:
        self.paused |= set(tps)

    def resume(self, *tps: Any) -> None:
        self.paused -= set(tps)

    def seek(self, tp: Any, offset: int) -> None:
        self.seeks.append((tp, offset))

    def commit(self, offsets: dict) -> None:
        self.commits.append({tp: meta.offset for tp, meta in offsets.items()})

    def highwater(self, tp: Any) -> None:
        return None

    def close(self, autocommit: bool = False) -> None:
        pass


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[dict] = []

    def send(self, topic: str, value: bytes) -> Any:
        self.sent.append(orjson.loads(value))

        class Done:
            def get(self, timeout: float = 0) -> None:
                return None

        return Done()

    def flush(self, timeout: float = 0) -> None:
        pass

    def close(self) -> None:
        pass


class FakeWriter:
    """Confirms every point, except: `down` raises Unavailable; series containing `bad` are rejected."""

    def __init__(self) -> None:
        self.down = False
        self.written: list[Point] = []

    def write(self, points: list[Point]) -> list[tuple[int, str]]:
        if self.down:
            raise Unavailable("connection refused")
        rejected = [(i, "HTTP 400: nope") for i, p in enumerate(points) if "bad" in p.series]
        self.written += [p for i, p in enumerate(points) if i not in dict(rejected)]
        return rejected

    def close(self) -> None:
        pass


def make_sink(messages: list[bytes], **options: Any) -> tuple[Sink, FakeConsumer, FakeProducer, FakeWriter]:
    consumer, producer, writer = FakeConsumer(messages), FakeProducer(), FakeWriter()
    opts = {"topics": {"k": "kpis"}, "flush_ms": 1, "retry_initial_s": 0.0, "retry_max_s": 0.0} | options
    sink = Sink(Settings(), SinkOptions(**opts), consumer=consumer, producer=producer, writer=writer)
    sink.open()
    return sink, consumer, producer, writer


def steps(sink: Sink, n: int = 5) -> None:
    for _ in range(n):
        sink.step()
        time.sleep(0.002)  # past flush_ms (1 ms): the fake poll does not wait


def test_offsets_are_committed_after_the_write() -> None:
    sink, consumer, _, writer = make_sink([orjson.dumps(kpi(start=1_000_000 * i)) for i in range(1, 4)])
    sink.step()  # polls the three records; nothing written or committed yet
    assert consumer.commits == [] and writer.written == []
    steps(sink)
    assert len(writer.written) == 6  # oee + energy each
    assert consumer.commits[-1] == {TP: 3}
    assert sink.stats.points == 6 and sink.stats.batches >= 1


def test_kafka_down_while_polling_does_not_stop_the_sink(monkeypatch: pytest.MonkeyPatch) -> None:
    """kafka-python 3 raises from poll() while the broker is away: wait and poll again, keep the batch."""
    from kafka.errors import KafkaConnectionError

    monkeypatch.setattr(time, "sleep", lambda _s: None)
    sink, consumer, _, writer = make_sink([orjson.dumps(kpi(start=1_000_000 * i)) for i in range(1, 3)])
    real_poll, failures = consumer.poll, [KafkaConnectionError("111 ECONNREFUSED")] * 3

    def flaky_poll(timeout_ms: int, max_records: int) -> dict:
        if failures:
            raise failures.pop()
        return real_poll(timeout_ms, max_records)

    consumer.poll = flaky_poll  # type: ignore[method-assign]
    for _ in range(3):
        sink.step()  # each one meets the outage and returns
    assert sink.stats.kafka_errors == 3 and writer.written == []
    sink.step()
    sink._batch.started -= 1  # past flush_ms without sleeping
    sink.step()
    assert len(writer.written) == 4 and consumer.commits[-1] == {TP: 2}


def test_influx_down_pauses_commits_nothing_and_resumes_when_it_returns() -> None:
    sink, consumer, _, writer = make_sink([orjson.dumps(kpi())], batch_size=1)
    writer.down = True
    steps(sink)
    assert consumer.commits == [] and consumer.paused == {TP} and sink.stats.failures >= 1
    consumer.queue.append(Message("k", 0, 1, orjson.dumps(kpi(start=2_000_000))))
    steps(sink)
    assert len(consumer.queue) == 1  # paused: not consumed while InfluxDB is down
    writer.down = False
    steps(sink)
    assert consumer.paused == set() and consumer.queue == []
    assert consumer.commits[-1] == {TP: 2} and len(writer.written) == 4


def test_bad_records_and_rejected_points_are_dead_lettered_and_committed() -> None:
    messages = [
        orjson.dumps(kpi()),
        b"{nope",
        orjson.dumps(kpi(window="2m")),
        orjson.dumps(kpi(site="bad")),  # InfluxDB rejects both of its points: one dead letter
    ]
    sink, consumer, producer, writer = make_sink(messages)
    steps(sink)
    assert [d["reason"] for d in producer.sent] == ["payload.bad_json", "kpi.bad_window", "influx.rejected"]
    assert [d["offset"] for d in producer.sent] == [1, 2, 3]
    assert producer.sent[2]["detail"] == "HTTP 400: nope" and producer.sent[2]["source"] == "sink"
    assert consumer.commits[-1] == {TP: 4} and len(writer.written) == 2


def test_alerts_topic_is_mapped_as_alerts() -> None:
    sink, consumer, _, writer = make_sink([orjson.dumps(alert())], topics={"k": "alerts"})
    steps(sink)
    assert [p.measurement for p in writer.written] == ["alert"] and consumer.commits[-1] == {TP: 1}


def test_rebalance_during_an_outage_drops_the_batch_and_rewinds() -> None:
    sink, consumer, _, writer = make_sink([orjson.dumps(kpi()), orjson.dumps(kpi(start=2_000_000))])
    writer.down = True
    steps(sink)
    assert consumer.paused == {TP}
    consumer.listener.on_partitions_revoked([TP])
    consumer.listener.on_partitions_assigned([TP])
    assert consumer.seeks == [(TP, 0)] and consumer.commits == []
    sink.step()  # nothing left to retry: resumes, the rewound records are read again
    assert consumer.paused == set()


def test_raw_readings_are_downsampled_before_the_write() -> None:
    readings = [
        {"site": "s1", "line": "l1", "machine": "m1", "metric": "power_kw", "value": v, "ts": 10_000 + dt}
        for dt, v in [(0, 1.0), (5_000, 2.0), (10_000, 3.0)]
    ]
    sink, consumer, _, writer = make_sink(
        [orjson.dumps(r) for r in readings], topics={"k": "readings"}, raw_every_ms=10_000
    )
    steps(sink)
    assert [(p.time_ms, p.fields["value"]) for p in writer.written] == [(10_000, 2.0), (20_000, 3.0)]
    assert consumer.commits[-1] == {TP: 3}


def test_unknown_topic_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        Sink(Settings(), SinkOptions(topics={"k": "kpi"}))


# ------------------------------------------------------------------------------------------ writer


def test_writer_bisects_a_rejected_batch_down_to_the_bad_points(monkeypatch: pytest.MonkeyPatch) -> None:
    writer = InfluxWriter(url="http://127.0.0.1:1", token="", org="-", buckets={"kpi": "k", "raw": "r"})
    posts: list[int] = []

    def post(bucket: str, lines: list[str]) -> tuple[int | None, str]:
        posts.append(len(lines))
        return (400, "partial write: field type conflict") if any("bad" in x for x in lines) else (None, "")

    monkeypatch.setattr(writer, "_post", post)
    points = [
        Point("kpi", "oee", (("site", "bad" if i in (3, 11) else "ok"),), {"v": 1.0}, i) for i in range(16)
    ]
    rejected = writer.write(points)
    assert rejected == [
        (3, "HTTP 400: partial write: field type conflict"),
        (11, "HTTP 400: partial write: field type conflict"),
    ]
    assert len(posts) < 16  # bisected, not one request per point
    writer.close()


def test_writer_groups_points_by_target_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    writer = InfluxWriter(url="http://127.0.0.1:1", token="", org="-", buckets={"kpi": "K", "raw": "R"})
    seen: dict[str, list[str]] = {}
    monkeypatch.setattr(
        writer, "_post", lambda bucket, lines: (seen.setdefault(bucket, []).extend(lines), (None, ""))[1]
    )
    writer.write([Point("raw", "telemetry", (), {"value": 1.0}, 1), Point("kpi", "oee", (), {"oee": 0.5}, 2)])
    assert seen == {"R": ["telemetry value=1.0 1"], "K": ["oee oee=0.5 2"]}
    writer.close()


def test_writer_unreachable_influx_is_unavailable() -> None:
    writer = InfluxWriter(url="http://127.0.0.1:1", token="", org="-", buckets={"kpi": "k"}, timeout_ms=1000)
    with pytest.raises(Unavailable):
        writer.write([Point("kpi", "oee", (), {"oee": 0.5}, 2)])
    writer.close()


@pytest.mark.stack
def test_writer_missing_database_is_unavailable_not_rejected(stack: Settings) -> None:
    writer = InfluxWriter(
        url=stack.influx_url, token=stack.influx_token, org="-", buckets={"kpi": "no_such_db_x"}
    )
    with pytest.raises(Unavailable, match="404"):
        writer.write([Point("kpi", "oee", (), {"oee": 0.5}, 2)])
    writer.close()
