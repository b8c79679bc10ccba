"""Benchmark of one processor worker on the real Kafka (not a timed test).

    .venv/bin/python -m processors.bench [--readings 300000] [--machines 100] [--repeats 3]

Preloads N readings (Reading v1 JSON, `machines` machines on 10 lines, five metrics every
second each, state changes now and then) into a fresh 6-partition topic, then, per repeat, starts
a worker with a fresh app id (so it reads from the beginning) and measures, from its stats lines,
the readings per second between its first and its last batch (start-up and rebalance excluded).
Prints one line per repeat and the median.

`--handler-only` also runs, alternating with the worker, the production `MachineWorker` on its
Kafka ports stepped by a plain loop (pull, fold, windows, records, partials and states sent to
Kafka and awaited): what the machines side costs without Faust's runtime around it. Not a
worker: no group, no rollup; the table is a dict (states still go to a topic).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import yaml

from brain.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
STATS = re.compile(r"event=process\.stats agent=machines t=([0-9.]+) .*?readings=(\d+)")
T0 = 1_740_960_000_000  # 2025-03-03 08:00 Asia/Shanghai


def plant(machines: int) -> dict[str, Any]:
    lines = []
    for ln in range(10):
        ms = [{"id": f"m{i}", "ideal_cycle_s": 2.0} for i in range(ln, machines, 10)]
        lines.append({"id": f"l{ln}", "machines": ms})
    return {"timezone": "Asia/Shanghai", "sites": [{"id": "bench", "lines": lines}]}


def readings(n: int, machines: int, seed: int = 1) -> list[tuple[bytes, bytes]]:
    rnd = random.Random(seed)
    out: list[tuple[bytes, bytes]] = []
    count = [0] * machines
    kwh = [0.0] * machines
    state = ["running"] * machines
    second = 0
    while len(out) < n:
        ts = T0 + second * 1000
        for m in range(machines):
            line = f"l{m % 10}"
            key = f"bench/{line}/m{m}".encode()
            if rnd.random() < 0.01:
                state[m] = rnd.choice(["running", "running", "idle", "fault", "setup"])
            if state[m] == "running":
                count[m] += rnd.randrange(0, 2)
            kwh[m] += 0.005
            for metric, value in (
                ("state", state[m]),
                ("count_total", count[m]),
                ("count_scrap", count[m] // 50),
                ("power_kw", round(10 + 5 * rnd.random(), 2)),
                ("energy_kwh", round(kwh[m], 4)),
            ):
                rec = {"site": "bench", "line": line, "machine": f"m{m}", "metric": metric, "value": value}
                rec["ts"] = ts + m
                out.append((key, orjson.dumps(rec)))
        second += 1
    return out[:n]


def preload(settings: Settings, topic: str, rows: list[tuple[bytes, bytes]]) -> float:
    from kafka import KafkaProducer

    from brain.kafka_admin import ensure_topics

    ensure_topics(settings, {topic: 6})
    t = time.monotonic()
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, linger_ms=20, batch_size=256 * 1024, compression_type=None
    )
    for key, value in rows:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()
    return time.monotonic() - t


def run_worker(settings: Settings, config: Path, topic: str, n: int, tmp: Path, extra: list[str]) -> dict:
    tag = uuid.uuid4().hex[:8]
    log = tmp / f"worker-{tag}.log"
    argv = [
        sys.executable,
        "-m",
        "brain.cli",
        "process",
        "--config",
        str(config),
        "--app-id",
        f"bench-{tag}",
        "--input-topic",
        topic,
        "--output-topic",
        f"{topic}.kpis",
        "--late-topic",
        f"{topic}.late",
        "--partials-topic",
        f"{topic}.partials-{tag}",
        "--data-dir",
        str(tmp / "data"),
        "--stats-interval-s",
        "0.25",
        *extra,
    ]
    env = dict(os.environ, BRAIN_KAFKA_BOOTSTRAP=settings.kafka_bootstrap)
    with log.open("wb") as fh:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=fh)
        deadline = time.monotonic() + 600
        points: list[tuple[float, int]] = []
        try:
            while time.monotonic() < deadline:
                points = [(float(t), int(r)) for t, r in STATS.findall(log.read_text(errors="replace"))]
                if points and points[-1][1] >= n:
                    break
                if proc.poll() is not None:
                    raise RuntimeError(f"worker exited:\n{log.read_text()[-3000:]}")
                time.sleep(0.25)
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    first = next(p for p in points if p[1] > 0)
    last = points[-1]
    rate = (last[1] - first[1]) / max(last[0] - first[0], 1e-9)
    return {"rate": rate, "readings": last[1], "seconds": last[0] - first[0], "log": str(log)}


async def _without_faust(settings: Settings, config: Path, topic: str, n: int) -> dict:
    """The production `MachineWorker` on its Kafka ports, stepped by a plain loop: what the
    machines side costs without Faust's runtime around it (states still go to a topic)."""
    import logging
    from collections import Counter
    from types import SimpleNamespace

    from brain.kafka_admin import ensure_topics
    from brain.plant import load_plant
    from processors.machines import MachineWorker
    from processors.options import ProcessorOptions
    from processors.runtime.faust_app import FaustStore
    from processors.runtime.kafka import KafkaInputLog, KafkaOutbox, Producer

    tag = uuid.uuid4().hex[:8]
    out = f"{topic}.handler-{tag}"
    ensure_topics(settings, {out: 6})
    log = logging.getLogger("brain.bench")
    opts = ProcessorOptions(app_id=f"bench-handler-{tag}", input_topic=topic, output_topic=out,
                            late_topic=out, partials_topic=out, stats_interval_s=1e9)  # fmt: skip
    producer = Producer(settings, request_timeout_s=30, log=log)
    stats: Counter[str] = Counter()
    inputs = KafkaInputLog(settings, {topic: 6}, group=opts.input_group, log=log)
    store = FaustStore(
        SimpleNamespace(data={}), out, KafkaOutbox(producer, timeout_s=35, stats=stats, log=log)
    )
    outbox = KafkaOutbox(producer, timeout_s=35, stats=stats, log=log)
    worker = MachineWorker(load_plant(str(config)), opts, log=inputs, store=store, outbox=outbox, stats=stats)
    first = 0.0
    try:
        while stats["readings"] < n:
            await worker.step(list(range(6)))
            first = first or (time.perf_counter() if stats["readings"] else 0.0)
        seconds = time.perf_counter() - first
    finally:
        await inputs.stop()
        await producer.stop()
    done = stats["readings"]
    return {"rate": done / seconds, "readings": done, "seconds": seconds, "timing": dict(worker.timing)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m processors.bench", description=__doc__.splitlines()[0])
    ap.add_argument("--readings", type=int, default=300_000)
    ap.add_argument("--machines", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--topic", default="", help="an existing preloaded topic to reuse")
    ap.add_argument("--handler-only", action="store_true", help="also time the worker stepped without Faust")
    ap.add_argument("worker_args", nargs="*", help="extra `brain process` flags (after --)")
    args = ap.parse_args(argv)
    settings = Settings.from_env()
    tmp = Path(tempfile.mkdtemp(prefix="brain-bench-"))
    config = tmp / "plant.yaml"
    config.write_text(yaml.safe_dump(plant(args.machines)))
    topic = args.topic
    if not topic:
        topic = f"bench.{uuid.uuid4().hex[:8]}.readings"
        rows = readings(args.readings, args.machines)
        secs = preload(settings, topic, rows)
        print(f"preloaded {len(rows):,} readings into {topic} in {secs:.1f} s", flush=True)
    rates, direct = [], []
    for i in range(args.repeats):
        r = run_worker(settings, config, topic, args.readings, tmp, args.worker_args)
        rates.append(r["rate"])
        print(
            f"run {i + 1}: {r['rate']:,.0f} readings/s ({r['readings']:,} in {r['seconds']:.2f} s)"
            f" log {r['log']}"
        )
        if args.handler_only:
            h = asyncio.run(_without_faust(settings, config, topic, args.readings))
            direct.append(h["rate"])
            timing = " ".join(f"{k}={v:.2f}" for k, v in h["timing"].items())
            print(f"run {i + 1}, worker without Faust: {h['rate']:,.0f} readings/s "
                  f"({h['readings']:,} in {h['seconds']:.2f} s; {timing})")  # fmt: skip
    print(f"median of {len(rates)}: {statistics.median(rates):,.0f} readings/s per worker")
    if direct:
        ratios = sorted(d / w for d, w in zip(direct, rates, strict=True))
        print(f"worker without Faust, median of {len(direct)}: {statistics.median(direct):,.0f} readings/s"
              f" ({statistics.median(ratios):.1f}x the worker, median of per-run ratios)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
