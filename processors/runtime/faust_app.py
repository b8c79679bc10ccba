"""Faust behind one door: the only module that imports faust or touches its internals.

What Faust does for the stream workers, and nothing else:
- **membership and assignment**: every worker process of one app id joins its group through an
  agent on the *assignment topic* `<app-id>-assign` (N partitions, never written to). Faust's
  assignor gives partition p of that topic, and of every table's changelog (co-partitioned: same
  partition count, same subscribers), to one process;
- **tables and changelogs**: one Faust Table per worker (`FaustStore`), recovered from its
  compacted changelog when partitions are assigned;
- **the service loop**: a Faust task steps the owned partitions every `step_s`
  (`PartitionWorker.step`, the workers in order) while no rebalance is running and the tables
  are recovered; a step that found more input waiting is repeated at once (up to ~1 s).

Rebalance safety: a revocation waits for the step in hand (one lock), then the workers drop
their caches — the next owner recovers exactly the states and markers that step wrote. Table
writes do NOT go through `table[key] = value`: that only queues the changelog message in
Faust's producer buffer, and `producer.flush()` returns after 0.1 s without progress, with
messages still queued (tests/processors/test_faust_app.py shows it). `FaustStore` writes the
local store and sends the changelog messages itself, through the worker's own idempotent
producer, and `flush` returns only once Kafka acknowledged them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson

from brain import logs
from brain.settings import Settings
from processors.runtime.kafka import KafkaOutbox, Producer
from processors.runtime.watch import SLOW_STEP_S, die, slow_step_watch
from processors.runtime.worker import PartitionWorker

MAX_ROUNDS_S = 1.0  # a step that found more input is repeated at once, for at most this long


def assign_topic(app_id: str) -> str:
    return f"{app_id}-assign"


def changelog_topic(app_id: str, table: str) -> str:
    return f"{app_id}-{table}-changelog"


def runtime_topics(app_id: str, partitions: int, tables: Iterable[str]) -> dict[str, Any]:
    """The topics the runtime of `app_id` uses, for `brain.kafka_admin.ensure_topics` (created
    with the settings' replication before Faust starts, so none is left to Faust's defaults): the
    assignment topic, each table's changelog (compacted) and Faust's assignor leader topic."""
    from brain.kafka_admin import TopicSpec

    out: dict[str, Any] = {assign_topic(app_id): partitions, f"{app_id}-__assignor-__leader": 1}
    out.update({changelog_topic(app_id, t): TopicSpec(partitions, compact=True) for t in tables})
    return out


def broker_credentials(settings: Settings) -> dict[str, Any]:
    """Faust app settings for SASL/TLS brokers (empty for PLAINTEXT)."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {}
    import faust

    ssl_context = settings.aiokafka_kwargs().get("ssl_context")
    if protocol.startswith("SASL"):
        mechanism = (settings.kafka_sasl_mechanism or "PLAIN").upper()
        credentials: Any = faust.SASLCredentials(
            username=settings.kafka_username, password=settings.kafka_password, mechanism=mechanism,
            ssl_context=ssl_context,
        )  # fmt: skip
    else:
        credentials = faust.SSLCredentials(ssl_context)
    return {"broker_credentials": credentials}


class FaustStore:
    """A `StateStore` on a Faust Table (bytes keys and values, raw serializers): reads from the
    table's local store; writes go into it at once and, as changelog messages for the value's
    partition, into the outbox that `flush` awaits (module doc)."""

    def __init__(self, table: Any, changelog: str, outbox: KafkaOutbox) -> None:
        self.table, self.changelog, self.outbox = table, changelog, outbox

    def get(self, key: str) -> dict[str, Any] | None:
        raw = self.table.data.get(key.encode())
        return None if raw is None else orjson.loads(raw)

    def keys(self, partition: int) -> list[str]:
        out = []
        for k, raw in list(self.table.data.items()):
            if raw is not None and orjson.loads(raw).get("p") == partition:
                out.append(k.decode() if isinstance(k, bytes) else k)
        return out

    def put(self, partition: int, key: str, value: dict[str, Any] | None) -> None:
        kb = key.encode()
        store = self.table.data
        if value is None:
            store.pop(kb, None)
            raw = None
        else:
            raw = orjson.dumps({**value, "p": partition})
            store[kb] = raw
        # the memory store forgets the keys of revoked partitions by this map (faust/stores/memory.py)
        key_partition = getattr(store, "_key_partition", None)
        if key_partition is not None:
            if raw is None:
                key_partition.pop(kb, None)
            else:
                key_partition[kb] = partition
        self.outbox.add(self.changelog, kb, raw, partition)

    async def flush(self) -> None:
        await self.outbox.flush()


