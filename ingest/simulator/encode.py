"""Samples to MQTT messages: v1 JSON (per metric or batch) and Sparkplug B edge nodes. Pure.

Every good message parses (ingest.parse_message, with the plant's state code maps) into exactly
the readings of its sample, with the sample's event time:

- per metric: `brain/v1/{site}/{line}/{machine}/{metric}`, `{"value", "ts", "unit"?, "seq"}`;
- batch: `brain/v1/{site}/{line}/{machine}`, `{"ts", "seq", "metrics": {...}}`;
- Sparkplug B: one edge node per line (group = site id, edge = line id, device = machine id, which
  the ingest default mapping turns back into site/line/machine). NBIRTH (bdSeq, Node
  Control/Rebirth) when the node connects; a device's first sample goes out as its DBIRTH (names,
  aliases, datatypes, values); later samples as DDATA with aliases only; at the end DDEATH per
  device and NDEATH. The DEATHs make the bridge record `offline` at receive time — readings that
  are not in the JSONL file (they carry no simulated time).

Machines with a state code map publish codes (the JSONL has state names, as ingest produces).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from brain.plant import Machine
from brain.vocabulary import COUNTER, FLAG, TEXT
from ingest.simulator.plan import METRIC_ORDER, Sample, ordered
from ingest.sparkplug import sparkplug_b_pb2 as pb

FORMS = ("metric", "batch", "mixed")
UNITS = {
    "energy_kwh": "kWh",
    "energy_kvarh": "kvarh",
    "power_kw": "kW",
    "power_kvar": "kvar",
    "count_total": "pcs",
    "count_scrap": "pcs",
}
_SPB_TYPES = {
    "state": pb.String,
    "reason": pb.String,
    "count_total": pb.UInt64,
    "count_scrap": pb.UInt64,
    "energy_kwh": pb.Double,
    "energy_kvarh": pb.Double,
    "power_kw": pb.Double,
    "power_kvar": pb.Double,
}
_FIELD = {
    pb.String: "string_value",
    pb.UInt64: "long_value",
    pb.Double: "double_value",
    pb.Int32: "int_value",
    pb.Boolean: "boolean_value",
}
_PACK_TYPES = {COUNTER: pb.UInt64, FLAG: pb.Boolean, TEXT: pb.String}  # gauges and samples: Double


def pack_metric_types(machine: Machine) -> dict[str, int]:
    """The Sparkplug datatype of each metric of the machine's pack (its DBIRTH defines them all)."""
    if machine.pack is None:
        return {}
    from brain.pack_registry import get

    return {m.name: _PACK_TYPES.get(m.kind, pb.Double) for m in get(machine.pack).metrics}


class Message(NamedTuple):
    client: str | None  # None: the JSON client; "group/edge": that Sparkplug edge node's session
    topic: str
    payload: bytes
    readings: int  # how many good readings it carries
    ts: int  # simulated event time


@dataclass(slots=True)
class _Node:
    group: str
    edge: str
    bd_seq: int = 0
    seq: int = 0
    devices: dict[int, str] = field(default_factory=dict)  # machine index -> device id
    born: set[int] = field(default_factory=set)


def state_code_table(machine: Machine) -> dict[str, Any]:
    """state name -> the code a PLC would publish (int when the code is numeric)."""
    out: dict[str, Any] = {}
    for code, name in sorted(machine.state_codes.items()):
        out.setdefault(name, int(code) if code.lstrip("-").isdigit() else code)
    return out


