"""`brain bench`: drive the whole pipeline and print ONE JSON object with what came out.

    brain bench [--rate R | max] [--seconds N] [--machines M] [--grace-s G] [--baseline-seconds S]

What runs (brain.pipeline, one child process each, logs in the run directory): `brain bridge`
(own client id, only this run's site), `brain process` (own app id = consumer group, own output,
late and partials topics, started at the newest offsets of brain.readings), `brain sink` (own
group, reading only this run's KPI topic) into the real InfluxDB. The bench publishes v1 batch
messages (7 metrics) for a unique site id, at `--rate` readings/s or as fast as Mosquitto acks.

Event time: `ts` = publish wall time + a shift chosen so that the load ENDS on a minute edge M;
the 1-minute windows of the load then close once each machine has sent a reading at M + grace,
which the bench's 1-s heartbeats (count unchanged) provide at that wall time. So:

- publish->Kafka latency = Kafka record timestamp (the bridge's producer sets it at send) - (ts - shift);
  `received_ts` (set by the bridge on arrival) splits it into an MQTT and a bridge part;
- KPI latency = first time InfluxDB answers `final = true` for a 1-minute window - (its end + grace,
  on the wall clock); polled every 0.2 s;
- throughput = load readings / (first publish -> the processors' group committed past the last
  load reading in brain.readings); the commit interval (1 s) makes it a lower bound.

Afterwards it reads brain.readings back between the offsets before and after the run (only this
site): `lost`, `duplicates_in_kafka`; and the final 1-minute machine KPI records (Kafka and
InfluxDB) against the counter increases it published: `double_counted`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import socket
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brain import logs
from brain.settings import KPI_DATABASE, TOPIC_DEADLETTER, TOPIC_READINGS, Settings

log = logging.getLogger("brain.bench")

MINUTE = 60_000
LOAD_METRICS = ("state", "count_total", "count_scrap", "energy_kwh", "energy_kvarh", "power_kw", "power_kvar")
HEARTBEAT_METRICS = ("count_total", "count_scrap")
METRIC_INDEX = {m: i for i, m in enumerate(LOAD_METRICS)}
LINES = 4


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("--rate", default="max", help="readings/s to publish, or 'max' (as fast as Mosquitto acks; default)")
    a("--seconds", type=float, default=30.0, help="length of the load (default 30)")
    a("--machines", type=int, default=100, help=f"machines of the bench site, on {LINES} lines (default 100)")
    a("--grace-s", type=int, default=5, help="the processors' --grace-s (default 5; theirs is 30)")
    a(
        "--baseline-seconds",
        type=float,
        default=5.0,
        help="seconds of each raw limit (Mosquitto alone, Kafka alone); 0 = skip them",
    )
    a("--bridges", type=int, default=1, help="bridge processes; > 1 share the load (--shared-group)")
    a("--workers", type=int, default=1, help="processor worker processes (brain process --workers)")
    a("--run-dir", default=".brain/bench", help="service logs go to RUN_DIR/<run id>/")
    a("--keep", action="store_true", help="keep the run's topics, consumer groups and InfluxDB series")
    a(
        "--tail-timeout-s",
        type=float,
        default=0.0,
        help="longest wait after the load (default 900; stops after 60 s without progress)",
    )
    a("--quiet", action="store_true", help="no progress line on stderr")
    a("--log-level", default="WARNING")
    parser.set_defaults(run=run)


# ---- the load -------------------------------------------------------------------------------------


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


# ---- helpers --------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def influx_query(settings: Settings, q: str) -> list[dict[str, Any]]:
    url = f"{settings.influx_url}/query?" + urllib.parse.urlencode(
        {"db": KPI_DATABASE, "q": q, "epoch": "ms"}
    )
    req = urllib.request.Request(url)
    if settings.influx_token:
        req.add_header("Authorization", f"Token {settings.influx_token}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        body = json.loads(resp.read())
    return [s for r in body.get("results", []) for s in r.get("series", []) or []]


class Kafka:
    """The bench's own kafka-python clients (admin + a group-less consumer)."""

    def __init__(self, settings: Settings) -> None:
        from kafka import KafkaAdminClient, KafkaConsumer

        kw = settings.kafka_kwargs()
        self.settings = settings
        self.admin = KafkaAdminClient(
            bootstrap_servers=settings.kafka_bootstrap.split(","),
            client_id="brain-bench",
            request_timeout_ms=30000,
            **kw,
        )
        self.consumer = KafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap.split(","),
            group_id=None,
            enable_auto_commit=False,
            check_crcs=False,
            max_partition_fetch_bytes=8 << 20,
            fetch_max_bytes=64 << 20,
            **kw,
        )

    def partitions(self, topic: str) -> list[Any]:
        from kafka import TopicPartition

        for _ in range(50):
            parts = self.consumer.partitions_for_topic(topic)
            if parts:
                return [TopicPartition(topic, p) for p in sorted(parts)]
            time.sleep(0.2)
        raise RuntimeError(f"topic {topic} has no partitions")

    def end(self, topic: str) -> dict[Any, int]:
        return dict(self.consumer.end_offsets(self.partitions(topic)))

    def committed(self, group: str, topic: str) -> dict[Any, int]:
        got = self.admin.list_group_offsets({group: self.partitions(topic)})
        offsets = got.get(group, got) if isinstance(got, dict) else {}
        return {tp: om.offset for tp, om in offsets.items() if om is not None and om.offset >= 0}

    def read(self, start: dict[Any, int], end: dict[Any, int]):
        """Every record between the offsets (end exclusive)."""
        todo = {tp: e for tp, e in end.items() if e > start.get(tp, 0)}
        if not todo:
            return
        self.consumer.assign(list(todo))
        for tp in todo:
            self.consumer.seek(tp, start.get(tp, 0))
        while todo:
            for tp, records in self.consumer.poll(timeout_ms=1000, max_records=20000).items():
                for r in records:
                    if r.offset < end[tp]:
                        yield r
                if self.consumer.position(tp) >= end[tp]:
                    todo.pop(tp, None)
                    self.consumer.pause(tp)
        self.consumer.unsubscribe()

    def close(self) -> None:
        self.consumer.close()
        self.admin.close()


