"""Options of the stream processors (`brain process`), with their defaults.

Plain data: the CLI fills it from its flags, tests and the benchmark build it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from brain import settings as _s
from brain.vocabulary import WINDOWS


@dataclass(frozen=True, slots=True)
class ProcessorOptions:
    """How a worker runs. Times are milliseconds unless the name says otherwise."""

    app_id: str = "brain-processors"
    input_topic: str = _s.TOPIC_READINGS
    output_topic: str = _s.TOPIC_KPIS
    late_topic: str = _s.TOPIC_LATE
    partials_topic: str = ""  # default: "<app_id>-partials" (internal to one app id)
    grace_ms: int = 30_000
    idle_timeout_ms: int = 60_000  # wall clock: a silent machine's watermark moves with the clock
    emit_interval_ms: int = 1_000  # provisional records of one key at most this often (finals at once)
    rollup_wait_ms: int = 60_000  # event time a line/site window waits for a machine that never sent
    rollup_retention_ms: int = 15 * 60_000  # event time a finished line/site window is kept for corrections
    stale_counter_ms: int = 3_600_000  # a counter silent longer than this starts over (logged)
    windows: tuple[str, ...] = WINDOWS
    data_dir: Path = field(default_factory=lambda: Path(".brain/processors"))
    step_s: float = 0.2  # how often the owned partitions are pulled and stepped
    pull_max: int = 20_000  # readings (partials) per partition per step
    tick_s: float = 1.0  # idle timeouts of a partition's machines at most this often
    session_timeout_s: float = 30.0  # a killed worker's partitions move after this
    # Kafka producer request timeout: an unanswered produce request is dropped (connection
    # renewed) after this and the step's sends are retried (processors/runtime/kafka.py).
    send_timeout_s: float = 30.0
    stats_interval_s: float = 10.0
    start_at: str = "earliest"  # a NEW app id starts at the "earliest" or "latest" input offsets

    @property
    def input_group(self) -> str:
        """The group input progress is committed to (lag tools, a new app id's start; never joined)."""
        return f"{self.app_id}-input"

    @property
    def partials(self) -> str:
        """Machine partials for the rollup: per app id, so two apps never fold each other's."""
        return self.partials_topic or f"{self.app_id}-partials"
