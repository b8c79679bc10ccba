"""What parsing one MQTT message produced: readings, dead letters, and actions for the I/O side."""

from __future__ import annotations

from dataclasses import dataclass, field

from brain.records import Reading
from ingest.config import IngestConfig
from ingest.deadletter import DeadLetter, dead_letter
from ingest.reasons import Reason
from ingest.validate import Rejected


@dataclass(frozen=True, slots=True)
class Publish:
    """An MQTT message the bridge should publish (a Sparkplug rebirth request, say)."""

    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    why: str = ""


@dataclass(slots=True)
class Outcome:
    """The result of one message: every input ends in readings, dead letters, or `ignored`.

    `ignored` names why a message produces nothing by design (our own alert topics, Sparkplug
    commands and host STATE, a BIRTH that carries only definitions).
    """

    readings: list[Reading] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    actions: list[Publish] = field(default_factory=list)
    ignored: str | None = None


def reject_each(
    topic: str,
    payload: bytes,
    rejects: list[tuple[str, Rejected]],
    received_ts: int,
    config: IngestConfig,
    out: Outcome,
    source: str,
) -> None:
    """One dead letter per rejected reading, at most `max_dead_letters_per_message`; the rest in one."""
    cap = max(1, config.max_dead_letters_per_message)
    for metric, rej in rejects[:cap]:
        out.dead_letters.append(
            dead_letter(topic, payload, rej.reason, rej.detail, received_ts, source, metric)
        )
    rest = rejects[cap:]
    if rest:
        counts: dict[str, int] = {}
        for _, rej in rest:
            counts[rej.reason.value] = counts.get(rej.reason.value, 0) + 1
        detail = f"{len(rest)} more rejected readings: " + ", ".join(
            f"{r}={n}" for r, n in sorted(counts.items())
        )
        out.dead_letters.append(
            dead_letter(topic, payload, Reason.BATCH_TOO_MANY_REJECTS, detail, received_ts, source)
        )