class Encoder:
    """Turns samples into messages. `form` is metric, batch or mixed (a per-machine choice);
    `sparkplug_share` (0..1) of the machines are Sparkplug devices instead."""

    def __init__(
        self,
        keys: list[tuple[str, str, str]],
        machines: list[Machine],
        *,
        form: str = "batch",
        sparkplug_share: float = 0.0,
        rng: random.Random,
        start: int,
    ) -> None:
        if form not in FORMS:
            raise ValueError(f"form: expected one of {', '.join(FORMS)}, found {form!r}")
        self.keys = keys
        self.codes = [state_code_table(m) for m in machines]
        self.pack_types = [pack_metric_types(m) for m in machines]
        # a machine (not a feeder meter) may label its stops: its DBIRTH defines `reason` too
        self.labels = [("reason",) if m.kind != "meter" else () for m in machines]
        self.aliases: dict[int, dict[str, int]] = {}  # Sparkplug device -> metric -> alias (its DBIRTH's)
        n = len(keys)
        order = list(range(n))
        rng.shuffle(order)
        spb = set(order[: round(min(max(sparkplug_share, 0.0), 1.0) * n)])
        self.forms: list[str] = []
        for i in range(n):
            if i in spb:
                self.forms.append("sparkplug")
            elif form == "mixed":
                self.forms.append(rng.choice(("metric", "batch")))
            else:
                self.forms.append(form)
        self.nodes: dict[str, _Node] = {}
        self.node_of: dict[int, _Node] = {}
        for i in sorted(spb):
            site, line, machine = keys[i]
            name = f"{site}/{line}"
            node = self.nodes.get(name)
            if node is None:
                node = self.nodes[name] = _Node(site, line)
            node.devices[i] = machine
            self.node_of[i] = node
        self.seq = [0] * n
        self.start = start
        self.topics = [f"brain/v1/{s}/{ln}/{m}" for s, ln, m in keys]

    # --- Sparkplug sessions ---
    def will(self, client: str) -> tuple[str, bytes]:
        """The NDEATH a node's MQTT session registers as its Will."""
        node = self.nodes[client]
        return f"spBv1.0/{node.group}/NDEATH/{node.edge}", _bdseq_payload(node.bd_seq, None)

    def node_births(self) -> list[Message]:
        out = []
        for name, node in self.nodes.items():
            p = pb.Payload(timestamp=self.start, seq=0)
            _metric(p, "bdSeq", pb.UInt64, node.bd_seq)
            _metric(p, "Node Control/Rebirth", pb.Boolean, False)
            node.seq = 0
            node.born.clear()
            out.append(
                Message(
                    name, f"spBv1.0/{node.group}/NBIRTH/{node.edge}", p.SerializeToString(), 0, self.start
                )
            )
        return out

    def deaths(self, ts: int) -> list[Message]:
        out = []
        for name, node in self.nodes.items():
            for i, device in node.devices.items():
                if i in node.born:
                    p = pb.Payload(timestamp=ts, seq=self._next_seq(node))
                    topic = f"spBv1.0/{node.group}/DDEATH/{node.edge}/{device}"
                    out.append(Message(name, topic, p.SerializeToString(), 0, ts))
            topic, payload = self.will(name)
            out.append(Message(name, topic, payload, 0, ts))
        return out

    @staticmethod
    def _next_seq(node: _Node) -> int:
        node.seq = (node.seq + 1) % 256
        return node.seq

    # --- samples ---
    def encode(self, sample: Sample) -> list[Message]:
        ts, i, metrics = sample
        form = self.forms[i]
        codes = self.codes[i]
        if codes and "state" in metrics:
            metrics = dict(metrics)
            metrics["state"] = codes.get(metrics["state"], metrics["state"])
        if form == "batch":
            seq = self.seq[i]
            self.seq[i] = seq + 1
            payload = orjson.dumps({"ts": ts, "seq": seq, "metrics": metrics})
            return [Message(None, self.topics[i], payload, len(metrics), ts)]
        if form == "metric":
            out = []
            base = self.topics[i]
            for metric, value in ordered(metrics):
                seq = self.seq[i]
                self.seq[i] = seq + 1
                doc: dict[str, Any] = {"value": value, "ts": ts}
                unit = UNITS.get(metric)
                if unit:
                    doc["unit"] = unit
                doc["seq"] = seq
                out.append(Message(None, f"{base}/{metric}", orjson.dumps(doc), 1, ts))
            return out
        return [self._sparkplug(ts, i, metrics, codes)]

    def _sparkplug(self, ts: int, i: int, metrics: dict[str, Any], codes: dict[str, Any]) -> Message:
        node = self.node_of[i]
        device = node.devices[i]
        p = pb.Payload(timestamp=ts, seq=self._next_seq(node))
        names = [m for m in METRIC_ORDER if m in metrics] + sorted(
            m for m in metrics if m not in METRIC_ORDER
        )
        if i not in node.born:
            node.born.add(i)
            kind = "DBIRTH"
            defined = [*METRIC_ORDER, *self.labels[i], *sorted(self.pack_types[i])]
            defined += [m for m in names if m not in defined]
            self.aliases[i] = {name: alias for alias, name in enumerate(defined, 1)}
            for alias, name in enumerate(defined, 1):
                dtype = self._dtype(i, name, codes)
                m = p.metrics.add()
                m.name, m.alias, m.datatype, m.timestamp = name, alias, dtype, ts
                if name in metrics:
                    setattr(m, _FIELD[dtype], metrics[name])
                else:
                    m.is_null = True
        else:
            kind = "DDATA"
            aliases = self.aliases[i]
            for name in names:
                alias = aliases.get(name)
                if alias is None:  # a metric the BIRTH did not define cannot go out by alias
                    continue
                m = p.metrics.add()
                m.alias, m.timestamp = alias, ts
                setattr(m, _FIELD[self._dtype(i, name, codes)], metrics[name])
        topic = f"spBv1.0/{node.group}/{kind}/{node.edge}/{device}"
        return Message(f"{node.group}/{node.edge}", topic, p.SerializeToString(), len(metrics), ts)

    def _dtype(self, i: int, name: str, codes: dict[str, Any]) -> int:
        if name == "state" and codes:
            return pb.Int32 if isinstance(next(iter(codes.values())), int) else pb.String
        return _SPB_TYPES.get(name) or self.pack_types[i].get(name, pb.Double)


def _metric(p: pb.Payload, name: str, dtype: int, value: Any) -> None:
    m = p.metrics.add()
    m.name, m.datatype = name, dtype
    if dtype == pb.Boolean:
        m.boolean_value = value
    else:
        setattr(m, _FIELD[dtype], value)


def _bdseq_payload(bd_seq: int, ts: int | None) -> bytes:
    p = pb.Payload()
    if ts is not None:
        p.timestamp = ts
    _metric(p, "bdSeq", pb.UInt64, bd_seq)
    return p.SerializeToString()
