"""What `brain bench` checks after the run: brain.readings read back (`lost`, duplicates, latencies),
dead letters, the final 1-minute machine KPI records (Kafka and InfluxDB) against the counter increases
published (`double_counted`), and the JSON result built from all of it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from brain.bench.load import HEARTBEAT_METRICS, MINUTE, metric_index
from brain.bench.observe import Kafka, KpiPoller, Monitor, _stat, influx_query, pct

if TYPE_CHECKING:
    from brain.bench.cli import Bench


def check_readings(b: Bench, kafka: Kafka, start: dict[Any, int], end: dict[Any, int]) -> dict[str, Any]:
    import orjson

    site_b = f'"{b.site}"'.encode()
    mi = {m: i for i, (_, m) in enumerate(b.load.machines)}
    hb_index = {m: i for i, m in enumerate(HEARTBEAT_METRICS)}
    index = metric_index(b.load.packs)
    seen: set[tuple[int, int, int]] = set()
    total = 0
    foreign = 0
    kafka_lat: list[float] = []
    mqtt_lat: list[float] = []
    bridge_lat: list[float] = []
    shift = b.load.shift_ms
    for r in kafka.read(start, end):
        if site_b not in r.value:
            continue
        d = orjson.loads(r.value)
        if d.get("site") != b.site:
            continue
        total += 1
        key = (mi.get(d["machine"], -1), d["ts"], index.get(d["metric"], -1))
        kind = b.load.sent.get((key[0], key[1]))
        ok = kind is not None and ((kind > 0 and key[2] >= 0) or (kind < 0 and d["metric"] in hb_index))
        if not ok:
            foreign += 1
            continue
        if key in seen:
            continue
        seen.add(key)
        if kind > 0:  # latency of load readings only
            published = d["ts"] - shift
            kafka_lat.append(r.timestamp - published)
            if "received_ts" in d:
                mqtt_lat.append(d["received_ts"] - published)
                bridge_lat.append(r.timestamp - d["received_ts"])
    return {
        "distinct": len(seen),
        "total": total,
        "unexpected": foreign,
        "kafka_lat": kafka_lat,
        "mqtt_lat": mqtt_lat,
        "bridge_lat": bridge_lat,
    }


def check_deadletters(b: Bench, kafka: Kafka, start: dict[Any, int], end: dict[Any, int]) -> int:
    needle = f"brain/v1/{b.site}/".encode()
    return sum(1 for r in kafka.read(start, end) if needle in r.value)


def check_kpis(b: Bench, kafka: Kafka, boundary: int) -> dict[str, Any]:
    import orjson

    parts = kafka.partitions(b.kpi_topic)
    end = dict(kafka.consumer.end_offsets(parts))
    last: dict[tuple[str, int], dict[str, Any]] = {}
    n = 0
    for r in kafka.read({tp: 0 for tp in parts}, end):
        n += 1
        d = orjson.loads(r.value)
        if (
            d.get("scope") == "machine"
            and d.get("window") == "1m"
            and d.get("final")
            and d["end"] <= boundary
        ):
            last[(d["machine"], d["start"])] = d
    pq: dict[str, float] = {}
    sq: dict[str, float] = {}
    for (m, _), d in last.items():
        pq[m] = pq.get(m, 0.0) + (d.get("pq") or 0.0)
        sq[m] = sq.get(m, 0.0) + (d.get("sq") or 0.0)
    influx_pq: dict[str, float] = {}
    influx_sq: dict[str, float] = {}
    q = (
        f'SELECT "pq", "sq" FROM "oee" WHERE "site" = \'{b.site}\' AND "window" = \'1m\' '
        f'AND "scope" = \'machine\' AND time < {boundary - MINUTE + 1}ms GROUP BY "machine"'
    )
    for s in influx_query(b.settings, q):
        m = s["tags"]["machine"]
        influx_pq[m] = sum(v[1] or 0.0 for v in s["values"])
        influx_sq[m] = sum(v[2] or 0.0 for v in s["values"])
    published_pq: dict[str, float] = {}
    published_sq: dict[str, float] = {}
    for i, (_, m) in enumerate(b.load.machines):
        first = b.load.first[i]
        if first is not None:
            published_pq[m] = float(b.load.count[i] - first[0])
            published_sq[m] = float(b.load.scrap[i] - first[1])

    def over(got: dict[str, float], want: dict[str, float]) -> float:
        return sum(max(0.0, got.get(m, 0.0) - w) for m, w in want.items()) + sum(
            v for m, v in got.items() if m not in want
        )

    def under(got: dict[str, float], want: dict[str, float]) -> float:
        return sum(max(0.0, w - got.get(m, 0.0)) for m, w in want.items())

    double = max(
        over(pq, published_pq) + over(sq, published_sq),
        over(influx_pq, published_pq) + over(influx_sq, published_sq),
    )
    return {
        "kpi_records": n,
        "final_1m_machine_windows": len(last),
        "double_counted": round(double, 3),
        "missing_units": round(max(under(pq, published_pq), under(influx_pq, published_pq)), 3),
        "units_published": {"pq": sum(published_pq.values()), "sq": sum(published_sq.values())},
        "units_in_kpis": {"pq": sum(pq.values()), "sq": sum(sq.values())},
        "units_in_influx": {"pq": sum(influx_pq.values()), "sq": sum(influx_sq.values())},
    }


def report(
    b: Bench,
    *,
    base: dict[str, Any],
    mon: Monitor,
    kpis: KpiPoller,
    got: dict[str, Any],
    dead: int,
    k: dict[str, Any],
    proc_stats: str | None,
    published: int,
    acked: Any,
    load_avg_start: tuple[float, float, float],
    load_avg_end: tuple[float, float, float],
) -> dict[str, Any]:
    """The JSON object `brain bench` prints, from the run's figures and the checks' results."""
    load_s = b.t_load_end - b.t_first_publish
    missing = published - dead - got["distinct"]
    bridge_s = (mon.bridge_done_at - b.t_first_publish) if mon.bridge_done_at else None
    drained = mon.bridge_out >= published - dead
    through = (mon.processors_done_at - b.t_first_publish) if mon.processors_done_at else None
    tput = round(b.load_readings / through) if through else None

    def ratio(limit: dict[str, Any] | None, key: str) -> float | None:
        return round(tput / limit[key], 3) if (limit and tput and limit.get(key)) else None

    return {
        "rate": b.rate or "max",
        "seconds": b.args.seconds,
        "machines": len(b.load.machines),
        "bridges": b.args.bridges,
        "workers": b.args.workers,
        "site": b.site,
        "published": published,
        "published_load": b.load_readings,
        "published_acked": acked,
        "readings_in_kafka": got["distinct"],
        "duplicates_in_kafka": got["total"] - got["distinct"] - got["unexpected"],
        "unexpected_in_kafka": got["unexpected"],
        "deadletters": dead,
        "lost": missing if drained else None,
        "not_drained": None if drained else missing,
        "double_counted": k["double_counted"],
        "kpi_records": k["kpi_records"],
        "kpi_check": {kk: v for kk, v in k.items() if kk not in ("double_counted", "kpi_records")},
        "publish_rps": round(b.load_readings / load_s) if load_s > 0 else None,
        "throughput_rps": tput,
        "bridge_rps": round(b.load_readings / bridge_s) if bridge_s else None,
        "processors_late": _stat(proc_stats, "late"),
        "processors_unknown_machine": _stat(proc_stats, "unknown_machine"),
        "bridge_done_s": round(mon.bridge_done_at - b.t_first_publish, 2) if mon.bridge_done_at else None,
        "processors_done_s": round(through, 2) if through else None,
        "processors_done_after_load_s": round(through - load_s, 2) if through else None,
        "latency_publish_to_kafka_ms": {
            "p50": pct(got["kafka_lat"], 0.5),
            "p99": pct(got["kafka_lat"], 0.99),
            "max": pct(got["kafka_lat"], 1.0),
        },
        "latency_parts_ms": {
            "mqtt_p50": pct(got["mqtt_lat"], 0.5),
            "mqtt_p99": pct(got["mqtt_lat"], 0.99),
            "bridge_p50": pct(got["bridge_lat"], 0.5),
            "bridge_p99": pct(got["bridge_lat"], 0.99),
        },
        "latency_kpi_in_influx_after_grace_s": kpis.latencies(b.args.grace_s * 1000, b.load.shift_ms),
        "grace_s": b.args.grace_s,
        "mqtt_alone": base["mqtt"],
        "kafka_alone": base["kafka"],
        "ratio_to_mqtt": ratio(base["mqtt"], "readings_per_s_equiv"),
        "ratio_to_kafka": ratio(base["kafka"], "msgs_per_s"),
        "processors_stats": proc_stats,
        "loadavg_start": [round(x, 2) for x in load_avg_start],
        "loadavg_end": [round(x, 2) for x in load_avg_end],
        "run_dir": str(b.run_dir),
    }