class FaustRuntime:
    """One worker process of app `app_id`: `store(name)` for each worker's table, then
    `run(workers)` (module doc)."""

    def __init__(
        self,
        app_id: str,
        settings: Settings,
        *,
        partitions: int,
        data_dir: Path,
        step_s: float,
        session_timeout_s: float,
        send_timeout_s: float,
        replication_factor: int = 1,
        logger: logging.Logger,
        event_prefix: str = "process",
    ) -> None:
        import faust

        self.app_id, self.partitions, self.step_s = app_id, partitions, step_s
        self.logger, self.prefix = logger, event_prefix
        self.producer = Producer(settings, request_timeout_s=send_timeout_s, log=logger)
        self.send_timeout_s = send_timeout_s
        self.app = faust.App(
            app_id,
            broker=f"kafka://{settings.kafka_bootstrap}",
            **broker_credentials(settings),
            store="memory://",
            datadir=str(data_dir / app_id),
            topic_partitions=partitions,
            topic_replication_factor=replication_factor,
            table_standby_replicas=0,
            consumer_auto_offset_reset="earliest",
            broker_session_timeout=session_timeout_s,
            broker_heartbeat_interval=min(3.0, session_timeout_s / 3),
            stream_recovery_delay=0.0,
            web_enabled=False,
            autodiscover=False,
            key_serializer="raw",
            value_serializer="raw",
        )
        self.assign = self.app.topic(assign_topic(app_id), partitions=partitions,
                                     key_serializer="raw", value_serializer="raw")  # fmt: skip
        self.closers: list[Callable[[], Awaitable[None]]] = [self.producer.stop]

    def outbox(self, stats: Counter[str]) -> KafkaOutbox:
        return KafkaOutbox(self.producer, timeout_s=self.send_timeout_s + 5, stats=stats, log=self.logger)

    def store(self, name: str, stats: Counter[str]) -> FaustStore:
        table = self.app.Table(name, partitions=self.partitions, key_type=bytes, value_type=bytes)
        return FaustStore(table, changelog_topic(self.app_id, name), self.outbox(stats))

    def on_stop(self, close: Callable[[], Awaitable[None]]) -> None:
        """Something to close after the last step (input logs)."""
        self.closers.append(close)

    def run(self, workers: Sequence[PartitionWorker], log_level: str = "INFO") -> int:
        """Run this process as a worker of the group until stopped; the exit code."""
        self._wire(workers)
        from faust.worker import Worker

        worker = Worker(self.app, loglevel=log_level.upper(), quiet=True, override_logging=False)
        # Faust's terminal spinner writes ESC[?25l / ESC[?25h to stdout even when it is a log
        # file; our logs are one line per event
        worker.spinner = None
        try:
            worker.execute_from_commandline()
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0

    def _wire(self, workers: Sequence[PartitionWorker]) -> None:
        app, assign_name, logger, prefix = self.app, self.assign.get_topic_name(), self.logger, self.prefix
        lock = asyncio.Lock()
        stopping: list[bool] = []
        names = ",".join(w.agent for w in workers)

        @app.agent(self.assign, name="owner")
        async def owner(stream: Any) -> None:  # the assignment topic carries no messages
            async for _ in stream:
                pass

        def owned() -> list[int]:
            return sorted(tp.partition for tp in app.consumer.assignment() if tp.topic == assign_name)

        async def step() -> bool:
            """Step the owned partitions; True when input is still waiting after MAX_ROUNDS_S."""
            if stopping or app.rebalancing or not app.tables.recovery.completed.is_set():
                return False
            partitions = owned()
            if not partitions:
                return False
            more = False
            async with lock:
                loop = asyncio.get_running_loop()
                until = loop.time() + MAX_ROUNDS_S
                while not stopping and not app.rebalancing:
                    more = False
                    for w in workers:
                        try:
                            with slow_step_watch(w.agent, SLOW_STEP_S, logger):
                                more = await w.step(partitions) or more
                        except Exception as exc:
                            die(w.agent, exc, logger)
                    if not more or loop.time() >= until:
                        break
            return more

        @app.task
        async def stepping() -> None:  # a loop of our own: a long step is not a "late timer"
            more = False
            while not stopping:
                # input still waiting: only yield to Faust's other tasks, do not sleep a step
                await asyncio.sleep(0 if more else self.step_s)
                more = await step()

        @app.on_partitions_assigned.connect
        async def assigned(sender: Any, assigned: Any, **kwargs: Any) -> None:
            mine = sorted(tp.partition for tp in assigned if tp.topic == assign_name)
            logs.event(logger, f"{prefix}.assigned", workers=names, partitions=",".join(map(str, mine)))

        @app.on_partitions_revoked.connect
        async def revoked(sender: Any, revoked: Any, **kwargs: Any) -> None:
            async with lock:  # the step in hand finishes (and writes) first
                for w in workers:
                    w.reset()

        @app.on_before_shutdown.connect
        async def shutdown(sender: Any, **kwargs: Any) -> None:
            stopping.append(True)
            try:
                await asyncio.wait_for(lock.acquire(), SLOW_STEP_S)
            except TimeoutError:
                logs.event(logger, f"{prefix}.stop_step_timeout", logging.WARNING, seconds=SLOW_STEP_S)
            for close in self.closers:
                try:
                    await asyncio.wait_for(close(), 10)
                except Exception as exc:  # stopping anyway
                    logs.event(logger, f"{prefix}.close_failed", logging.WARNING, error=repr(exc)[:200])
