"""Options of `brain alerts`, with their defaults (plain data: the CLI fills it, tests build it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from brain import settings as _s


@dataclass(frozen=True, slots=True)
class AlertOptions:
    app_id: str = "brain-alerts"
    readings_topic: str = _s.TOPIC_READINGS
    kpis_topic: str = _s.TOPIC_KPIS
    deadletter_topic: str = _s.TOPIC_DEADLETTER
    output_topic: str = _s.TOPIC_ALERTS
    tick_s: float = 1.0  # the engine's wall-clock timer (silence, for-durations)
    step_s: float = 0.2  # how often the inputs are pulled
    data_dir: Path = field(default_factory=lambda: Path(".brain/alerts"))
    pull_max: int = 5_000  # records per input partition per step
    session_timeout_s: float = 10.0  # a killed worker's partition is taken over this fast
    send_timeout_s: float = 30.0
    stats_interval_s: float = 30.0
    start_at: str = "latest"  # a NEW app id starts at the end of the inputs (not replaying history)

    @property
    def input_group(self) -> str:
        """The group its input progress is committed to (lag tools; never joined)."""
        return f"{self.app_id}-input"

    @property
    def inputs(self) -> dict[str, str]:
        """Input topic -> kind of record."""
        return {self.readings_topic: "reading", self.kpis_topic: "kpi", self.deadletter_topic: "deadletter"}
