"""One long run of the whole pipeline on the private stack with faults injected one after another.

The simulator streams a known workload (seeded, fixed past start, high speed) into Mosquitto
while bridge, processors, alerts and sink run as children (`brain.pipeline.build_pipeline`). Before each
fault the run waits until the pipeline has caught up; each fault is timed, and a monitor tails
brain.readings, brain.kpis and InfluxDB so the recovery time of each fault is measured. Every
fault owns a phase: the event times the simulator produced from its start (minus a margin) to the
next fault's start, so a lost reading, a wrong KPI window or a double firing is attributed to the
fault that was active then.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from brain.pipeline import Alerts, Bridge, Processors, Sink, build_pipeline
from tests.faults import workload as w
from tests.faults.conftest import PrivateStack

SPEED = 60.0  # simulated seconds per second
FREEZE_S = 30.0
STEADY_S = 4.0  # steady flow between the end of one fault's recovery and the next fault
SEED = 8


@dataclass
class Fault:
    name: str  # e.g. "kill bridge", "freeze kafka"
    component: str
    kind: str  # kill | freeze
    began: float = 0.0  # monotonic
    lifted: float = 0.0  # restart returned / thaw sent
    sim_began: int = 0  # event time the simulator was producing when the fault began
    sim_lifted: int = 0
    restart_s: float = 0.0
    recovery: dict[str, float | None] = field(default_factory=dict)


@dataclass
class Outcome:
    site: str
    run_dir: Path
    config: Path
    faults: list[Fault]
    baseline: Fault
    published: list[dict[str, Any]]
    readings: list[dict[str, Any]]
    kpis: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    influx: dict[Any, dict]
    horizon: int
    dead: list[str]
    seconds: float
    sim_start_ms: int
    sim_t0: float
    logs: dict[str, str]

    def sim_ts(self, mono: float) -> int:
        return int(self.sim_start_ms + (mono - self.sim_t0) * SPEED * 1000)


class Monitor(threading.Thread):
    """Tails brain.readings and brain.kpis of the private stack (max event time of our site over
    wall time) and polls InfluxDB for the newest 1m KPI point: what recovery times are read from."""

    def __init__(self, stack: PrivateStack, site: str) -> None:
        super().__init__(daemon=True, name="fault-monitor")
        self.stack, self.site = stack, site
        self.stop = threading.Event()
        self.readings_ts = 0
        self.kpi_start = 0
        self.influx_ts = 0
        self.timeline: list[tuple[float, int, int, int]] = []
        self.lock = threading.Lock()

    def run(self) -> None:
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(
            bootstrap_servers=self.stack.settings.kafka_bootstrap,
            enable_auto_commit=False,
            group_id=None,
            request_timeout_ms=20_000,
        )
        tps = [TopicPartition("brain.readings", p) for p in range(6)]
        tps += [TopicPartition("brain.kpis", p) for p in range(6)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        needle = f'"site":"{self.site}"'.encode()
        last_influx = 0.0
        try:
            while not self.stop.is_set():
                try:
                    polled = consumer.poll(timeout_ms=300, max_records=20_000)
                except Exception:
                    time.sleep(0.5)
                    polled = {}
                for tp, batch in polled.items():
                    for m in batch:
                        if needle not in m.value:
                            continue
                        v = orjson.loads(m.value)
                        if tp.topic == "brain.readings":
                            self.readings_ts = max(self.readings_ts, v["ts"])
                        elif v.get("window") == "1m" and v.get("scope") == "site":
                            self.kpi_start = max(self.kpi_start, v["start"])
                if time.monotonic() - last_influx > 1.0:
                    last_influx = time.monotonic()
                    self.influx_ts = max(self.influx_ts, self._influx_newest())
                with self.lock:
                    self.timeline.append((time.monotonic(), self.readings_ts, self.kpi_start, self.influx_ts))
        finally:
            consumer.close()

    def _influx_newest(self) -> int:
        import json
        import urllib.parse
        import urllib.request

        q = (
            f'SELECT last("oee") FROM "oee" WHERE "site" = \'{self.site}\' AND "window" = \'1m\' '
            "AND \"scope\" = 'site'"
        )
        url = f"{self.stack.settings.influx_url}/query?" + urllib.parse.urlencode(
            {"db": "brain_kpi", "q": q, "epoch": "ms"}
        )
        try:
            with urllib.request.urlopen(url, timeout=1.5) as resp:
                body = json.load(resp)
            return int(body["results"][0]["series"][0]["values"][0][0])
        except Exception:
            return 0

    def caught_up(self, sim_ts: int) -> bool:
        """Every layer holds data produced at or after event time `sim_ts`: readings in Kafka, a
        site 1m KPI record of a window starting then, and its point in InfluxDB."""
        minute = sim_ts // 60_000 * 60_000
        return self.readings_ts >= sim_ts and self.kpi_start >= minute and self.influx_ts >= minute

    def recovery(self, since: float, target_ts: int) -> dict[str, float | None]:
        """Seconds after `since` until each layer held data produced after the fault was lifted
        (event time `target_ts`): readings in Kafka, the site's 1m KPI record of the next window,
        its point in InfluxDB. Includes the pipeline's normal latency (see the baseline)."""
        with self.lock:
            timeline = list(self.timeline)
        minute = target_ts // 60_000 * 60_000 + 60_000
        out: dict[str, float | None] = {}
        for name, index, target in (("kafka", 0, target_ts), ("kpis", 1, minute), ("influx", 2, minute)):
            hit = next((t for t, *vals in timeline if t >= since and vals[index] >= target), None)
            out[name] = None if hit is None else round(hit - since, 1)
        return out


