"""What `brain bench` publishes: the load messages (v1 batches of 7 metrics, counters moving), the
heartbeats that close its windows, the record of what was sent, and the plant config of the bench site."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

MINUTE = 60_000
LOAD_METRICS = ("state", "count_total", "count_scrap", "energy_kwh", "energy_kvarh", "power_kw", "power_kvar")
HEARTBEAT_METRICS = ("count_total", "count_scrap")
METRIC_INDEX = {m: i for i, m in enumerate(LOAD_METRICS)}
LINES = 4


@dataclass
class Load:
    """What the bench publishes, and what it must find downstream."""

    site: str
    machines: list[tuple[str, str]]
    shift_ms: int = 0
    topics: list[str] = field(default_factory=list)
    count: list[int] = field(default_factory=list)
    scrap: list[int] = field(default_factory=list)
    first: list[tuple[int, int] | None] = field(default_factory=list)
    kwh: list[float] = field(default_factory=list)
    last_ts: list[int] = field(default_factory=list)
    sent: dict[tuple[int, int], int] = field(default_factory=dict)  # (machine, ts) -> readings in it
    messages: int = 0
    readings: int = 0

    def __post_init__(self) -> None:
        n = len(self.machines)
        self.topics = [f"brain/v1/{self.site}/{line}/{m}" for line, m in self.machines]
        self.count = [1000 * i for i in range(n)]
        self.scrap = [0] * n
        self.first = [None] * n
        self.kwh = [100.0 + i for i in range(n)]
        self.last_ts = [0] * n

    def _ts(self, i: int) -> int:
        ts = max(int(time.time() * 1000) + self.shift_ms, self.last_ts[i] + 1)
        self.last_ts[i] = ts
        return ts

    def message(self, i: int) -> tuple[str, bytes]:
        """A load message for machine i: 7 readings, counters moving."""
        import orjson

        n = self.messages
        if self.first[i] is None:
            self.first[i] = (self.count[i], self.scrap[i])
        else:
            self.count[i] += n % 3
            self.scrap[i] += 1 if n % 11 == 0 else 0
            self.kwh[i] += 0.25
        ts = self._ts(i)
        payload = orjson.dumps(
            {
                "ts": ts,
                "seq": n,
                "metrics": {
                    "state": "running",
                    "count_total": self.count[i],
                    "count_scrap": self.scrap[i],
                    "energy_kwh": self.kwh[i],
                    "energy_kvarh": self.kwh[i] / 2,
                    "power_kw": 12.5 + (n % 7),
                    "power_kvar": 4.5 + (n % 5),
                },
            }
        )
        self.sent[(i, ts)] = len(LOAD_METRICS)
        self.messages += 1
        self.readings += len(LOAD_METRICS)
        return self.topics[i], payload

    def heartbeat(self, i: int) -> tuple[str, bytes]:
        """Counters unchanged: moves the machine's watermark, adds no output."""
        import orjson

        ts = self._ts(i)
        payload = orjson.dumps(
            {"ts": ts, "metrics": {"count_total": self.count[i], "count_scrap": self.scrap[i]}}
        )
        self.sent[(i, ts)] = -len(HEARTBEAT_METRICS)
        self.messages += 1
        self.readings += len(HEARTBEAT_METRICS)
        return self.topics[i], payload


def plant_yaml(site: str, machines: list[tuple[str, str]]) -> str:
    import yaml

    lines: dict[str, list[dict[str, Any]]] = {}
    for line, m in machines:
        lines.setdefault(line, []).append({"id": m, "ideal_cycle_s": 0.02})
    plant = {
        "timezone": "Asia/Shanghai",
        "sites": [{"id": site, "lines": [{"id": k, "machines": v} for k, v in lines.items()]}],
    }
    return yaml.safe_dump(plant, sort_keys=False)
