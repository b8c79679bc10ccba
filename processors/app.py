"""`brain process` wired: the machines and rollup workers on Kafka ports, run by the Faust runtime.

    code = run(plant, settings, opts, partitions=6, log_level="INFO")

Both workers pull their inputs through one input log (`brain.readings`, `<app-id>-partials`)
and keep their states in a Faust table each (`machines`, `rollup`); partition p of the readings,
the partials and both changelogs goes to one process (processors/runtime/faust_app.py).
"""

from __future__ import annotations

import logging
from collections import Counter

from brain.plant import Plant
from brain.settings import Settings
from processors.machines import MachineWorker
from processors.options import ProcessorOptions
from processors.rollup import RollupWorker
from processors.runtime.faust_app import FaustRuntime
from processors.runtime.kafka import KafkaInputLog
from processors.runtime.worker import PartitionWorker

log = logging.getLogger("brain.process")
TABLES = {"machines": MachineWorker, "rollup": RollupWorker}  # table name -> worker, stepped in this order


def build(
    plant: Plant, settings: Settings, opts: ProcessorOptions, *, partitions: int
) -> tuple[FaustRuntime, list[PartitionWorker]]:
    runtime = FaustRuntime(
        opts.app_id, settings, partitions=partitions, data_dir=opts.data_dir, step_s=opts.step_s,
        session_timeout_s=opts.session_timeout_s, send_timeout_s=opts.send_timeout_s,
        replication_factor=settings.kafka_replication_factor, logger=log,
    )  # fmt: skip
    inputs = KafkaInputLog(settings, {opts.input_topic: partitions, opts.partials: partitions},
                           group=opts.input_group, log=log)  # fmt: skip
    runtime.on_stop(inputs.stop)
    workers: list[PartitionWorker] = []
    for name, cls in TABLES.items():
        stats: Counter[str] = Counter()
        store, outbox = runtime.store(name, stats), runtime.outbox(stats)
        workers.append(cls(plant, opts, log=inputs, store=store, outbox=outbox, stats=stats))
    return runtime, workers


def run(plant: Plant, settings: Settings, opts: ProcessorOptions, *, partitions: int, log_level: str) -> int:
    runtime, workers = build(plant, settings, opts, partitions=partitions)
    return runtime.run(workers, log_level)
