"""`brain alerts` wired: the alert worker on Kafka ports, run by the Faust runtime.

One store partition holds every alert's state and the input markers, so the assignment topic and
the `alerts` table have ONE partition: one process of an app id owns it, any other waits as a hot
standby and takes over after the session timeout (processors/alerts/worker.py).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping

from brain.plant import Plant
from brain.settings import Settings
from processors.alerts.engine import AlertEngine
from processors.alerts.options import AlertOptions
from processors.alerts.worker import AlertWorker
from processors.runtime.faust_app import FaustRuntime
from processors.runtime.kafka import KafkaInputLog

log = logging.getLogger("brain.alerts")
TABLE = "alerts"


def build(
    plant: Plant, settings: Settings, opts: AlertOptions, *, partitions: Mapping[str, int]
) -> tuple[FaustRuntime, AlertWorker]:
    """`partitions`: the partition count of each input topic."""
    runtime = FaustRuntime(
        opts.app_id, settings, partitions=1, data_dir=opts.data_dir, step_s=opts.step_s,
        session_timeout_s=opts.session_timeout_s, send_timeout_s=opts.send_timeout_s,
        replication_factor=settings.kafka_replication_factor, logger=log, event_prefix="alerts",
    )  # fmt: skip
    inputs = KafkaInputLog(settings, partitions, group=opts.input_group, log=log)
    runtime.on_stop(inputs.stop)
    stats: Counter[str] = Counter()
    store, outbox = runtime.store(TABLE, stats), runtime.outbox(stats)
    engine = AlertEngine.from_plant(plant)
    worker = AlertWorker(engine, opts, partitions, log=inputs, store=store, outbox=outbox, stats=stats)
    return runtime, worker


def run(
    plant: Plant, settings: Settings, opts: AlertOptions, *, partitions: Mapping[str, int], log_level: str
) -> int:
    runtime, worker = build(plant, settings, opts, partitions=partitions)
    return runtime.run([worker], log_level)
