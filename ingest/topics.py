"""MQTT topic parsing: which contract a topic belongs to and the identifiers it carries. Pure.

- `brain/v1/{site}/{line}/{machine}/{metric}`: one metric (bare value or object form)
- `brain/v1/{site}/{line}/{machine}`: a batch of metrics
- `brain/v1/alerts/...`: the platform's own alerts going out; ignored by ingest
- `spBv1.0/{group}/{type}/{edge}[/{device}]`: Sparkplug B; `spBv1.0/STATE/{host}` is host state
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.reasons import Reason
from ingest.validate import MAX_LEVEL_CHARS, NAME_CHARS, Rejected

V1_PREFIX = "brain/v1/"
ALERTS_PREFIX = "brain/v1/alerts/"
SPARKPLUG_PREFIX = "spBv1.0/"
MAX_TOPIC_CHARS = 256

_LEVEL = rf"([{NAME_CHARS}]{{1,{MAX_LEVEL_CHARS}}})"
_v1_match = re.compile(rf"brain/v1/{_LEVEL}/{_LEVEL}/{_LEVEL}(?:/{_LEVEL})?\Z").match
_level_match = re.compile(rf"[{NAME_CHARS}]{{1,{MAX_LEVEL_CHARS}}}\Z").match

SPARKPLUG_TYPES = frozenset({"NBIRTH", "NDATA", "NDEATH", "DBIRTH", "DDATA", "DDEATH", "NCMD", "DCMD"})
_SPARKPLUG_BAD_ID = re.compile(r"[+#/]|\A\Z")


@dataclass(frozen=True, slots=True)
class V1Topic:
    site: str
    line: str
    machine: str
    metric: str | None  # None: the batch form

    @property
    def machine_key(self) -> str:
        return f"{self.site}/{self.line}/{self.machine}"


@dataclass(frozen=True, slots=True)
class SparkplugTopic:
    group: str
    message_type: str  # NBIRTH, NDATA, ...
    edge: str
    device: str | None  # None: node-level message


def parse_v1_topic(topic: str) -> V1Topic:
    """Parse a `brain/v1/...` topic or raise Rejected with the precise reason."""
    m = _v1_match(topic)
    if m is not None and len(topic) <= MAX_TOPIC_CHARS:
        return V1Topic(*m.groups())
    if len(topic) > MAX_TOPIC_CHARS:
        raise Rejected(Reason.TOPIC_TOO_LONG, f"topic longer than {MAX_TOPIC_CHARS} chars")
    if not topic.startswith(V1_PREFIX):
        raise Rejected(Reason.TOPIC_UNKNOWN, f"{topic!r:.80} is not under brain/v1/ or spBv1.0/")
    levels = topic[len(V1_PREFIX) :].split("/")
    if len(levels) not in (3, 4):
        raise Rejected(
            Reason.TOPIC_BAD_SHAPE,
            f"expected brain/v1/site/line/machine[/metric], found {len(levels)} levels after brain/v1",
        )
    for name, level in zip(("site", "line", "machine", "metric"), levels, strict=False):
        if not _level_match(level):
            raise Rejected(
                Reason.TOPIC_BAD_LEVEL,
                f"{name} level {level!r:.80} must be 1..{MAX_LEVEL_CHARS} chars of [{NAME_CHARS}]",
            )
    raise Rejected(Reason.TOPIC_BAD_LEVEL, f"{topic!r:.80} does not parse")  # pragma: no cover


def parse_sparkplug_topic(topic: str) -> SparkplugTopic | None:
    """Parse a `spBv1.0/...` topic; None for host-application STATE (nothing to ingest)."""
    if len(topic) > MAX_TOPIC_CHARS:
        raise Rejected(Reason.TOPIC_TOO_LONG, f"topic longer than {MAX_TOPIC_CHARS} chars")
    levels = topic.split("/")
    if len(levels) == 3 and levels[1] == "STATE":
        return None
    if len(levels) not in (4, 5) or levels[2] not in SPARKPLUG_TYPES:
        raise Rejected(
            Reason.TOPIC_BAD_SHAPE,
            "expected spBv1.0/{group}/{NBIRTH|NDATA|NDEATH|DBIRTH|DDATA|DDEATH}/{edge}[/{device}]",
        )
    device_level = levels[2].startswith("D")
    if device_level != (len(levels) == 5):
        raise Rejected(
            Reason.TOPIC_BAD_SHAPE, f"{levels[2]} {'needs' if device_level else 'takes no'} device id"
        )
    for level in levels[1:]:
        if _SPARKPLUG_BAD_ID.search(level):
            raise Rejected(Reason.TOPIC_BAD_LEVEL, f"Sparkplug id {level!r:.80} is empty or has + or #")
    return SparkplugTopic(levels[1], levels[2], levels[3], levels[4] if device_level else None)