def _sim_clock_start(log: Path) -> float | None:
    """Wall clock (epoch s) of the simulator's start line: its pacing starts right after it."""
    m = re.search(r"ts=(\S+) level=info logger=brain.simulate event=simulate.start", log.read_text())
    return dt.datetime.fromisoformat(m.group(1).replace("Z", "+00:00")).timestamp() if m else None


def run(stack: PrivateStack, tmp: Path, plan: list[tuple[str, str, str]]) -> Outcome:
    site = f"f{int(time.time()) % 100000:05d}"
    run_dir = tmp / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    config = w.write_plant(run_dir, site)
    profile = w.write_profile(run_dir)
    duration_s = 8 * 3600  # stopped after the last fault; long enough for any schedule
    start = w.sim_start(dt.datetime.now(w.TZ), duration_s)
    start_ms = int(start.timestamp() * 1000)
    jsonl = run_dir / "readings.jsonl"
    began = time.monotonic()

    simulator = [
        *("--profile", str(profile), "--seed", str(SEED), "--start", start.isoformat()),
        *("--duration", f"{duration_s}s", "--speed", str(SPEED), "--client-id", f"fault-sim-{site}"),
        *("--out", str(jsonl), "--quiet"),
    ]
    pipe = build_pipeline(
        run_dir / "logs",
        config,
        bridges=[Bridge(f"fault-bridge-{site}", site=site, sparkplug=False)],
        processors=Processors(
            f"fault-proc-{site}", windows=w.WINDOWS, session_timeout_s=6, idle_timeout_s=150
        ),
        alerts=Alerts(f"fault-alerts-{site}", from_beginning=True),
        sink=Sink(f"fault-sink-{site}", influx_timeout_ms=3000, status_interval_s=None),
        simulator=simulator,
        env=stack.env,
    )
    sim = pipe.services["simulator"]
    monitor = Monitor(stack, site)
    faults: list[Fault] = []
    try:
        for name in ("bridge", "processors", "alerts", "sink"):
            pipe.start(name)
        assert pipe.wait_for_log("bridge", "event=bridge.subscribed", 60), "bridge did not subscribe"
        monitor.start()
        pipe.start("simulator")
        deadline = time.monotonic() + 30
        while _sim_clock_start(sim.log_file) is None and time.monotonic() < deadline:  # type: ignore[arg-type]
            time.sleep(0.1)
        wall0 = _sim_clock_start(sim.log_file)  # type: ignore[arg-type]
        assert wall0 is not None, "the simulator did not start"
        t0 = time.monotonic() - (time.time() - wall0)

        def now_ts() -> int:
            return int(start_ms + (time.monotonic() - t0) * SPEED * 1000)

        def settle(since_ts: int, timeout_s: float = 90) -> None:
            """Until every layer holds data produced after `since_ts` (the fault is over), then
            a few seconds of steady flow before the next fault."""
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                dead = pipe.dead()
                assert not dead, "a service died:\n" + "\n".join(dead)
                if monitor.caught_up(since_ts + 60_000):
                    break
                time.sleep(0.25)
            time.sleep(STEADY_S)

        settle(now_ts())
        baseline = Fault("baseline", "-", "-", began=time.monotonic(), sim_began=now_ts())
        baseline.lifted, baseline.sim_lifted = baseline.began, baseline.sim_began
        settle(baseline.sim_lifted)
        for name, component, kind in plan:
            fault = Fault(name, component, kind)
            fault.began, fault.sim_began = time.monotonic(), now_ts()
            if kind == "kill" and component in pipe.services:
                pipe.kill(component)
                pipe.start(component)
            elif kind == "kill":
                stack.ctl("kill", component)
                stack.ctl("start", component)
            else:
                stack.ctl("freeze", component)
                time.sleep(max(0.0, FREEZE_S - (time.monotonic() - fault.began)))
                stack.ctl("thaw", component)
            fault.lifted, fault.sim_lifted = time.monotonic(), now_ts()
            fault.restart_s = round(fault.lifted - fault.began, 1)
            faults.append(fault)
            settle(fault.sim_lifted)
        pipe.stop("simulator", timeout_s=40)
        assert pipe.wait_for_log("simulator", "event=simulate.done", 5), "the simulator did not finish"
        published = w.load_jsonl(jsonl)
        last_ts = max(r["ts"] for r in published)
        horizon = last_ts - w.GRACE_MS - 60_000
        # drain: every published reading in Kafka and the final windows up to the horizon
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (
            monitor.readings_ts >= last_ts and monitor.kpi_start >= horizon - 60_000
        ):
            time.sleep(0.5)
        time.sleep(8)  # alerts on the last finals, the sink's last batch
        for fault in [baseline, *faults]:
            fault.recovery = monitor.recovery(fault.lifted, fault.sim_lifted)
        dead = [d for d in pipe.dead() if d.split()[0] != "simulator"]
    finally:
        monitor.stop.set()
        pipe.stop_all()
    monitor.join(10)
    bootstrap = stack.settings.kafka_bootstrap
    readings = w.site_values(w.read_topic(bootstrap, "brain.readings"), site)
    kpis = w.site_values(w.read_topic(bootstrap, "brain.kpis"), site)
    alerts = w.site_values(w.read_topic(bootstrap, "brain.alerts"), site)
    from tests.sink.helpers import query_site

    influx = query_site(stack.settings, "brain_kpi", site)
    for name, values in (("kafka-readings", readings), ("kpis", kpis), ("alerts", alerts)):
        (run_dir / f"{name}.jsonl").write_bytes(b"".join(orjson.dumps(v) + b"\n" for v in values))
    logs = {n: s.log_file.read_text(errors="replace") for n, s in pipe.services.items() if s.log_file}
    return Outcome(
        site=site, run_dir=run_dir, config=config, faults=faults, baseline=baseline, published=published,
        readings=readings, kpis=kpis, alerts=alerts, influx=influx, horizon=horizon, dead=dead,
        seconds=round(time.monotonic() - began, 1), sim_start_ms=start_ms, sim_t0=t0, logs=logs,
    )  # fmt: skip


def phase_of(outcome: Outcome, ts: int, margin_ms: int = int(5 * SPEED * 1000)) -> str:
    """The fault whose phase holds event time `ts`: from its start (less a margin) to the next's."""
    name = "baseline"
    for fault in outcome.faults:
        if ts >= fault.sim_began - margin_ms:
            name = fault.name
    return name


Check = Callable[[Outcome], None]
