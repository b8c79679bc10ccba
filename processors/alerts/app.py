"""`brain alerts` as a Faust app (the only module of processors/alerts that imports faust).

    app = build_app(plant, settings, opts)

One agent consumes readings, KPI records and dead letters (three topics, any partition counts)
and a wall-clock timer ticks; both run the pure `AlertEngine` against one Faust Table,
`alert-state` (key: alert id, value: the rule's JSON state) whose changelog is compacted in
Kafka: a restarted worker recovers every alert's state (firing, pending since, last notified)
before it consumes or ticks again, so it neither fires an alert again nor forgets one.

The table writes its changelog by key (`use_partitioner`), not by the input partition, so the
timer can write too and the input topics need not be co-partitioned. The price: run ONE worker
per app id (a second one would recover only part of the state). Split the load by running one
app id per group of sites (`--site`), each with its own plant config.

Events go to the output topic (`brain.alerts`) as JSON with key = alert id. Delivery is at
least once: after a crash, an event may be sent twice with the same id and `started` (the sink
overwrites, the notifier deduplicates per id/state/started/notification).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brain import logs
from brain import settings as _s
from brain.plant import Plant
from brain.settings import Settings
from processors.alerts.engine import AlertEngine
from processors.alerts.worker import AlertWorker
from processors.gaps import RangeReader, highwater
from processors.worker import SLOW_BATCH_S, die, slow_batch_watch

log = logging.getLogger("brain.alerts")


@dataclass(frozen=True, slots=True)
class AlertOptions:
    app_id: str = "brain-alerts"
    readings_topic: str = _s.TOPIC_READINGS
    kpis_topic: str = _s.TOPIC_KPIS
    deadletter_topic: str = _s.TOPIC_DEADLETTER
    output_topic: str = _s.TOPIC_ALERTS
    tick_s: float = 1.0
    store: str = "memory://"
    data_dir: Path = field(default_factory=lambda: Path(".brain/alerts"))
    commit_interval_s: float = 1.0
    batch_max: int = 1000
    batch_within_s: float = 0.2
    session_timeout_s: float = 10.0  # a killed worker's partitions are taken over this fast
    offset_reset: str = "latest"  # a new app id starts at the end of the inputs (not replaying history)


def build_app(plant: Plant, settings: Settings, opts: AlertOptions) -> Any:
    import faust

    app = faust.App(
        opts.app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        **settings.faust_kwargs(),
        store=opts.store,
        datadir=str(opts.data_dir / opts.app_id),
        topic_replication_factor=1,
        table_standby_replicas=0,
        consumer_auto_offset_reset=opts.offset_reset,
        broker_commit_interval=opts.commit_interval_s,
        broker_session_timeout=opts.session_timeout_s,
        broker_heartbeat_interval=min(3.0, opts.session_timeout_s / 3),
        stream_recovery_delay=0.0,
        web_enabled=False,
        autodiscover=False,
    )
    raw = {"key_serializer": "raw", "value_serializer": "raw"}
    kinds = {opts.readings_topic: "reading", opts.kpis_topic: "kpi", opts.deadletter_topic: "deadletter"}
    source = app.topic(*kinds, **raw)
    out = app.topic(opts.output_topic, **raw)
    # key and value types None: both JSON (str keys, dict values) in the changelog
    table = app.Table("alert-state", partitions=1, use_partitioner=True)
    read_range = RangeReader(settings.kafka_bootstrap, settings.aiokafka_kwargs())
    worker = AlertWorker(AlertEngine.from_plant(plant), table, out, kinds, read_range)
    changelog = table.changelog_topic.get_topic_name()
    tracked: list[bool] = []

    async def track_changelog() -> None:
        """Make the producer track the changelog topic before the first table write.

        With `use_partitioner` Faust picks the changelog partition synchronously from the
        producer's cached metadata (`key_partition`, aiokafka `_partition`), which raises
        `TypeError: 'NoneType' object is not iterable` while the cache lacks the topic. Faust
        creates the changelog at start and refreshes that cache once; on a fresh or busy broker
        that refresh can come before the new topic is visible, and nothing refreshes it again
        for `producer_metadata_max_age_ms` (5 min). A topic known only from a full refresh can
        also drop out of the cache later (aiokafka then fetches only the topics it tracks).
        Tracking it and waiting until its partitions are known closes both windows."""
        if tracked:
            return
        producer = app.producer._ensure_producer()  # the aiokafka producer
        producer.client.add_topic(changelog)
        await producer.partitions_for(changelog)  # retries until visible (request timeout)
        tracked.append(True)
        logs.event(log, "alerts.changelog_ready", topic=changelog)

    @app.agent(source, name="alerts")
    async def alerts(stream: Any) -> None:
        await track_changelog()
        async for events in stream.take_events(opts.batch_max, opts.batch_within_s):
            try:
                with slow_batch_watch("alerts", SLOW_BATCH_S):
                    await worker.handle_batch(
                        (e.message.topic, e.message.partition, e.message.offset, e.value) for e in events
                    )
            except Exception as exc:
                die("alerts", exc)

    @app.timer(opts.tick_s)
    async def tick() -> None:
        # Never before the table is recovered: a tick on an empty table would start over.
        if app.in_recovery or not app.tables.recovery.completed.is_set():
            return
        await track_changelog()
        await worker.tick()
        try:
            await worker.read_tails(lambda topic, partition: highwater(app.consumer, topic, partition))
        except Exception as exc:
            die("alerts", exc)

    app.brain_worker = worker  # for tests
    return app