# ---- the run --------------------------------------------------------------------------------------


class Monitor(threading.Thread):
    """Polls the bridge's counters and the processors' committed offsets; prints the progress line."""

    def __init__(self, bench: Bench) -> None:
        super().__init__(daemon=True)
        self.b = bench
        self.stop = threading.Event()
        self.bridge_out = 0
        self.lag: int | None = None
        self.bridge_done_at: float | None = None
        self.target: dict[Any, int] | None = None
        self.processors_done_at: float | None = None
        self.next_print = 0.0

    def bridge_readings(self) -> int:
        total = 0
        for port in self.b.metrics_ports:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                    for line in r.read().decode().splitlines():
                        if line.startswith("brain_bridge_readings_out_total "):
                            total += int(float(line.split()[1]))
            except OSError:
                return self.bridge_out
        return total

    def run(self) -> None:
        kafka: Kafka | None = None
        errors = 0
        while not self.stop.wait(0.2):
            now = time.time()
            self.bridge_out = self.bridge_readings()
            load_total = self.b.load_readings
            if self.bridge_done_at is None and load_total and self.bridge_out >= load_total:
                self.bridge_done_at = now
            try:  # Kafka hiccups (a broker dropping connections under load) must not end the monitor
                kafka = kafka or Kafka(self.b.settings)
                if self.bridge_done_at is not None and self.target is None:
                    self.target = kafka.end(TOPIC_READINGS)
                if self.target is not None and self.processors_done_at is None:
                    done = kafka.committed(self.b.app_id, TOPIC_READINGS)
                    if all(done.get(tp, 0) >= off for tp, off in self.target.items()):
                        self.processors_done_at = now
                if now >= self.next_print:
                    self.next_print = now + 2.0
                    end = kafka.end(TOPIC_READINGS)
                    done = kafka.committed(self.b.app_id, TOPIC_READINGS)
                    self.lag = sum(max(0, e - done.get(tp, e)) for tp, e in end.items())
                    self.b.progress(self)
            except Exception as exc:
                errors += 1
                if errors <= 3:
                    logs.event(log, "bench.monitor_kafka_error", logging.WARNING, error=repr(exc)[:300])
                if kafka is not None:
                    with contextlib.suppress(Exception):
                        kafka.close()
                kafka = None
                self.stop.wait(1.0)
        if kafka is not None:
            with contextlib.suppress(Exception):
                kafka.close()


