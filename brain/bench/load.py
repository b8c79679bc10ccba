"""What `brain bench` publishes: the load messages (v1 batches of 7 metrics, counters moving), the
heartbeats that close its windows, the record of what was sent, and the plant config of the bench site.

With `--packs` the bench lines run the installed packs (line i: pack i mod n) and every load
message also carries each folded metric of its machine's pack, made from the pack's rows (a
counter rising, a flag toggling, a gauge or sample inside its bounds): any installed pack gets a
load, no list here."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from brain.vocabulary import COUNTER, FLAG

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
    packs: tuple[str, ...] = ()  # line i runs packs[i % len(packs)]
    pack_metrics: list[tuple[tuple[str, str, float, float], ...]] = field(default_factory=list)
    pack_counters: list[dict[str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.machines)
        self.topics = [f"brain/v1/{self.site}/{line}/{m}" for line, m in self.machines]
        self.count = [1000 * i for i in range(n)]
        self.scrap = [0] * n
        self.first = [None] * n
        self.kwh = [100.0 + i for i in range(n)]
        self.last_ts = [0] * n
        self.pack_metrics = [pack_load(self.pack_of(line)) for line, _ in self.machines]
        self.pack_counters = [{} for _ in range(n)]

    def pack_of(self, line: str) -> str | None:
        return self.packs[int(line[1:]) % len(self.packs)] if self.packs else None

    def _pack_values(self, i: int, n: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        counters = self.pack_counters[i]
        for name, kind, lo, hi in self.pack_metrics[i]:
            if kind == COUNTER:
                counters[name] = counters.get(name, 0) + n % 3
                out[name] = counters[name]
            elif kind == FLAG:
                out[name] = n % 4 != 0
            else:  # gauge, sample: inside the row's bounds
                out[name] = lo + (hi - lo) * ((n % 10) + 0.5) / 10
        return out

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
        metrics = {
            "state": "running",
            "count_total": self.count[i],
            "count_scrap": self.scrap[i],
            "energy_kwh": self.kwh[i],
            "energy_kvarh": self.kwh[i] / 2,
            "power_kw": 12.5 + (n % 7),
            "power_kvar": 4.5 + (n % 5),
        }
        if self.pack_metrics[i]:
            metrics.update(self._pack_values(i, n))
        payload = orjson.dumps({"ts": ts, "seq": n, "metrics": metrics})
        self.sent[(i, ts)] = len(metrics)
        self.messages += 1
        self.readings += len(metrics)
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


def pack_load(pack_id: str | None) -> tuple[tuple[str, str, float, float], ...]:
    """(metric, kind, low, high) of each folded metric of the pack: what its machines also send."""
    if pack_id is None:
        return ()
    from brain.pack_registry import get

    out = []
    for m in get(pack_id).folded:
        lo = 0.0 if m.minimum is None else m.minimum
        hi = lo + 100.0 if m.maximum is None else m.maximum
        out.append((m.name, m.kind, lo, hi))
    return tuple(out)


def metric_index(packs: tuple[str, ...] = ()) -> dict[str, int]:
    """Every metric a load message may carry -> a small int (the readings check keys on it)."""
    names = list(LOAD_METRICS)
    for p in packs:
        names += [m for m, _, _, _ in pack_load(p) if m not in names]
    return {m: i for i, m in enumerate(names)}


def plant_yaml(site: str, machines: list[tuple[str, str]], packs: tuple[str, ...] = ()) -> str:
    """The bench site's plant config; with packs, line i runs packs[i % len(packs)] with no pack
    config (every pack KPI that needs none is computed: the load's cost is the fold, not the config)."""
    import yaml

    lines: dict[str, list[dict[str, Any]]] = {}
    for line, m in machines:
        machine: dict[str, Any] = {"id": m, "ideal_cycle_s": 0.02}
        if packs:
            machine["pack"] = packs[int(line[1:]) % len(packs)]
        lines.setdefault(line, []).append(machine)
    plant: dict[str, Any] = {
        "timezone": "Asia/Shanghai",
        "sites": [{"id": site, "lines": [{"id": k, "machines": v} for k, v in lines.items()]}],
    }
    if packs:
        plant["packs"] = list(packs)
    return yaml.safe_dump(plant, sort_keys=False)
