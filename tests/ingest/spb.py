"""Sparkplug B payload builders for tests (with the generated bindings)."""

from __future__ import annotations

from typing import Any

from ingest.sparkplug import sparkplug_b_pb2 as pb

_FIELD = {
    pb.Int8: "int_value",
    pb.Int16: "int_value",
    pb.Int32: "int_value",
    pb.UInt8: "int_value",
    pb.UInt16: "int_value",
    pb.UInt32: "int_value",
    pb.Int64: "long_value",
    pb.UInt64: "long_value",
    pb.DateTime: "long_value",
    pb.Float: "float_value",
    pb.Double: "double_value",
    pb.Boolean: "boolean_value",
    pb.String: "string_value",
    pb.Text: "string_value",
    pb.UUID: "string_value",
    pb.Bytes: "bytes_value",
}


def metric(
    name: str | None = None,
    value: Any = None,
    datatype: int | None = None,
    *,
    alias: int | None = None,
    timestamp: int | None = None,
    is_null: bool = False,
) -> dict[str, Any]:
    return {
        "name": name,
        "value": value,
        "datatype": datatype,
        "alias": alias,
        "timestamp": timestamp,
        "is_null": is_null,
    }


def payload(metrics: list[dict[str, Any]], *, seq: int | None = None, timestamp: int | None = None) -> bytes:
    p = pb.Payload()
    if seq is not None:
        p.seq = seq
    if timestamp is not None:
        p.timestamp = timestamp
    for spec in metrics:
        m = p.metrics.add()
        if spec["name"] is not None:
            m.name = spec["name"]
        if spec["alias"] is not None:
            m.alias = spec["alias"]
        if spec["timestamp"] is not None:
            m.timestamp = spec["timestamp"]
        if spec["is_null"]:
            m.is_null = True
        datatype = spec["datatype"]
        if datatype is not None:
            m.datatype = datatype
        value = spec["value"]
        if value is not None and datatype is None:  # DATA may omit the datatype: pick the field
            field = {bool: "boolean_value", int: "long_value", float: "double_value", str: "string_value"}
            setattr(m, field[type(value)], value)
        elif value is not None and datatype is not None:
            if datatype in (pb.Int8, pb.Int16, pb.Int32, pb.Int64) and value < 0:
                width = {pb.Int8: 8, pb.Int16: 16, pb.Int32: 32, pb.Int64: 64}[datatype]
                value &= (1 << width) - 1  # Sparkplug 3.0: two's complement in the unsigned field
            setattr(m, _FIELD[datatype], value)
    return p.SerializeToString()


def bd_seq(n: int) -> dict[str, Any]:
    return metric("bdSeq", n, pb.Int64)
