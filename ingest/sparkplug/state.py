"""Sparkplug B host-side logic: BIRTH cache, alias resolution, seq/bdSeq tracking, DEATH. Pure.

`SparkplugState` holds what the BIRTH certificates defined, per edge node and device. It does no
I/O: `parse_sparkplug` reads and updates it and returns readings, dead letters and actions
(rebirth requests) for the caller to carry out. One state per bridge process; the bridge must see
every message of a node (do not spread one `spBv1.0/#` subscription over a shared group).

Spec points implemented (Sparkplug 3.0):
- NBIRTH starts a session: seq 0, `bdSeq` metric, metric names, datatypes and aliases; it voids the
  node's device BIRTHs (the node re-sends DBIRTHs).
- DATA before its BIRTH, a metric alias or name the BIRTH did not define, or a gap in the node's
  seq (0..255, wrapping, shared by the node and its devices) -> a rebirth request: NCMD
  `Node Control/Rebirth` = true, at most one per node per `rebirth_interval_ms`.
- NDEATH with the session's bdSeq (or without bdSeq) -> `state` = `offline` for the node-level
  machine and each device machine; a stale NDEATH (other bdSeq) is ignored. DDEATH -> `offline`
  for that device. DEATH readings carry receive time: an NDEATH is the broker-sent Will, whose
  timestamp is from when the node connected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from google.protobuf.message import DecodeError

from brain.records import Reading
from ingest.config import IngestConfig
from ingest.deadletter import dead_letter
from ingest.outcome import Outcome, Publish, reject_each
from ingest.reasons import Reason
from ingest.sparkplug import sparkplug_b_pb2 as pb
from ingest.sparkplug.mapping import map_identity
from ingest.topics import SparkplugTopic
from ingest.validate import Rejected, check_ts, check_value, make_reading

SOURCE = "sparkplug"
REBIRTH_METRIC = "Node Control/Rebirth"
BDSEQ_METRIC = "bdSeq"

# datatype -> (oneof field expected, signed bit width or 0)
_INT_WIDTH = {pb.Int8: 8, pb.Int16: 16, pb.Int32: 32, pb.Int64: 64}
_UINTS = frozenset({pb.UInt8, pb.UInt16, pb.UInt32, pb.UInt64, pb.DateTime})
_FLOATS = frozenset({pb.Float, pb.Double})
_STRINGS = frozenset({pb.String, pb.Text, pb.UUID})
_SUPPORTED = frozenset(_INT_WIDTH) | _UINTS | _FLOATS | _STRINGS | {pb.Boolean}
_ONEOF_TYPE = {
    "int_value": pb.UInt32,
    "long_value": pb.UInt64,
    "float_value": pb.Float,
    "double_value": pb.Double,
    "boolean_value": pb.Boolean,
    "string_value": pb.String,
    "bytes_value": pb.Bytes,
    "dataset_value": pb.DataSet,
    "template_value": pb.Template,
    "extension_value": pb.Unknown,
}
_NAME_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


@dataclass(slots=True)
class _Birth:
    """What one (N|D)BIRTH defined: metric name -> datatype, alias -> name."""

    types: dict[str, int] = field(default_factory=dict)
    aliases: dict[int, str] = field(default_factory=dict)
    ambiguous: set[int] = field(default_factory=set)  # aliases the BIRTH gave to two names: unusable


@dataclass(slots=True)
class NodeSession:
    """One edge node as the host sees it."""

    bd_seq: int | None = None
    seq: int | None = None  # last seq seen
    birth: _Birth | None = None  # None: no valid NBIRTH (never, or after NDEATH)
    devices: dict[str, _Birth] = field(default_factory=dict)
    known_devices: set[str] = field(default_factory=set)  # devices ever born: DEATH marks them offline
    last_rebirth_ms: int | None = None


@dataclass(slots=True)
class SparkplugState:
    """Per-node BIRTH cache and counters. Mutable, no I/O; owned by one caller."""

    nodes: dict[tuple[str, str], NodeSession] = field(default_factory=dict)
    counters: dict[str, int] = field(
        default_factory=lambda: {
            "seq_gaps": 0,
            "bdseq_gaps": 0,
            "stale_deaths": 0,
            "rebirth_requests": 0,
            "rebirth_suppressed": 0,
        }
    )

    def session(self, group: str, edge: str) -> NodeSession:
        key = (group, edge)
        node = self.nodes.get(key)
        if node is None:
            node = self.nodes[key] = NodeSession()
        return node


def rebirth_request(group: str, edge: str, now_ms: int) -> Publish:
    """The NCMD a host sends to make an edge node re-publish its BIRTH certificates."""
    payload = pb.Payload(timestamp=now_ms)
    metric = payload.metrics.add()
    metric.name = REBIRTH_METRIC
    metric.datatype = pb.Boolean
    metric.boolean_value = True
    return Publish(f"spBv1.0/{group}/NCMD/{edge}", payload.SerializeToString(), qos=0, why="rebirth")


def parse_sparkplug(
    topic: str,
    t: SparkplugTopic,
    payload: bytes,
    received_ts: int,
    config: IngestConfig,
    state: SparkplugState,
) -> Outcome:
    """Decode one Sparkplug B message, update `state`, return what it means."""
    out = Outcome()
    kind = t.message_type
    if kind in ("NCMD", "DCMD"):
        out.ignored = "sparkplug command"
        return out
    try:
        if len(payload) > config.max_payload_bytes:
            raise Rejected(
                Reason.PAYLOAD_TOO_LARGE, f"payload {len(payload)} bytes > {config.max_payload_bytes}"
            )
        try:
            msg = pb.Payload.FromString(payload)
        except (DecodeError, RecursionError, ValueError) as exc:
            raise Rejected(Reason.SPARKPLUG_BAD_PAYLOAD, f"not a Sparkplug B payload: {exc}") from None
        node = state.session(t.group, t.edge)
        if kind == "NBIRTH":
            _nbirth(topic, t, payload, msg, node, received_ts, config, state, out)
        elif kind == "NDEATH":
            _ndeath(topic, t, msg, node, received_ts, config, state, out)
        else:
            _device_or_data(topic, t, payload, msg, node, received_ts, config, state, out)
    except Rejected as rej:
        out.dead_letters.append(dead_letter(topic, payload, rej.reason, rej.detail, received_ts, SOURCE))
    if not out.readings and not out.dead_letters and out.ignored is None:
        out.ignored = f"sparkplug {kind} without values"
    return out


def _nbirth(
    topic: str, t: SparkplugTopic, payload: bytes, msg: pb.Payload, node: NodeSession,
    received_ts: int, config: IngestConfig, state: SparkplugState, out: Outcome,
) -> None:  # fmt: skip
    bd_seq = None
    for m in msg.metrics:
        if m.name == BDSEQ_METRIC and m.WhichOneof("value") in ("long_value", "int_value"):
            bd_seq = m.long_value if m.HasField("long_value") else m.int_value
    if bd_seq is not None and node.bd_seq is not None and bd_seq != (node.bd_seq + 1) % 256:
        state.counters["bdseq_gaps"] += 1
    birth = _Birth()
    node.bd_seq = bd_seq
    node.seq = msg.seq if msg.HasField("seq") else 0
    node.birth = birth
    node.devices = {}
    _values(topic, t, payload, msg, birth, True, received_ts, config, state, out)


def _ndeath(
    topic: str, t: SparkplugTopic, msg: pb.Payload, node: NodeSession,
    received_ts: int, config: IngestConfig, state: SparkplugState, out: Outcome,
) -> None:  # fmt: skip
    bd_seq = None
    for m in msg.metrics:
        if m.name == BDSEQ_METRIC and m.WhichOneof("value") in ("long_value", "int_value"):
            bd_seq = m.long_value if m.HasField("long_value") else m.int_value
    if bd_seq is not None and node.bd_seq is not None and bd_seq != node.bd_seq:
        state.counters["stale_deaths"] += 1
        out.ignored = f"stale NDEATH (bdSeq {bd_seq}, session {node.bd_seq})"
        return
    devices = sorted(node.known_devices)
    node.birth = None
    node.devices = {}
    node.seq = None
    for device in [None, *devices]:
        out.readings.append(_offline(t.group, t.edge, device, received_ts, config))


def _offline(group: str, edge: str, device: str | None, ts: int, config: IngestConfig) -> Reading:
    site, line, machine = map_identity(group, edge, device, config.sparkplug_map)
    return make_reading(site, line, machine, "state", "offline", ts, None, ts, SOURCE, None)


def _device_or_data(
    topic: str, t: SparkplugTopic, payload: bytes, msg: pb.Payload, node: NodeSession,
    received_ts: int, config: IngestConfig, state: SparkplugState, out: Outcome,
) -> None:  # fmt: skip
    kind = t.message_type
    if node.birth is None:
        _rebirth(t, node, received_ts, config, state, out)
        raise Rejected(Reason.SPARKPLUG_NO_BIRTH, f"{kind} from {t.group}/{t.edge} before its NBIRTH")
    if msg.HasField("seq"):
        if node.seq is not None and msg.seq != (node.seq + 1) % 256:
            state.counters["seq_gaps"] += 1
            _rebirth(t, node, received_ts, config, state, out)
        node.seq = msg.seq
    device = t.device
    if kind == "NDATA":
        _values(topic, t, payload, msg, node.birth, False, received_ts, config, state, out)
        return
    assert device is not None
    if kind == "DBIRTH":
        birth = node.devices[device] = _Birth()
        node.known_devices.add(device)
        _values(topic, t, payload, msg, birth, True, received_ts, config, state, out)
    elif kind == "DDEATH":
        node.devices.pop(device, None)
        out.readings.append(_offline(t.group, t.edge, device, received_ts, config))
    else:  # DDATA
        dev_birth = node.devices.get(device)
        if dev_birth is None:
            _rebirth(t, node, received_ts, config, state, out)
            raise Rejected(
                Reason.SPARKPLUG_NO_BIRTH, f"DDATA from {t.group}/{t.edge}/{device} before its DBIRTH"
            )
        _values(topic, t, payload, msg, dev_birth, False, received_ts, config, state, out)


def _rebirth(
    t: SparkplugTopic, node: NodeSession, now: int, config: IngestConfig, state: SparkplugState, out: Outcome
) -> None:
    if any(a.why == "rebirth" for a in out.actions):
        return
    if node.last_rebirth_ms is not None and 0 <= now - node.last_rebirth_ms < config.rebirth_interval_ms:
        state.counters["rebirth_suppressed"] += 1
        return
    node.last_rebirth_ms = now
    state.counters["rebirth_requests"] += 1
    out.actions.append(rebirth_request(t.group, t.edge, now))


def metric_name(name: str) -> str:
    """A Sparkplug metric name as a v1 metric name: `/` -> `.`, other odd characters -> `_`."""
    if all(c in _NAME_SAFE for c in name):
        return name[:64]
    return "".join(c if c in _NAME_SAFE else "." if c == "/" else "_" for c in name)[:64]


def _values(
    topic: str, t: SparkplugTopic, payload: bytes, msg: pb.Payload, birth: _Birth, is_birth: bool,
    received_ts: int, config: IngestConfig, state: SparkplugState, out: Outcome,
) -> None:  # fmt: skip
    """Readings for the metrics of a BIRTH (which also defines them) or DATA (resolved by the BIRTH)."""
    site, line, machine = map_identity(t.group, t.edge, t.device, config.sparkplug_map)
    key = f"{site}/{line}/{machine}"
    default_ts = msg.timestamp if msg.HasField("timestamp") else received_ts
    rejects: list[tuple[str, Rejected]] = []
    need_rebirth = False
    for m in msg.metrics:
        has_name = m.HasField("name")
        name = m.name if has_name else None
        try:
            if type(name) is bytes:  # proto2 strings are not UTF-8-checked: upb returns the bytes
                bad, name = name, None
                raise Rejected(Reason.SPARKPLUG_BAD_PAYLOAD, f"metric name {bad!r:.80} is not UTF-8")
            if is_birth:
                if name is None:
                    raise Rejected(Reason.SPARKPLUG_UNKNOWN_ALIAS, "BIRTH metric without a name")
                datatype = (
                    m.datatype if m.HasField("datatype") else _ONEOF_TYPE.get(m.WhichOneof("value") or "", 0)
                )
                birth.types[name] = datatype
                if m.HasField("alias"):
                    other = birth.aliases.get(m.alias)
                    if (other is not None and other != name) or m.alias in birth.ambiguous:
                        birth.ambiguous.add(m.alias)  # which metric DATA means is unknowable
                        birth.aliases.pop(m.alias, None)
                        raise Rejected(
                            Reason.SPARKPLUG_UNKNOWN_ALIAS,
                            f"alias {m.alias} of {name!r:.60} already names {other!r:.60}: alias dropped",
                        )
                    birth.aliases[m.alias] = name
            else:
                if name is None and m.HasField("alias"):
                    name = birth.aliases.get(m.alias)
                if name is None:
                    need_rebirth = True
                    alias = m.alias if m.HasField("alias") else "none"
                    why = "given to two metrics by" if alias in birth.ambiguous else "not defined by"
                    raise Rejected(Reason.SPARKPLUG_UNKNOWN_ALIAS, f"alias {alias} {why} the BIRTH")
                datatype = birth.types.get(name)
                if datatype is None:
                    need_rebirth = True
                    raise Rejected(
                        Reason.SPARKPLUG_UNKNOWN_ALIAS, f"metric {name!r:.80} not defined by the BIRTH"
                    )
                if m.HasField("datatype"):
                    datatype = m.datatype
            if name == BDSEQ_METRIC or name.startswith("Node Control/"):
                continue
            oneof = m.WhichOneof("value")
            if m.is_null or oneof is None:
                if is_birth:
                    continue  # a BIRTH may define a metric without a current value
                raise Rejected(Reason.SPARKPLUG_NULL_VALUE, f"{name!r:.80}: null value")
            value = _decode(m, oneof, datatype, name)
            metric = metric_name(name)
            if not metric:
                raise Rejected(Reason.METRIC_BAD_NAME, "empty metric name")
            value = check_value(metric, value, key, config)
            ts = check_ts(m.timestamp if m.HasField("timestamp") else default_ts, received_ts, config)
        except Rejected as rej:
            rejects.append((name or f"alias:{m.alias}", rej))
            continue
        out.readings.append(
            make_reading(site, line, machine, metric, value, ts, None, received_ts, SOURCE, None)
        )
    if need_rebirth:
        node = state.session(t.group, t.edge)
        _rebirth(t, node, received_ts, config, state, out)
    if rejects:
        reject_each(topic, payload, rejects, received_ts, config, out, SOURCE)


def _decode(m: pb.Payload.Metric, oneof: str, datatype: int, name: str) -> object:
    if datatype not in _SUPPORTED:
        raise Rejected(
            Reason.SPARKPLUG_UNSUPPORTED_TYPE,
            f"{name!r:.80}: datatype {_type_name(datatype)} is not a scalar",
        )
    if oneof in ("int_value", "long_value"):
        raw = m.int_value if oneof == "int_value" else m.long_value
        width = _INT_WIDTH.get(datatype)
        if width is not None:
            raw &= (1 << width) - 1
            if raw >= 1 << (width - 1):
                raw -= 1 << width
            return raw
        if datatype in _UINTS:
            return raw
    elif oneof in ("float_value", "double_value"):
        if datatype in _FLOATS:
            return m.float_value if oneof == "float_value" else m.double_value
    elif oneof == "boolean_value":
        if datatype == pb.Boolean:
            return m.boolean_value
    elif oneof == "string_value" and datatype in _STRINGS:
        if type(m.string_value) is bytes:  # invalid UTF-8 (see the metric name in _values)
            raise Rejected(Reason.SPARKPLUG_BAD_PAYLOAD, f"{name!r:.80}: string value is not UTF-8")
        return m.string_value
    raise Rejected(
        Reason.SPARKPLUG_UNSUPPORTED_TYPE,
        f"{name!r:.80}: value in {oneof} does not match datatype {datatype}",
    )


def _type_name(datatype: int) -> str:
    return pb.DataType.Name(datatype) if datatype in pb.DataType.values() else str(datatype)
