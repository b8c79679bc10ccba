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
import json
import logging
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from brain import logs
from brain.bench.load import LINES, LOAD_METRICS, MINUTE, Load, plant_yaml
from brain.bench.observe import Kafka, KpiPoller, Monitor, _last_stats, free_port, influx_query
from brain.bench.verify import check_deadletters, check_kpis, check_readings, report
from brain.settings import TOPIC_DEADLETTER, TOPIC_READINGS, Settings
from processors.options import ProcessorOptions

log = logging.getLogger("brain.bench")


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
    a(
        "--packs",
        action="store_true",
        help="the bench lines run the installed industry packs and the load carries their metrics",
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
        # the group the processors' progress on brain.readings is committed to
        self.progress_group = ProcessorOptions(app_id=self.app_id).input_group
        self.kpi_topic = f"{self.prefix}.kpis"
        self.run_dir = Path(args.run_dir).resolve() / self.run_id
        machines = [(f"l{i % LINES}", f"m{i}") for i in range(args.machines)]
        packs: tuple[str, ...] = ()
        if args.packs:
            from brain.pack_registry import available

            packs = tuple(sorted(available()))
        self.load = Load(self.site, machines, packs=packs)
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
        from brain.kafka_admin import ensure_topics

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
        ensure_topics(self.settings, {topic: self.partitions})
        self.note(f"raw limit of Kafka alone ({secs:g} s) ...")
        kafka = kafka_limit(self.settings, topic, records, secs)
        kafka["record_bytes"] = round(sum(len(v) for _, v in records) / len(records))
        return {"mqtt": mqtt, "kafka": kafka}

    def start_pipeline(self, kafka: Kafka) -> Any:
        from brain.kafka_admin import commit_group_offsets, ensure_topics
        from brain.pipeline import Bridge, Processors, Sink, build_pipeline

        plant = self.run_dir / "plant.yaml"
        plant.write_text(plant_yaml(self.site, self.load.machines, self.load.packs))
        ensure_topics(self.settings, {self.kpi_topic: self.partitions})
        # start the processors at the end of brain.readings: commit their group's offsets there
        # first (what `brain process --start-at latest` does, which came later)
        # (on a fresh cluster the first group operation waits for the coordinator: kafka_admin)
        commit_group_offsets(self.settings, self.progress_group, kafka.end(TOPIC_READINGS), admin=kafka.admin)
        many = self.args.bridges > 1
        bridges = [
            Bridge(
                f"{self.app_id}-{b}",
                site=self.site,
                sparkplug=False,
                session_expiry_s=300,
                metrics_port=port,
                shared_group=self.app_id if many else None,
                name=f"bridge{b}" if many else "bridge",
            )
            for b, port in enumerate(self.metrics_ports)
        ]
        processors = Processors(
            self.app_id,
            grace_s=self.args.grace_s,
            output_topic=self.kpi_topic,
            late_topic=f"{self.prefix}.late",
            partials_topic=f"{self.prefix}.partials",
            workers=self.args.workers,
        )
        sink = Sink(f"{self.prefix}-sink", topics=(f"kpis={self.kpi_topic}",))
        pipe = build_pipeline(self.run_dir, plant, bridges=bridges, processors=processors, sink=sink)
        pipe.start_all()
        return pipe

    def wait_ready(self, pipe: Any, kafka: Kafka, timeout_s: float = 120.0) -> None:
        from brain.kafka_admin import describe_group

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
                    info = describe_group(self.settings, group, admin=kafka.admin)
                    if info.get("group_state") == "Stable" and info.get("members"):
                        break
                except Exception:
                    pass
                time.sleep(0.3)

    # -- the load and the tail
    def publish(self, mqtt: Any, kpis: KpiPoller | None = None) -> None:
        load = self.load
        n = len(load.machines)
        per_msg = len(LOAD_METRICS) + sum(len(m) for m in load.pack_metrics) / max(1, n)
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

    def cleanup(self, kafka: Kafka) -> None:
        from brain.kafka_admin import delete_groups

        if self.args.keep:
            return
        try:
            topics = [t for t in kafka.consumer.topics() if t.startswith(self.prefix)]
            if topics:
                kafka.admin.delete_topics(topics, raise_errors=False)
            groups = {self.app_id, self.progress_group, f"{self.prefix}-sink"}
            delete_groups(self.settings, groups, admin=kafka.admin)
        except Exception as exc:
            logs.event(log, "bench.cleanup_failed", logging.WARNING, error=repr(exc))
        try:
            measurements = ", ".join(f'"{m}"' for m in ("oee", "energy", *self.load.packs))
            influx_query(self.settings, f"DROP SERIES FROM {measurements} WHERE \"site\" = '{self.site}'")
        except OSError as exc:
            logs.event(log, "bench.cleanup_failed", logging.WARNING, error=repr(exc))

    # -- everything
    def execute(self) -> dict[str, Any]:
        from brain.health import problems
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
            got = check_readings(self, kafka, start_readings, end_readings)
            dead = check_deadletters(self, kafka, start_dead, end_dead)
            k = check_kpis(self, kafka, boundary)
            proc_stats = _last_stats(pipe, "processors")
        finally:
            if pipe is not None:
                pipe.stop_all()
            self.cleanup(kafka)
            kafka.close()
        return report(
            self,
            base=base,
            mon=mon,
            kpis=kpis,
            got=got,
            dead=dead,
            k=k,
            proc_stats=proc_stats,
            published=published,
            acked=acked,
            load_avg_start=load_avg_start,
            load_avg_end=load_avg_end,
        )


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
