"""`brain demo --park`: the city side end to end on this machine (issue 16, docs/CITY.md "A park to look at").

- Two live enterprises (examples/park/factory-*.yaml, a CNC shop and a weaving mill), each on a
  Kafka cluster of its own (`brain stack up kafka` in the run directory, free ports), each with
  its full factory pipeline: simulator -> MQTT (the stack's Mosquitto, a site each) -> bridge ->
  its Kafka -> processors -> sink (the stack's InfluxDB, brain_kpi) -> `brain export` -> its
  `brain.export`. The simulator replays a night across midnight, so each factory's day closes and
  its final site `day` record is exported. Their history (the first half of 2026, recorded) is
  replayed into their own `brain.export` first: the factory's retention holds what it exported.
- ONE MirrorMaker 2 (`brain mirror`) mirrors both factories' `brain.export` into the city cluster
  (the stack's Kafka) as `<enterprise>.brain.export`, as in production.
- Twelve more enterprises across the four sectors come from recorded exports
  (examples/park/exports.jsonl), replayed straight into their `<enterprise>.brain.export` on the
  city cluster (their factories do not run here) once: a topic that already holds them is left.
- The city stream service (`brain city --register examples/park/register.yaml`, a subprocess)
  writes `brain_city`; the demo waits until both live days reached the city, then prints the
  ranking the city InfluxDB holds and where to look.

The factory clusters are per run (fresh, in the run directory, removed at the end), so MM2's
progress topics of their aliases from an earlier run are deleted first and a run mirrors its
factories from their start; the city side is idempotent by the export key (what an earlier run
delivered is a duplicate). Everything started is stopped at the end.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from brain.city.influx import CITY_DATABASE
from brain.city.register import Register, load_register
from brain.demo.park_io import (
    EXPORT_PARTITIONS,
    Cluster,
    city_rows,
    forget_mirror_progress,
    free_ports,
    live_days_at_city,
    produce,
    read_topics,
    replay_city,
)
from brain.pipeline import Bridge, Export, Pipeline, Processors, Sink, build_pipeline
from brain.settings import TOPIC_EXPORT, TOPIC_KPIS, Settings

ROOT = Path(__file__).resolve().parents[2]
PARK = ROOT / "examples" / "park"
REGISTER = PARK / "register.yaml"
RECORDED = PARK / "exports.jsonl"
NIGHT_FROM = dt.time(23, 0)  # the live factories replay 23:00 -> 00:15: their day closes at midnight
NIGHT = dt.timedelta(minutes=75)
CITY_INTERVAL_S = 3.0


@dataclass(frozen=True, slots=True)
class Factory:
    enterprise: str
    config: Path


FACTORIES = (Factory("pk-vmc", PARK / "factory-vmc.yaml"), Factory("pk-loom", PARK / "factory-loom.yaml"))


def live_night(now: dt.datetime, span: dt.timedelta = NIGHT) -> dt.datetime:
    """The latest local 23:00 whose run of `span` ended at least five minutes before `now`."""
    day = now.date()
    while True:
        start = dt.datetime.combine(day, NIGHT_FROM, tzinfo=now.tzinfo)
        if start + span + dt.timedelta(minutes=5) <= now:
            return start
        day -= dt.timedelta(days=1)


def split_recorded(records: Iterable[Mapping[str, Any]], live: Iterable[str]) -> tuple[dict, dict]:
    """(live enterprise -> its history, other enterprise -> its records), in file order."""
    live = set(live)
    history: dict[str, list] = {}
    others: dict[str, list] = {}
    for r in records:
        (history if r["enterprise"] in live else others).setdefault(r["enterprise"], []).append(r)
    return history, others


def ranking_table(rows: Iterable[Mapping[str, Any]], live: Iterable[str]) -> str:
    """The city's enterprise rows of one period as a short table, by rank (class T last)."""
    live = set(live)
    lines = [
        f"{'rank':>4} {'class':<5} {'enterprise':<10} {'sector':<8} {'park':<13} {'score':>6} "
        f"{'tax/mu':>7} {'sales/mu':>8} {'tax/tce':>7} {'kWh':>12} {'days':>4}  note"
    ]

    def num(v: Any, fmt: str) -> str:
        return "-" if v is None else format(v, fmt)

    ordered = sorted(rows, key=lambda r: (r.get("rank") is None, r.get("rank") or 0, r["enterprise"]))
    for r in ordered:
        note = ["live" if r["enterprise"] in live else "recorded"]
        if r.get("dq_flagged"):
            note.append("ranked on flagged data")
        if r.get("class") == "T":
            note.append(str(r.get("class_reason")))
        lines.append(
            f"{num(r.get('rank'), '.0f'):>4} {r.get('class') or '-':<5} {r['enterprise']:<10} "
            f"{r.get('sector', ''):<8} {r.get('park', ''):<13} {num(r.get('score'), '.3f'):>6} "
            f"{num(r.get('tax_per_mu'), '.1f'):>7} {num(r.get('sales_per_mu'), '.0f'):>8} "
            f"{num(r.get('tax_per_tce'), '.2f'):>7} {num(r.get('kwh'), ',.0f'):>12} "
            f"{num(r.get('days'), '.0f'):>4}  {', '.join(note)}"
        )
    return "\n".join(lines)


