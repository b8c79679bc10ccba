"""`brain demo`: bridge, processors, sink, alerts and (for a plant config with an `export` key) the
export to the city, on a simulated Suzhou factory, for a bounded time. `brain demo --park`: the
city side end to end (brain/demo/park.py).

The simulator replays a weekday morning at `--speed` (60: an hour a minute) with event timestamps,
so KPIs for every line appear within the first minute. The processors and alerts run under app
ids of their own for this run, starting at the newest readings, so a second demo does not mix
with the first. Ctrl-C stops everything cleanly at any moment.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import signal
import sys
import threading
import time
from pathlib import Path

from brain.demo.view import LiveState, render
from brain.health import problems
from brain.pipeline import Alerts, Bridge, Export, Processors, Sink, build_pipeline
from brain.settings import TOPIC_ALERTS, TOPIC_EXPORT, TOPIC_KPIS, TOPIC_READINGS, Settings

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "examples" / "suzhou-demo.yaml"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", default=str(DEFAULT_CONFIG), help="plant config (default the Suzhou demo)"
    )
    parser.add_argument(
        "--seconds", type=float, help="how long the simulation runs (default 180; with --park 60)"
    )
    parser.add_argument(
        "--park",
        action="store_true",
        help="the city side: two live factories and twelve recorded enterprises (docs/CITY.md); "
        "its own plant configs and speed (--config, --speed do not apply)",
    )
    parser.add_argument("--speed", type=float, default=60, help="simulated seconds per second (default 60)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--run-dir", default=".stack/demo", help="logs of the services (default .stack/demo)")
    parser.add_argument("--refresh-s", type=float, default=2.0, help="seconds between screen updates")
    parser.set_defaults(run=run)


def simulated_start(now: dt.datetime, duration: dt.timedelta) -> dt.datetime:
    """The latest weekday 08:00 (plant time) whose run of `duration` ends before `now`.

    A morning shift with its 10:00 break makes a better first picture than, say, a Sunday night,
    and staying in the past keeps every event time acceptable to the bridge.
    """
    day = now.date()
    while True:
        start = dt.datetime.combine(day, dt.time(8, 0), tzinfo=now.tzinfo)
        if start.weekday() < 5 and start + duration <= now:
            return start
        day -= dt.timedelta(days=1)


def run(args: argparse.Namespace) -> int:
    if args.park:
        from brain.demo.park import run_park

        return run_park(args)
    if args.seconds is None:
        args.seconds = 180.0
    from brain.plant import load_plant

    settings = Settings.from_env()
    found = problems(settings)
    if found:
        print("brain demo: the servers are not ready:\n  - " + "\n  - ".join(found), file=sys.stderr)
        print("Start them with `brain stack up` (make demo does it).", file=sys.stderr)
        return 1
    from brain.pack_registry import get

    plant = load_plant(args.config)
    tz = plant.tz
    packs = tuple(get(pid) for pid in plant.packs)  # the view shows each line's pack KPIs
    duration = dt.timedelta(seconds=args.seconds * args.speed)
    start = simulated_start(dt.datetime.now(tz), duration)
    run_id = time.strftime("%Y%m%d-%H%M%S")
    run_dir = Path(args.run_dir).resolve() / run_id
    # Everything of this run starts at "now": a bridge session of its own (a shared one would
    # first deliver what was published while it was away), processors and alerts under new app
    # ids at the newest readings, a sink group at the newest records. The bridge's session
    # expires a minute after the demo, so no abandoned queue is left in Mosquitto.
    simulator = [
        *("--seed", str(args.seed), "--start", start.isoformat()),
        *("--duration", f"{int(duration.total_seconds())}s", "--speed", str(args.speed)),
        *("--form", "mixed", "--sparkplug-share", "0.2", "--bad-rate", "0.002", "--quiet"),
    ]
    pipeline = build_pipeline(
        run_dir,
        args.config,
        bridges=[Bridge(f"brain-demo-{run_id}", session_expiry_s=60, status_interval_s=None)],
        processors=Processors(f"brain-demo-{run_id}", start_at="latest", stats_interval_s=None),
        alerts=Alerts(f"brain-demo-alerts-{run_id}"),
        sink=Sink(
            f"brain-demo-sink-{run_id}",
            raw=True,
            raw_every_s=10,
            status_interval_s=None,
            start_at_end=(TOPIC_READINGS, TOPIC_KPIS, TOPIC_ALERTS),
        ),
        # what leaves for the city (docs/FEDERATION.md): a group of this run at the end of brain.kpis
        export=None if plant.export is None else Export(f"brain-demo-export-{run_id}", start_at_end=True),
        simulator=simulator,
        settings=settings,
    )
    print(
        f"demo: {plant.source}: {len(plant.machines())} machines on "
        f"{sum(len(s.lines) for s in plant.sites)} lines; simulating {start:%a %Y-%m-%d %H:%M} "
        f"+{duration} at {args.speed:g}x for {args.seconds:g} s; service logs in {run_dir}"
    )
    state = LiveState(until_ms=int((start + duration).timestamp() * 1000))
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    watcher = threading.Thread(target=_watch, args=(settings, state, stop), daemon=True)
    interrupted = False
    began = time.monotonic()
    try:
        watcher.start()
        for name in pipeline.services:
            if name != "simulator":
                pipeline.start(name)
        if not pipeline.wait_for_log("processors", "process.assigned", timeout_s=90):
            print("demo: the processors did not get their partitions; see " + str(run_dir), file=sys.stderr)
            return 1
        sim = pipeline.start("simulator")
        began = time.monotonic()
        interactive = sys.stdout.isatty()
        last_print = 0.0
        while not stop.is_set():
            elapsed = time.monotonic() - began
            if elapsed >= args.seconds + 45 or (not sim.alive and elapsed > args.seconds + 40):
                break
            dead = [d for d in pipeline.dead() if not d.startswith("simulator")]
            if dead:
                print("demo: a service stopped unexpectedly:\n" + "\n".join(dead), file=sys.stderr)
                return 1
            if interactive or time.monotonic() - last_print >= 15:
                screen = render(state, tz=tz, elapsed_s=elapsed, total_s=args.seconds + 45, packs=packs)
                print(("\x1b[2J\x1b[H" if interactive else "\n") + screen, flush=True)
                last_print = time.monotonic()
            stop.wait(args.refresh_s)
        interrupted = stop.is_set()
    finally:
        stop.set()
        print("\ndemo: stopping the services ...", flush=True)
        pipeline.stop_all()
        signal.signal(signal.SIGINT, previous)
    print(
        render(
            state,
            tz=tz,
            elapsed_s=time.monotonic() - began if "began" in dir() else 0,
            total_s=args.seconds + 45,
            packs=packs,
        )
    )
    _where(settings, run_dir, tuple(p.id for p in packs))
    if not interrupted:  # the newcomer's picture: the replayed morning as a report (brain/report/demo.py)
        from brain.report.demo import demo_report

        demo_report(args.config, start, start + duration, run_dir / "reports")
    return 130 if interrupted else (0 if state.lines else 1)


def _watch(settings: Settings, state: LiveState, stop: threading.Event) -> None:
    """Fold brain.kpis, brain.alerts and brain.export from their current end into the live state."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        group_id=None,
        **settings.kafka_kwargs(),
    )
    topics = (TOPIC_KPIS, TOPIC_ALERTS, TOPIC_EXPORT)
    partitions = [tp for topic in topics for tp in _partitions(consumer, topic)]
    consumer.assign(partitions)
    consumer.seek_to_end(*partitions)
    for tp in partitions:
        consumer.position(tp)  # resolve "end" now, before the simulator publishes anything
    try:
        while not stop.is_set():
            for tp, records in consumer.poll(timeout_ms=500).items():
                for record in records:
                    try:
                        value = json.loads(record.value)
                    except ValueError:
                        continue
                    if tp.topic == TOPIC_EXPORT:
                        state.add_export(value)
                    else:
                        (state.add_kpi if tp.topic == TOPIC_KPIS else state.add_alert)(value)
    finally:
        consumer.close()


def _partitions(consumer, topic: str) -> list:
    from kafka import TopicPartition

    return [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]


def _where(settings: Settings, run_dir: Path, packs: tuple[str, ...] = ()) -> None:
    measurements = ", ".join(("oee", "energy", *packs, "alert"))  # one measurement per pack (docs/SCHEMA.md)
    print(f"""
Where the data is:
  InfluxDB  {settings.influx_url}  brain_kpi (measurements {measurements}), brain_raw (telemetry)
            e.g. curl -s {settings.influx_url}/api/v2/query -H 'Content-Type: application/vnd.flux' \\
                 -d 'from(bucket:"brain_kpi") |> range(start:-1d) |> filter(fn:(r)=>r._measurement=="oee" \\
                     and r.scope=="line" and r.window=="1h" and r._field=="oee")'
  Kafka     {settings.kafka_bootstrap}  topics brain.readings, brain.kpis, brain.alerts, brain.deadletter,
            brain.export (what leaves for the city, with an `export` key: `brain demo --park` shows the city)
  Grafana   with Docker: `brain secrets init && docker compose up` -> http://localhost:3000 (docs/DOCKER.md)
  Logs      {run_dir}
The servers keep running: `make down` (or `brain stack down`) stops them.""")
