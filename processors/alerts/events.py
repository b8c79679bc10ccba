"""Alert events (the `brain.alerts` value) and the stable alert id.

One JSON object per transition::

    {"id": "oee_low:sip/smt1", "rule": "oee_low", "type": "kpi", "state": "firing",
     "severity": "warning", "scope": "line", "site": "sip", "line": "smt1", "machine": null,
     "value": 0.58, "threshold": 0.6, "clear": 0.65, "started": 1767225600000, "ended": null,
     "ts": 1767226500000, "notification": 1, "message": "...", "message_en": "...",
     "message_zh": "...", "runbook": "https://..."}

`id` is rule + scope, the same for every event of every episode of that alert (the Kafka key,
the MQTT retained topic); `started` identifies the episode. `message` is the English text.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, NamedTuple


class Scope(NamedTuple):
    """Where an alert applies: parts below its level are None (a site alert has no line)."""

    site: str
    line: str | None = None
    machine: str | None = None

    @property
    def level(self) -> str:
        return "machine" if self.machine else ("line" if self.line else "site")

    @property
    def path(self) -> str:
        return "/".join(p for p in self if p)


def alert_id(rule_id: str, scope: Scope) -> str:
    return f"{rule_id}:{scope.path}"


@dataclass(frozen=True, slots=True)
class AlertEvent:
    id: str
    rule: str
    type: str
    state: str  # firing | resolved
    severity: str
    scope: str  # machine | line | site
    site: str
    line: str | None
    machine: str | None
    value: float | None
    threshold: float | None
    clear: float | None
    started: int
    ended: int | None
    ts: int
    notification: int
    message_en: str
    message_zh: str
    runbook: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["message"] = self.message_en
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AlertEvent:
        names = cls.__dataclass_fields__
        return cls(**{k: data.get(k) for k in names})
