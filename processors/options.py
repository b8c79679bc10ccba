"""Options of the stream processors (`brain process`), with their defaults.

Plain data: the CLI fills it from its flags, tests and the benchmark build it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from brain import settings as _s

WINDOWS = ("1m", "15m", "1h", "shift", "day")
CONSUMERS = ("faust", "direct")  # how readings reach the machines agent (ProcessorOptions.consumer)


@dataclass(frozen=True, slots=True)
class ProcessorOptions:
    """How a worker runs. Times are milliseconds unless the name says otherwise."""

    app_id: str = "brain-processors"
    input_topic: str = _s.TOPIC_READINGS
    output_topic: str = _s.TOPIC_KPIS
    late_topic: str = _s.TOPIC_LATE
    partials_topic: str = ""  # default: "<app_id>-partials" (internal to one app id)
    tick_topic: str = ""  # default: "<app_id>-ticks"
    grace_ms: int = 30_000
    idle_timeout_ms: int = 60_000  # wall clock: a silent machine's watermark moves with the clock
    emit_interval_ms: int = 1_000  # provisional records of one key at most this often (finals at once)
    rollup_wait_ms: int = (
        60_000  # event time a line/site window waits for a configured machine that never sent
    )
    rollup_retention_ms: int = 15 * 60_000  # event time a finished line/site window is kept for corrections
    stale_counter_ms: int = 3_600_000  # a counter silent longer than this starts over (logged)
    windows: tuple[str, ...] = WINDOWS
    store: str = "memory://"
    data_dir: Path = field(default_factory=lambda: Path(".brain/processors"))
    batch_max: int = 5_000
    batch_within_s: float = 0.2
    tick_s: float = 1.0
    commit_interval_s: float = 1.0
    session_timeout_s: float = 30.0  # a killed worker's partitions move after this
    # Kafka producer request timeout (also aiokafka's batch expiry): an unanswered produce request
    # is dropped (connection renewed) after this and the batch's sends are retried (Sender).
    # Faust's default is 20 min, which held a batch, and the rebalance, that long.
    send_timeout_s: float = 30.0
    stats_interval_s: float = 10.0

    # "direct": the machines agent pulls its readings on its ticks (every `pull_tick_s`, up to
    # `pull_max` per partition) with a plain aiokafka consumer — ~10x less work per reading than
    # "faust", where they reach it through Faust's stream (processors/direct.py)
    consumer: str = "direct"
    pull_tick_s: float = 0.2
    pull_max: int = 20_000

    start_at: str = "earliest"  # a NEW app id starts at the "earliest" or "latest" input offsets

    @property
    def ticks(self) -> str:
        """The machines agent's ticks."""
        return self.tick_topic or f"{self.app_id}-ticks"

    @property
    def rollup_ticks(self) -> str:
        """The rollup agent's ticks: a topic of its own. A message two agents consume can hang a
        rebalance for good in Faust 0.15 — the second stream drops an event of the previous
        generation without acking it, and the consumer's `wait_empty` waits for that ack
        forever (docs/RELIABILITY.md, "Faults")."""
        return f"{self.ticks}-rollup"

    @property
    def input_group(self) -> str:
        """`--consumer direct`: the group its input progress is committed to (never joined)."""
        return f"{self.app_id}-input"

    @property
    def partials(self) -> str:
        """Machine partials for the rollup: per app id, so two apps never fold each other's."""
        return self.partials_topic or f"{self.app_id}-partials"
