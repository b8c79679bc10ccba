"""The Faust app of the stream processors, built from settings (no import-time side effects).

    app = build_app(plant, settings, opts, partitions=6)

Topics: a wall-clock tick topic feeds the `machines` agent, which pulls the readings (input) of
a ticked partition itself (`--consumer direct`, the default: processors/direct.py) or gets them
as Faust events of the input topic too (`--consumer faust`); machine partials
(keyed by site) and a tick topic of its own feed the `rollup` agent (no topic has two agents:
see `ProcessorOptions.rollup_ticks`); both write KPI records to the output topic. Readings,
ticks and partials have the same partition count, so Faust assigns partition p of all of them
(and of both tables' changelogs) to the same worker. The agents are loops over
batches; the work is in machine_agent.py / rollup.py and the pure cores they call.
"""

from __future__ import annotations

import logging
from typing import Any

from brain import logs
from brain.plant import Plant
from brain.settings import Settings
from processors.direct import InputReader
from processors.gaps import RangeReader
from processors.machine_agent import MachineWorker
from processors.options import ProcessorOptions
from processors.rollup import RollupWorker
from processors.worker import SLOW_BATCH_S, die, slow_batch_watch

log = logging.getLogger("brain.process")


def build_app(plant: Plant, settings: Settings, opts: ProcessorOptions, *, partitions: int) -> Any:
    import faust

    app = faust.App(
        opts.app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        **settings.faust_kwargs(),
        store=opts.store,
        datadir=str(opts.data_dir / opts.app_id),
        topic_partitions=partitions,
        topic_replication_factor=1,
        table_standby_replicas=0,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=opts.commit_interval_s,
        broker_session_timeout=opts.session_timeout_s,
        broker_heartbeat_interval=min(3.0, opts.session_timeout_s / 3),
        stream_recovery_delay=0.0,
        producer_max_batch_size=512 * 1024,  # per partition: state messages are a few kB each
        producer_linger_ms=2,
        producer_request_timeout=opts.send_timeout_s,
        stream_buffer_maxsize=max(4096, 2 * opts.batch_max),
        broker_max_poll_records=opts.batch_max,
        consumer_max_fetch_size=4 * 1024 * 1024,
        web_enabled=False,
        autodiscover=False,
        key_serializer="raw",
        value_serializer="raw",
    )
    raw = {"key_serializer": "raw", "value_serializer": "raw"}
    direct = opts.consumer == "direct"  # the machines agent pulls its readings (processors/direct.py)
    readings = app.topic(opts.ticks, **raw) if direct else app.topic(opts.input_topic, opts.ticks, **raw)
    partials_in = app.topic(opts.partials, opts.rollup_ticks, **raw)
    # one tick topic per agent: no message has two consumers (options.rollup_ticks says why)
    ticks = {name: app.topic(name, partitions=partitions, **raw) for name in (opts.ticks, opts.rollup_ticks)}
    topics = {
        "out": app.topic(opts.output_topic, **raw),
        "late": app.topic(opts.late_topic, **raw),
        "partials": app.topic(opts.partials, **raw),
    }
    machines_table = app.Table("machines", partitions=partitions, key_type=bytes, value_type=bytes)
    rollup_table = app.Table("rollup", partitions=partitions, key_type=bytes, value_type=bytes)
    read_range = RangeReader(settings.kafka_bootstrap, settings.aiokafka_kwargs())
    reader = None
    if direct:
        reader = InputReader(settings.kafka_bootstrap, settings.aiokafka_kwargs(), opts.input_topic,
                             opts.input_group, partitions, opts.start_at)  # fmt: skip
    machine_worker = MachineWorker(
        app, plant, opts, table=machines_table, topics=topics, read_range=read_range, reader=reader
    )
    rollup_worker = RollupWorker(app, plant, opts, table=rollup_table, topics=topics, read_range=read_range)

    @app.agent(readings, name="machines")
    async def machines(stream: Any) -> None:
        async for events in stream.take_events(opts.batch_max, opts.batch_within_s):
            try:
                with slow_batch_watch("machines", SLOW_BATCH_S):
                    await machine_worker.handle(events)
            except Exception as exc:
                die("machines", exc)

    @app.agent(partials_in, name="rollup")
    async def rollup(stream: Any) -> None:
        async for events in stream.take_events(opts.batch_max, opts.batch_within_s):
            try:
                with slow_batch_watch("rollup", SLOW_BATCH_S):
                    await rollup_worker.handle(events)
            except Exception as exc:
                die("rollup", exc)

    async def send_ticks(names: set[str]) -> None:
        try:
            for tp in sorted(app.consumer.assignment()):
                if tp.topic in names:
                    await ticks[tp.topic].send(value=b"tick", partition=tp.partition)
        except Exception as exc:  # Kafka unavailable: the next tick tries again (ticks are best effort)
            logs.event(log, "process.tick_failed", logging.WARNING, error=repr(exc)[:200])

    every_tick = set(ticks) - ({opts.ticks} if direct else set())

    @app.timer(opts.tick_s)
    async def tick() -> None:  # one tick per partition this worker owns: idle timeouts, throttled output
        await send_ticks(every_tick)

    if direct:

        @app.timer(opts.pull_tick_s)
        async def pull_tick() -> None:  # the machines agent pulls its readings on these
            await send_ticks({opts.ticks})

    @app.on_partitions_assigned.connect
    async def assigned(sender: Any, assigned: Any, **kwargs: Any) -> None:
        source = opts.ticks if direct else opts.input_topic  # direct: tick p pulls input p
        inputs = sorted(tp.partition for tp in assigned if tp.topic == source)
        logs.event(log, "process.assigned", input=opts.input_topic, partitions=",".join(map(str, inputs)))

    @app.on_partitions_revoked.connect
    async def forget(sender: Any, revoked: Any, **kwargs: Any) -> None:
        machine_worker.reset()
        rollup_worker.reset()
        if reader is not None:
            reader.forget()

    app.brain_workers = (machine_worker, rollup_worker)  # for tests and the benchmark
    return app