def _city_services(run_dir: Path, run_id: str, clusters: list[Cluster], settings: Settings) -> Pipeline:
    """ONE MirrorMaker 2 from every factory's brain.export to the city, and the city stream service."""
    city = Pipeline(run_dir / "city")
    sources = [a for c in clusters for a in ("--source", f"{c.enterprise}={c.bootstrap}")]
    city.add("mirror", ["mirror", *sources, "--target", f"city={settings.kafka_bootstrap}",
                        "--work-dir", str(run_dir / "mirror")])  # fmt: skip
    city.add("city", ["city", "--register", str(REGISTER), "--interval-s", f"{CITY_INTERVAL_S:g}",
                      "--group", f"park-city-{run_id}"])  # fmt: skip
    return city


def _factory(f: Factory, c: Cluster, site: str, run_dir: Path, run_id: str, start: dt.datetime, speed: float,
             seed: int, settings: Settings) -> Pipeline:  # fmt: skip
    """A factory's pipeline on its own cluster: bridge (its site), processors, sink, export, simulator."""
    name = f"park-{f.enterprise}-{run_id}"
    duration = f"{int(NIGHT.total_seconds())}s"
    simulator = ["--seed", str(seed), "--start", start.isoformat(), "--duration", duration, "--speed",
                 str(speed), "--form", "mixed", "--quiet", "--client-id", f"{name}-sim"]  # fmt: skip
    return build_pipeline(
        run_dir / f.enterprise, f.config,
        bridges=[Bridge(f"{name}-bridge", site=site, session_expiry_s=60, status_interval_s=None)],
        # a short replay: a short grace and idle timeout (as the e2e tests), so the day closes soon
        processors=Processors(name, start_at="latest", grace_s=5, idle_timeout_s=10, stats_interval_s=None),
        sink=Sink(f"{name}-sink", status_interval_s=None, start_at_end=(TOPIC_KPIS,)),
        export=Export(f"{name}-export", start_at_end=True),
        simulator=simulator,
        settings=replace(settings, kafka_bootstrap=c.bootstrap),
        env={**c.env, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


def _started(factories: list[Pipeline]) -> str | None:
    """Start every service but the simulators; None when all are ready, else what went wrong."""
    for pipe in factories:
        for service in pipe.services:
            if service != "simulator":
                pipe.start(service)
    for pipe in factories:
        if not pipe.wait_for_log("processors", "process.assigned", timeout_s=120):
            return f"the processors did not get their partitions; see {pipe.run_dir}"
        if not pipe.wait_for_log("bridge", "bridge.subscribed", timeout_s=60):
            return f"the bridge did not subscribe; see {pipe.run_dir}"
    return None


def _wait_live_days(settings: Settings, pipes: list[Pipeline], since: dict, day_ms: int, timeout_s: float,
                    stop: threading.Event) -> set[str]:  # fmt: skip
    """Until every live enterprise's day reached the city (or a service died: SystemExit-free, printed)."""
    arrived: set[str] = set()
    deadline = time.monotonic() + timeout_s
    while not stop.is_set() and time.monotonic() < deadline:
        dead = [d for p in pipes for d in p.dead() if not d.startswith("simulator")]
        if dead:
            print("park: a service stopped unexpectedly:\n" + "\n".join(dead), file=sys.stderr)
            break
        arrived = live_days_at_city(settings, since, day_ms)
        if len(arrived) == len(since):
            break
        stop.wait(3)
    return arrived


def run_park(args: Any) -> int:
    from brain.health import problems
    from brain.kafka_admin import ensure_topics
    from brain.kafka_offsets import end_offsets
    from brain.plant import load_plant

    settings = Settings.from_env()
    found = problems(settings)
    if found:
        print("brain demo --park: the servers are not ready:\n  - " + "\n  - ".join(found), file=sys.stderr)
        return 1
    register: Register = load_register(str(REGISTER))
    text = RECORDED.read_text(encoding="utf-8")
    history, others = split_recorded([json.loads(t) for t in text.splitlines() if t.strip()],
                                     [f.enterprise for f in FACTORIES])  # fmt: skip
    plants = {f.enterprise: load_plant(str(f.config)) for f in FACTORIES}
    seconds = args.seconds if args.seconds is not None else 60.0
    speed = NIGHT.total_seconds() / seconds
    tz = plants[FACTORIES[0].enterprise].tz
    start = live_night(dt.datetime.now(tz))
    day_ms = int(dt.datetime.combine(start.date(), dt.time(0), tzinfo=tz).timestamp() * 1000)
    run_id = time.strftime("%Y%m%d-%H%M%S")
    run_dir = Path(args.run_dir).resolve() / f"park-{run_id}"
    run_dir.mkdir(parents=True, exist_ok=True)
    print(f"park: {len(register.enterprises)} enterprises ({len(FACTORIES)} live, {len(others)} recorded); "
          f"the live factories replay {start:%a %Y-%m-%d %H:%M} +{NIGHT} at {speed:g}x; logs in {run_dir}",
          flush=True)  # fmt: skip
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    clusters = [Cluster(f.enterprise, run_dir / f.enterprise / "kafka", *free_ports(2)) for f in FACTORIES]
    pipes: list[Pipeline] = []
    began = time.monotonic()
    try:
        for c in clusters:
            c.root.mkdir(parents=True, exist_ok=True)
        if any(p.wait(240) != 0 for p in [c.ctl("up") for c in clusters]):
            print(f"park: a factory Kafka did not start; see {run_dir}/*/kafka-up.log", file=sys.stderr)
            return 1
        up = ", ".join(f"{c.enterprise} {c.bootstrap}" for c in clusters)
        print(f"park: factory clusters up ({up}) in {time.monotonic() - began:.0f} s", flush=True)
        since = {t: end_offsets(settings, t) for t in (f"{c.enterprise}.{TOPIC_EXPORT}" for c in clusters)}
        forget_mirror_progress(settings, [c.enterprise for c in clusters])
        pipes.append(_city_services(run_dir, run_id, clusters, settings))
        pipes[0].start_all()  # MM2 takes a while to start: first
        for c in clusters:  # what each factory exported before today: on its own brain.export
            ensure_topics(replace(settings, kafka_bootstrap=c.bootstrap), {TOPIC_EXPORT: EXPORT_PARTITIONS})
            produce(c.bootstrap, TOPIC_EXPORT, history.get(c.enterprise, []), settings)
        sent = replay_city(settings, others)
        print(f"park: recorded exports replayed into the city: {sum(sent.values())} records on {len(sent)} "
              f"topics ({len(others) - len(sent)} held them already)", flush=True)  # fmt: skip
        sites = [plants[f.enterprise].sites[0].id for f in FACTORIES]
        factories = [_factory(f, c, site, run_dir, run_id, start, speed, args.seed, settings)
                     for f, c, site in zip(FACTORIES, clusters, sites, strict=True)]  # fmt: skip
        pipes += factories
        problem = _started(factories)
        if problem:
            print(f"park: {problem}", file=sys.stderr)
            return 1
        for pipe in factories:
            pipe.start("simulator")
        sim_began = time.monotonic()
        print(f"park: the factories run; waiting for their day at the city (at most {seconds + 150:.0f} s)",
              flush=True)  # fmt: skip
        arrived = _wait_live_days(settings, pipes, since, day_ms, seconds + 150, stop)
        if len(arrived) != len(clusters):
            missing = sorted({c.enterprise for c in clusters} - arrived)
            print(f"park: the live days of {missing} did not reach the city; see {run_dir}", file=sys.stderr)
            return 130 if stop.is_set() else 1
        print(f"park: both live days at the city after {time.monotonic() - sim_began:.0f} s; the city "
              "evaluates ...", flush=True)  # fmt: skip
        return 0 if _report(settings, register, start, began, run_dir, stop) else 1
    finally:
        stop.set()
        print("park: stopping the services and the factory clusters ...", flush=True)
        for pipe in pipes[1:]:  # the factories first, then the city and MM2 (a kill is safe for it)
            pipe.stop_all()
        if pipes:
            pipes[0].stop("city")
            pipes[0].stop("mirror", timeout_s=5)
        for p in [c.ctl("down") for c in clusters if c.root.exists()]:
            p.wait(120)
        for c in clusters:  # the clusters were this run's: their data goes, their logs stay
            shutil.rmtree(c.root / "kafka" / "data", ignore_errors=True)
        signal.signal(signal.SIGINT, previous)


def _report(settings: Settings, register: Register, start: dt.datetime, began: float, run_dir: Path,
            stop: threading.Event) -> bool:  # fmt: skip
    """Wait for the city's rows of the live day's month, then print the year's ranking and where to look."""
    from brain.city.evaluate import evaluate

    live = [f.enterprise for f in FACTORIES]
    month = f"{start.year:04d}-{start.month:02d}"
    # the month's kWh the city must show once it evaluated what reached it: `brain city`'s on its topics
    records = read_topics(settings, [f"{e}.{TOPIC_EXPORT}" for e in live])
    want = {r["enterprise"]: r["kwh"] for r in evaluate(register, records, start.year, month).enterprises}
    deadline = time.monotonic() + 60
    rows: list[dict[str, Any]] = []
    while not stop.is_set() and time.monotonic() < deadline:
        rows = [
            r
            for r in city_rows(settings, month, live)
            if abs((r.get("kwh") or 0) - want[r["enterprise"]]) < 1e-6
        ]
        if len(rows) == len(live):
            break
        stop.wait(CITY_INTERVAL_S)
    year = max(y for e in register.enterprises for y in e.years)
    ranking = city_rows(settings, str(year), [e.id for e in register.enterprises])
    print(f"\nThe city's ranking for {year} (brain_city, {len(ranking)} enterprises; "
          f"{time.monotonic() - began:.0f} s since the start):\n{ranking_table(ranking, live)}")  # fmt: skip
    print(f"""
Where to look:
  InfluxDB  {settings.influx_url}  database {CITY_DATABASE}: city_enterprise, city_sector, city_park
            (tags period {year} or YYYY-MM, granularity, enterprise, sector, park; docs/SCHEMA.md)
  Grafana   the city dashboards (en, zh): park overview, ranking and classes, sector benchmarks,
            carbon and energy intensity, data quality (dashboards/city.py; docs/DOCKER.md)
  Kafka     {settings.kafka_bootstrap}  <enterprise>.brain.export (the city's topics; the live ones by MM2)
  Batch     brain city --register {REGISTER.relative_to(ROOT)} --input EXPORTS.jsonl --year {year}
            recomputes the same rows from a file of the export records
  Logs      {run_dir}""")
    return len(rows) == len(live) and len(ranking) == len(register.enterprises)