class KpiPoller(threading.Thread):
    """Polls InfluxDB for final 1-minute points of the load's windows; remembers when each appeared."""

    def __init__(self, bench: Bench, first_start: int, end: int) -> None:
        super().__init__(daemon=True)
        self.b, self.first_start, self.end = bench, first_start, end
        self.seen: dict[tuple[str, str, str, int], float] = {}
        self.stop = threading.Event()
        lines = {line for line, _ in bench.load.machines}
        windows = (end - first_start) // MINUTE
        self.expected = windows * (len(bench.load.machines) + len(lines) + 1)

    def run(self) -> None:
        q = (
            f'SELECT "final" FROM "oee" WHERE "site" = \'{self.b.site}\' AND "window" = \'1m\' '
            f'AND time >= {self.first_start}ms AND time < {self.end}ms GROUP BY "scope", "line", "machine"'
        )
        while not self.stop.wait(0.2):
            try:
                series = influx_query(self.b.settings, q)
            except OSError:
                continue
            now = time.time()
            for s in series:
                tags = s.get("tags", {})
                for t, final in s["values"]:
                    key = (tags.get("scope", ""), tags.get("line", ""), tags.get("machine", ""), int(t))
                    if final and key not in self.seen:
                        self.seen[key] = now
            if len(self.seen) >= self.expected:
                return

    @property
    def complete(self) -> bool:
        return len(self.seen) >= self.expected

    def latencies(self, grace_ms: int, shift_ms: int) -> dict[str, Any]:
        by_scope: dict[str, list[float]] = {}
        for (scope, _l, _m, start), seen in self.seen.items():
            ref = (start + MINUTE + grace_ms - shift_ms) / 1000  # window end + grace on the wall clock
            by_scope.setdefault(scope, []).append(seen - ref)
        out: dict[str, Any] = {"windows_expected": self.expected, "windows_final": len(self.seen)}
        for scope in ("machine", "line", "site"):
            v = by_scope.get(scope, [])
            out[scope] = {
                "p50_s": round(pct(v, 0.5) or 0.0, 2) if v else None,
                "max_s": round(max(v), 2) if v else None,
                "n": len(v),
            }
        return out


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.settings = Settings.from_env()
        self.rate = 0.0 if str(args.rate).lower() in ("max", "0") else float(args.rate)
        tag = uuid.uuid4().hex[:8]
        self.run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{tag}"
        self.site = f"bench{tag}"
        self.app_id = f"brain-bench-{tag}"
        self.prefix = self.app_id  # every topic and group of this run starts with it
        self.kpi_topic = f"{self.prefix}.kpis"
        self.run_dir = Path(args.run_dir).resolve() / self.run_id
        machines = [(f"l{i % LINES}", f"m{i}") for i in range(args.machines)]
        self.load = Load(self.site, machines)
        self.load_readings = 0  # set when the load ends: what the monitor waits for
        self.metrics_ports = [free_port() for _ in range(max(1, args.bridges))]
        self.t_first_publish = 0.0
        self.t_load_end = 0.0
        self.phase = "start"
        self.quiet = args.quiet

    def progress(self, mon: Monitor) -> None:
        if self.quiet:
            return
        t = time.time() - self.t_first_publish if self.t_first_publish else 0.0
        rate = self.load.readings / t if t > 0 else 0.0
        sys.stderr.write(
            f"bench {self.phase:<9} t={t:5.1f}s published {self.load.readings:,} ({rate:,.0f}/s) "
            f"bridge->kafka {mon.bridge_out:,} processors lag {mon.lag if mon.lag is not None else '?'}\n"
        )
        sys.stderr.flush()

    def note(self, text: str) -> None:
        if not self.quiet:
            sys.stderr.write(f"bench: {text}\n")
            sys.stderr.flush()

    # -- set-up
    def baselines(self) -> dict[str, Any]:
        from brain.bench.baselines import kafka_limit, mqtt_limit
        from brain.stack.servers import ensure_topics

        secs = self.args.baseline_seconds
        if secs <= 0:
            return {"mqtt": None, "kafka": None}
        probe = Load(self.site, self.load.machines[:10])
        msgs = [probe.message(i % 10)[1] for i in range(50)]
        self.note(f"raw limit of Mosquitto alone ({secs:g} s) ...")
        mqtt = mqtt_limit(self.settings, f"brain-bench/{self.site}/l0/mqtt", msgs, secs)
        mqtt["readings_per_s_equiv"] = mqtt["msgs_per_s"] * len(LOAD_METRICS)
        mqtt["payload_bytes"] = round(sum(map(len, msgs)) / len(msgs))
        records = []
        import orjson

        for m in msgs[:20]:
            body = orjson.loads(m)
            for metric, value in body["metrics"].items():
                records.append(
                    (
                        f"{self.site}/l0/m0".encode(),
                        orjson.dumps(
                            {
                                "site": self.site,
                                "line": "l0",
                                "machine": "m0",
                                "metric": metric,
                                "value": value,
                                "ts": body["ts"],
                                "received_ts": body["ts"],
                                "source": "mqtt",
                                "seq": body["seq"],
                            }
                        ),
                    )
                )
        topic = f"{self.prefix}.rawkafka"
        ensure_topics(self.settings.kafka_bootstrap, {topic: self.partitions}, self.settings.kafka_kwargs())
        self.note(f"raw limit of Kafka alone ({secs:g} s) ...")
        kafka = kafka_limit(self.settings, topic, records, secs)
        kafka["record_bytes"] = round(sum(len(v) for _, v in records) / len(records))
        return {"mqtt": mqtt, "kafka": kafka}

    def start_pipeline(self, kafka: Kafka) -> Any:
        from kafka.structs import OffsetAndMetadata

        from brain.pipeline import Pipeline
        from brain.stack.servers import ensure_topics

        plant = self.run_dir / "plant.yaml"
        plant.write_text(plant_yaml(self.site, self.load.machines))
        ensure_topics(
            self.settings.kafka_bootstrap, {self.kpi_topic: self.partitions}, self.settings.kafka_kwargs()
        )
        # `brain process` has no "start at the newest offsets" option (its consumer starts at the
        # earliest for a new group): commit the group's offsets at the end of brain.readings first.
        end = kafka.end(TOPIC_READINGS)
        kafka.admin.alter_group_offsets(
            self.app_id, {tp: OffsetAndMetadata(o, "", -1) for tp, o in end.items()}
        )
        pipe = Pipeline(self.run_dir)
        cfg = str(plant)
        n_bridges = self.args.bridges
        for b, port in enumerate(self.metrics_ports):
            shared = ["--shared-group", self.app_id] if n_bridges > 1 else []
            pipe.add(
                f"bridge{b}" if n_bridges > 1 else "bridge",
                ["bridge", "--config", cfg, "--client-id", f"{self.app_id}-{b}", "--no-sparkplug",
                 "--topic", f"brain/v1/{self.site}/#", *shared, "--session-expiry", "300",
                 "--metrics-port", str(port), "--status-interval", "5"],
            )  # fmt: skip
        pipe.add(
            "processors",
            [
                "process",
                "--config",
                cfg,
                "--app-id",
                self.app_id,
                "--grace-s",
                str(self.args.grace_s),
                "--output-topic",
                self.kpi_topic,
                "--late-topic",
                f"{self.prefix}.late",
                "--partials-topic",
                f"{self.prefix}.partials",
                "--data-dir",
                str(self.run_dir / "processors"),
                "--stats-interval-s",
                "5",
                "--workers",
                str(self.args.workers),
            ],
        )
        pipe.add(
            "sink",
            [
                "sink",
                "--topics",
                f"kpis={self.kpi_topic}",
                "--group",
                f"{self.prefix}-sink",
                "--status-interval",
                "5",
            ],
        )
        pipe.start_all()
        return pipe

    def wait_ready(self, pipe: Any, kafka: Kafka, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        bridges = [n for n in pipe.services if n.startswith("bridge")]
        for name, text in [*((b, "bridge.subscribed") for b in bridges), ("sink", "sink.started")]:
            if not pipe.wait_for_log(name, text, timeout_s=max(1.0, deadline - time.monotonic())):
                raise RuntimeError(f"{name} did not start: " + "\n".join(pipe.dead()))
        for group in (self.app_id, f"{self.prefix}-sink"):
            while True:
                if pipe.dead():
                    raise RuntimeError("a service died:\n" + "\n".join(pipe.dead()))
                if time.monotonic() > deadline:
                    raise RuntimeError(f"consumer group {group} got no partitions within {timeout_s:.0f} s")
                try:
                    got = kafka.admin.describe_groups([group])
                    info = got.get(group) or {}
                    if info.get("group_state") == "Stable" and info.get("members"):
                        break
                except Exception:
                    pass
                time.sleep(0.3)

    # -- the load and the tail
    def publish(self, mqtt: Any, kpis: KpiPoller | None = None) -> None:
        load = self.load
        n = len(load.machines)
        per_msg = len(LOAD_METRICS)
        pub = mqtt.publish
        t0 = time.monotonic()
        self.t_first_publish = time.time()
        end = t0 + self.args.seconds
        i = 0
        self.phase = "load"
        while True:
            now = time.monotonic()
            if now >= end:
                break
            if self.rate:
                due = t0 + i * per_msg / self.rate
                if due > now + 0.002:
                    time.sleep(min(due - now, end - now))
                    continue
            topic, payload = load.message(i % n)
            pub(None, topic, payload)
            i += 1
        self.t_load_end = time.time()
        self.load_readings = load.readings

    def tail(self, mqtt: Any, kpis: KpiPoller, mon: Monitor) -> None:
        """Heartbeats every second (on the wall-clock second of event time) until the load's windows
        are final in InfluxDB and the processors are through the load, or the timeout."""
        self.phase = "tail"
        cap = self.args.tail_timeout_s or 900.0
        start = time.monotonic()
        progress, moved = (-1, -1), start
        k = 0
        while True:
            now = time.monotonic()
            if kpis.complete and mon.processors_done_at is not None:
                return
            mark = (mon.bridge_out, len(kpis.seen))
            if mark != progress:
                progress, moved = mark, now
            if now - start > cap or now - moved > 60:
                break
            # round k at event time M + k s, i.e. wall time t_load_end + k s
            wait = self.t_load_end + k - time.time()
            if wait > 0:
                time.sleep(min(wait, 0.2))
                continue
            for i in range(len(self.load.machines)):
                mqtt.publish(None, *self.load.heartbeat(i))
            k += 1
        self.note(
            f"tail gave up after {time.monotonic() - start:.0f} s (KPIs complete: {kpis.complete}, "
            f"processors through: {mon.processors_done_at is not None})"
        )

    # -- checks
    def check_readings(self, kafka: Kafka, start: dict[Any, int], end: dict[Any, int]) -> dict[str, Any]:
        import orjson

        site_b = f'"{self.site}"'.encode()
        mi = {m: i for i, (_, m) in enumerate(self.load.machines)}
        hb_index = {m: i for i, m in enumerate(HEARTBEAT_METRICS)}
        seen: set[tuple[int, int, int]] = set()
        total = 0
        foreign = 0
        kafka_lat: list[float] = []
        mqtt_lat: list[float] = []
        bridge_lat: list[float] = []
        shift = self.load.shift_ms
        for r in kafka.read(start, end):
            if site_b not in r.value:
                continue
            d = orjson.loads(r.value)
            if d.get("site") != self.site:
                continue
            total += 1
            key = (mi.get(d["machine"], -1), d["ts"], METRIC_INDEX.get(d["metric"], -1))
            kind = self.load.sent.get((key[0], key[1]))
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

    def check_deadletters(self, kafka: Kafka, start: dict[Any, int], end: dict[Any, int]) -> int:
        needle = f"brain/v1/{self.site}/".encode()
        return sum(1 for r in kafka.read(start, end) if needle in r.value)

    def check_kpis(self, kafka: Kafka, boundary: int) -> dict[str, Any]:
        import orjson

        parts = kafka.partitions(self.kpi_topic)
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
            f'SELECT "pq", "sq" FROM "oee" WHERE "site" = \'{self.site}\' AND "window" = \'1m\' '
            f'AND "scope" = \'machine\' AND time < {boundary - MINUTE + 1}ms GROUP BY "machine"'
        )
        for s in influx_query(self.settings, q):
            m = s["tags"]["machine"]
            influx_pq[m] = sum(v[1] or 0.0 for v in s["values"])
            influx_sq[m] = sum(v[2] or 0.0 for v in s["values"])
        published_pq: dict[str, float] = {}
        published_sq: dict[str, float] = {}
        for i, (_, m) in enumerate(self.load.machines):
            first = self.load.first[i]
            if first is not None:
                published_pq[m] = float(self.load.count[i] - first[0])
                published_sq[m] = float(self.load.scrap[i] - first[1])

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

    def cleanup(self, kafka: Kafka) -> None:
        if self.args.keep:
            return
        try:
            topics = [t for t in kafka.consumer.topics() if t.startswith(self.prefix)]
            if topics:
                kafka.admin.delete_topics(topics, raise_errors=False)
            kafka.admin.delete_groups([self.app_id, f"{self.prefix}-sink"])
        except Exception as exc:
            logs.event(log, "bench.cleanup_failed", logging.WARNING, error=repr(exc))
        try:
            influx_query(self.settings, f'DROP SERIES FROM "oee", "energy" WHERE "site" = \'{self.site}\'')
        except OSError as exc:
            logs.event(log, "bench.cleanup_failed", logging.WARNING, error=repr(exc))

    # -- everything
    def execute(self) -> dict[str, Any]:
        from brain.stack.health import problems
        from ingest.simulator.publish import MqttOut

        logging.getLogger("kafka").setLevel(logging.ERROR)  # describe_groups warns about Faust's metadata
        found = problems(self.settings)
        if found:
            raise RuntimeError("the servers are not ready: " + "; ".join(found))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        kafka = Kafka(self.settings)
        self.partitions = len(kafka.partitions(TOPIC_READINGS))
        pipe = None
        load_avg_start = os.getloadavg()
        try:
            base = self.baselines()
            self.note(f"starting bridge, processors, sink (logs in {self.run_dir}) ...")
            pipe = self.start_pipeline(kafka)
            self.wait_ready(pipe, kafka)
            start_readings = kafka.end(TOPIC_READINGS)
            start_dead = kafka.end(TOPIC_DEADLETTER)
            mqtt = MqttOut(self.settings.mqtt_url, f"{self.app_id}-pub")
            mqtt.connect()
            # the load ends on a minute edge M of event time: shift = M - planned end (0..60 s ahead)
            planned_end = int((time.time() + self.args.seconds) * 1000)
            boundary = (planned_end // MINUTE + 1) * MINUTE
            self.load.shift_ms = boundary - planned_end
            first_start = (boundary - int(self.args.seconds * 1000)) // MINUTE * MINUTE
            mon = Monitor(self)
            kpis = KpiPoller(self, first_start, boundary)
            mon.start()
            kpis.start()
            self.note(
                f"publishing {'as fast as acked' if not self.rate else f'{self.rate:,.0f} readings/s'} "
                f"for {self.args.seconds:g} s to site {self.site} ({len(self.load.machines)} machines)"
            )
            self.publish(mqtt)
            # the last load messages hold ts < M; make sure they keep that edge
            self.load.last_ts = [max(t, boundary - 1) for t in self.load.last_ts]
            self.tail(mqtt, kpis, mon)
            acked = mqtt.close(30.0)
            published = self.load.readings
            self.phase = "drain"
            deadline = time.monotonic() + 60
            while mon.bridge_out < published and time.monotonic() < deadline:
                time.sleep(0.2)
            kpis.stop.set()
            mon.stop.set()
            mon.join(5)
            kpis.join(5)
            load_avg_end = os.getloadavg()
            self.phase = "check"
            self.note("reading brain.readings back ...")
            end_readings = kafka.end(TOPIC_READINGS)
            end_dead = kafka.end(TOPIC_DEADLETTER)
            got = self.check_readings(kafka, start_readings, end_readings)
            dead = self.check_deadletters(kafka, start_dead, end_dead)
            k = self.check_kpis(kafka, boundary)
            proc_stats = _last_stats(pipe, "processors")
        finally:
            if pipe is not None:
                pipe.stop_all()
            self.cleanup(kafka)
            kafka.close()
        load_s = self.t_load_end - self.t_first_publish
        missing = published - dead - got["distinct"]
        bridge_s = (mon.bridge_done_at - self.t_first_publish) if mon.bridge_done_at else None
        drained = mon.bridge_out >= published - dead
        through = (mon.processors_done_at - self.t_first_publish) if mon.processors_done_at else None
        tput = round(self.load_readings / through) if through else None

        def ratio(limit: dict[str, Any] | None, key: str) -> float | None:
            return round(tput / limit[key], 3) if (limit and tput and limit.get(key)) else None

        return {
            "rate": self.rate or "max",
            "seconds": self.args.seconds,
            "machines": len(self.load.machines),
            "bridges": self.args.bridges,
            "workers": self.args.workers,
            "site": self.site,
            "published": published,
            "published_load": self.load_readings,
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
            "publish_rps": round(self.load_readings / load_s) if load_s > 0 else None,
            "throughput_rps": tput,
            "bridge_rps": round(self.load_readings / bridge_s) if bridge_s else None,
            "processors_late": _stat(proc_stats, "late"),
            "processors_unknown_machine": _stat(proc_stats, "unknown_machine"),
            "bridge_done_s": round(mon.bridge_done_at - self.t_first_publish, 2)
            if mon.bridge_done_at
            else None,
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
            "latency_kpi_in_influx_after_grace_s": kpis.latencies(
                self.args.grace_s * 1000, self.load.shift_ms
            ),
            "grace_s": self.args.grace_s,
            "mqtt_alone": base["mqtt"],
            "kafka_alone": base["kafka"],
            "ratio_to_mqtt": ratio(base["mqtt"], "readings_per_s_equiv"),
            "ratio_to_kafka": ratio(base["kafka"], "msgs_per_s"),
            "processors_stats": proc_stats,
            "loadavg_start": [round(x, 2) for x in load_avg_start],
            "loadavg_end": [round(x, 2) for x in load_avg_end],
            "run_dir": str(self.run_dir),
        }


def _last_stats(pipe: Any, name: str) -> str | None:
    service = pipe.services.get(name)
    if service is None or service.log_file is None or not service.log_file.exists():
        return None
    lines = [
        x
        for x in service.log_file.read_text(errors="replace").splitlines()
        if "process.stats agent=machines" in x
    ]
    return lines[-1].split("process.stats ", 1)[-1][:400] if lines else None


def _stat(line: str | None, name: str) -> int:
    for part in (line or "").split():
        if part.startswith(name + "="):
            return int(part.split("=", 1)[1])
    return 0


def run(args: argparse.Namespace) -> int:
    if args.seconds <= 0 or args.machines < 1:
        print("brain bench: --seconds and --machines must be positive", file=sys.stderr)
        return 2
    import signal

    def stop(signum: int, frame: Any) -> None:  # SIGTERM: stop the services and clean up, like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        result = Bench(args).execute()
    except RuntimeError as exc:
        print(f"brain bench: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0 if result["lost"] == 0 and result["double_counted"] == 0 else 1  # lost None: not drained
