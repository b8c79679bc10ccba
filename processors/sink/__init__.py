"""The InfluxDB sink: KPI records, alerts and (optionally) raw readings from Kafka into InfluxDB.

Pure part (no I/O, no kafka/influxdb imports): `mapping` (record -> points, `Rejected` with a
named `Reason`), `lineproto` (points -> line protocol), `downsample`, `deadletter`.
I/O part: `writer.InfluxWriter` (confirmed SYNCHRONOUS writes, bisects rejected batches) and
`service.Sink` (kafka-python consumer, batching, commit after write, pause while InfluxDB is down).
The schema written is docs/SCHEMA.md.
"""

from processors.sink.downsample import Downsampler
from processors.sink.lineproto import Int, Point
from processors.sink.mapping import (
    ENERGY_FIELDS,
    KPI,
    OEE_FIELDS,
    RAW,
    Rejected,
    alert_point,
    decode,
    kpi_points,
    reading_point,
    to_points,
)
from processors.sink.reasons import ALL_REASONS, Reason

__all__ = [
    "ALL_REASONS",
    "ENERGY_FIELDS",
    "KPI",
    "OEE_FIELDS",
    "RAW",
    "Downsampler",
    "Int",
    "Point",
    "Reason",
    "Rejected",
    "alert_point",
    "decode",
    "kpi_points",
    "reading_point",
    "to_points",
]
