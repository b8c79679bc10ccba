"""End-to-end harness on the REAL servers: simulator -> MQTT -> bridge -> Kafka -> processors ->
brain.kpis -> sink -> InfluxDB, and the records `brain kpi` computes from the same readings.

Reusable by other suites (tests/faults/):

    plant_path = write_plant(tmp / "plant.yaml", site)
    pipe = run_pipeline(plant_path, tmp / "run", settings=stack, app_id=..., site=site)
    readings = simulate(plant_path, tmp / "readings.jsonl", settings=stack, seed=7, start=..., ...)
    readings += publish_trailing(stack, readings, t_end)      # puts every machine's watermark at t_end
    want = expected_records(load_plant(plant_path), readings, ("1m", "1h"), until=t_end)
    got = wait_for_finals(lambda: final_records_from_kafka(stack, site, since=offsets), want, pipe)
    assert_records_equal(got, want)

Records are keyed `(scope, line, machine, window, start)` (one site per test). Every service gets
its own MQTT client id / Faust app id / consumer group; the shared topics (brain.readings,
brain.kpis) are read from the offsets they had when the run started, so other tests' data on the
same topics is never read by our processors or sink (see `brain.kafka_offsets`).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import yaml

from brain.kafka_offsets import end_offsets as end_offsets  # re-exported for the tests
from brain.pipeline import Bridge, Export, Pipeline, Processors, Sink, build_pipeline
from brain.plant import Plant
from brain.settings import KPI_DATABASE, TOPIC_KPIS, TOPIC_READINGS, Settings
from brain.vocabulary import KPI_IDENTITY_FIELDS, KPI_QUANTITY_FIELDS, KPI_RECORD_FIELDS, KPI_TIME_FIELDS
from processors.kpi import compute_records

ROOT = Path(__file__).resolve().parents[2]
Key = tuple[str, str | None, str | None, str, int]  # scope, line, machine, window, start
CODES = {0: "offline", 1: "idle", 2: "running", 3: "setup", 4: "fault", 5: "planned_stop"}

# Fields compared between a stream/InfluxDB record and brain kpi's (identity fields are the key).
VALUE_FIELDS = tuple(f for f in KPI_RECORD_FIELDS if f not in KPI_IDENTITY_FIELDS)
# The sink always writes these (null as 0.0); the other fields are left out when null.
ALWAYS_WRITTEN = (*KPI_TIME_FIELDS, *KPI_QUANTITY_FIELDS, "failures")


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


# ------------------------------------------------------------------------------------ plant


def plant_data(
    site: str,
    *,
    shifts: list[dict[str, Any]] | None = None,
    lines: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A small plant: 2 lines, 3 machines (one with numeric state codes) and an energy meter."""
    if shifts is None:
        shifts = [
            {"name": "a", "start": "08:00", "end": "08:30", "breaks": [{"start": "08:10", "end": "08:15"}]},
            {"name": "b", "start": "08:30", "end": "09:00"},
        ]
    if lines is None:
        lines = [
            {
                "id": "l1",
                "machines": [
                    {"id": "m1", "ideal_cycle_s": 20},
                    {"id": "m2", "ideal_cycle_s": 15, "state_codes": CODES},
                ],
            },
            {"id": "l2", "machines": [{"id": "m3", "ideal_cycle_s": 30}, {"id": "meter", "kind": "meter"}]},
        ]
    return {
        "timezone": "Asia/Shanghai",
        "shifts": shifts,
        "tariff": {"prices": {"peak": 1.2, "flat": 0.7, "valley": 0.3}},
        "sites": [{"id": site, "lines": lines}],
    }


def write_plant(path: Path, site: str, **kw: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(plant_data(site, **kw), sort_keys=False))
    return path


# ------------------------------------------------------------------------------------ Kafka


def _consume(settings: Settings, topic: str, since: Mapping[int, int] | None) -> Iterable[dict[str, Any]]:
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        group_id=None,
        **settings.kafka_kwargs(),
    )
    try:
        tps = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or ())]
        c.assign(tps)
        ends = c.end_offsets(tps)
        for tp in tps:
            if since and tp.partition in since:
                c.seek(tp, since[tp.partition])
            else:
                c.seek_to_beginning(tp)
        todo = {tp for tp in tps if c.position(tp) < ends[tp]}
        deadline = time.monotonic() + 60
        while todo and time.monotonic() < deadline:
            for tp, batch in c.poll(timeout_ms=500, max_records=20_000).items():
                for m in batch:
                    if m.offset < ends[tp] and m.value:
                        try:
                            yield orjson.loads(m.value)
                        except orjson.JSONDecodeError:
                            continue
                if c.position(tp) >= ends[tp]:
                    todo.discard(tp)
    finally:
        c.close()


def key_of(rec: Mapping[str, Any]) -> Key:
    return (rec["scope"], rec.get("line"), rec.get("machine"), rec["window"], int(rec["start"]))


def final_records_from_kafka(
    settings: Settings, site: str, topic: str = TOPIC_KPIS, *, since: Mapping[int, int] | None = None
) -> dict[Key, dict[str, Any]]:
    """The latest FINAL record of each key of `site` on `topic` (from `since` offsets, else the
    beginning). A final window may be re-emitted (a correction): the last one wins."""
    out: dict[Key, dict[str, Any]] = {}
    for rec in _consume(settings, topic, since):
        if isinstance(rec, dict) and rec.get("site") == site and rec.get("final") is True:
            out[key_of(rec)] = rec
    return out


# ------------------------------------------------------------------------------------ InfluxDB


def _influx(settings: Settings) -> Any:
    from influxdb_client import InfluxDBClient

    return InfluxDBClient(
        url=settings.influx_url, token=settings.influx_token or "x:x", org=settings.influx_org, timeout=60_000
    )


def flux(settings: Settings, query: str) -> list[dict[str, Any]]:
    """Rows of a Flux query (every table's records, values as dicts)."""
    with _influx(settings) as c:
        return [
            dict(r.values) for t in c.query_api().query(query, org=settings.influx_org) for r in t.records
        ]


def final_records_from_influx(
    settings: Settings, site: str, bucket: str = KPI_DATABASE, measurements: Sequence[str] = ("oee", "energy")
) -> dict[Key, dict]:
    """KPI records of `site` rebuilt from the `oee` and `energy` points (and any further
    `measurements`: a pack's), FINAL ones only.

    A record has the identity (tags, `_time` = start, `end`, `final`) and the fields the points
    carry; a null KPI is an absent field (the sink writes time elements and quantities as 0.0)."""
    which = " or ".join(f'r._measurement == "{m}"' for m in measurements)
    rows = flux(
        settings,
        f'from(bucket: "{bucket}") |> range(start: 0, stop: 2200-01-01T00:00:00Z) '
        f'|> filter(fn: (r) => r.site == "{site}" and ({which}))',
    )
    recs: dict[Key, dict[str, Any]] = {}
    finals: dict[Key, bool] = {}
    for row in rows:
        start = int(row["_time"].timestamp() * 1000 + 0.5)
        key = (row["scope"], row.get("line"), row.get("machine"), row["window"], start)
        rec = recs.setdefault(
            key,
            {
                "scope": row["scope"],
                "site": site,
                "line": row.get("line"),
                "machine": row.get("machine"),
                "window": row["window"],
                "start": start,
                "shift": row.get("shift"),
            },
        )
        field, value = row["_field"], row["_value"]
        if field == "final":
            finals[key] = finals.get(key, True) and bool(value)
        else:
            rec[field] = value
    return {k: {**r, "final": True} for k, r in recs.items() if finals.get(k)}


def delete_site(settings: Settings, site: str, buckets: Sequence[str] = ("brain_kpi", "brain_raw")) -> None:
    """Remove a test's site from the shared InfluxDB (/api/v2/delete, which 1.x serves too)."""
    with _influx(settings) as c:
        for bucket in buckets:
            c.delete_api().delete(
                "1970-01-01T00:00:00Z", "2200-01-01T00:00:00Z", f'site="{site}"', bucket=bucket, org="-"
            )


# ------------------------------------------------------------------------------------ services


def run_pipeline(
    plant_path: Path,
    run_dir: Path,
    *,
    settings: Settings,
    app_id: str,
    site: str | None = None,
    client_id: str | None = None,
    sink_group: str | None = None,
    sink: bool = True,
    raw: bool = False,
    grace_s: float = 5,
    idle_timeout_s: float = 10,
    process_args: Sequence[str] = (),
    kpis_topic: str = TOPIC_KPIS,
    start: bool = True,
    export: bool = False,
) -> Pipeline:
    """bridge -> processors (-> sink) (-> export) for one plant, as child processes with logs in `run_dir`.

    Services are named `bridge`, `processors`, `sink`; `pipeline.kill("processors")`,
    `restart(...)` etc. for fault injection. The processors' app id and the sink's group start at
    the end of the shared topics. With `site`, the bridge subscribes only to that site's topics
    (v1 `brain/v1/{site}/#` and Sparkplug group `spBv1.0/{site}/#`, the simulator's mapping).
    Returns once the bridge is subscribed (publish only after that: MQTT does not keep messages
    for a subscription that does not exist yet)."""
    env = {
        "BRAIN_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "BRAIN_MQTT_URL": settings.mqtt_url,
        "BRAIN_INFLUX_URL": settings.influx_url,
        "PYTHONUNBUFFERED": "1",
    }
    raw_topics = [TOPIC_READINGS] if raw else []
    pipe = build_pipeline(
        run_dir,
        plant_path,
        bridges=[Bridge(client_id or f"{app_id}-bridge", site=site, session_expiry_s=600)],
        processors=Processors(
            app_id,
            start_at="latest",
            grace_s=grace_s,
            idle_timeout_s=idle_timeout_s,
            output_topic=kpis_topic,
            session_timeout_s=10,
            extra=tuple(process_args),
        ),
        sink=Sink(
            sink_group or f"{app_id}-sink",
            topics=(f"kpis={kpis_topic}", *(f"readings={t}" for t in raw_topics)),
            flush_ms=300,
            start_at_end=(kpis_topic, *raw_topics),
        )
        if sink
        else None,
        # `brain export` as `brain demo` runs it: a group of its own at the end of brain.kpis
        export=Export(f"{app_id}-export", start_at_end=True) if export else None,
        settings=settings,
        env={**os.environ, **env},
    )
    if start:
        pipe.start_all()
        if not pipe.wait_for_log("bridge", "event=bridge.subscribed", timeout_s=60):
            problems = pipe.dead()
            pipe.stop_all()
            raise RuntimeError(f"the bridge did not subscribe: {problems or run_dir}")
    return pipe


def simulate(
    plant_path: Path,
    out: Path,
    *,
    settings: Settings,
    seed: int,
    start: str,
    duration: str,
    speed: float = 0,
    form: str = "mixed",
    sparkplug_share: float = 0.3,
    periods: str | None = None,
    extra: Sequence[str] = (),
    timeout_s: float = 300,
) -> list[dict[str, Any]]:
    """Run `brain simulate` to completion (publishing to the real Mosquitto) and return its
    good readings (the --out JSON Lines)."""
    argv = [sys.executable, "-m", "brain.cli", "simulate", "--config", str(plant_path)]
    argv += ["--seed", str(seed), "--start", start, "--duration", duration, "--speed", f"{speed:g}"]
    argv += ["--out", str(out), "--form", form, "--sparkplug-share", f"{sparkplug_share:g}", "--quiet"]
    argv += ["--client-id", f"sim-{uuid.uuid4().hex[:8]}"]
    if periods:
        argv += ["--period", periods]
    argv += list(extra)
    env = {**os.environ, "BRAIN_MQTT_URL": settings.mqtt_url}
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s)
    if proc.returncode != 0:
        raise RuntimeError(f"brain simulate exited with {proc.returncode}:\n{proc.stderr[-3000:]}")
    return load_readings(out)


def load_readings(path: Path) -> list[dict[str, Any]]:
    with open(path, "rb") as f:
        return [orjson.loads(line) for line in f if line.strip()]


def trailing_readings(readings: Sequence[Mapping[str, Any]], t_end: int) -> list[dict[str, Any]]:
    """For each machine that reports `state`: its last state again at `t_end`.

    It changes nothing in `brain kpi` (a repeated state is no transition) but moves the machine's
    stream watermark to `t_end`. Without it a machine falls silent at its last sample (just before
    the end), the processors' idle timeout takes it for offline from there and the last windows
    get a few seconds `unknown` that `brain kpi` (which holds the state to the window end) has not.
    Machines without a state (meters) need nothing: power and meters are held/attributed alike."""
    last: dict[tuple[str, str, str], Any] = {}
    for r in readings:
        if r["metric"] == "state" and r["ts"] < t_end:
            k = (r["site"], r["line"], r["machine"])
            if k not in last or r["ts"] >= last[k][1]:
                last[k] = (r["value"], r["ts"])
    return [
        {"site": s, "line": ln, "machine": m, "metric": "state", "value": v, "ts": t_end}
        for (s, ln, m), (v, _) in sorted(last.items())
    ]


def publish_readings(settings: Settings, readings: Sequence[Mapping[str, Any]]) -> None:
    """Publish readings as v1 JSON per metric (QoS 1, acked by the broker)."""
    import paho.mqtt.client as mqtt

    ep = settings.mqtt
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"e2e-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
    )
    ep.apply(client)
    client.connect(ep.host, ep.port)
    client.loop_start()
    try:
        infos = [
            client.publish(
                f"brain/v1/{r['site']}/{r['line']}/{r['machine']}/{r['metric']}",
                orjson.dumps({"value": r["value"], "ts": r["ts"]}),
                qos=1,
            )
            for r in readings
        ]
        for info in infos:
            info.wait_for_publish(30)
    finally:
        client.loop_stop()
        client.disconnect()


def publish_trailing(settings: Settings, readings: Sequence[Mapping[str, Any]], t_end: int) -> list[dict]:
    """`trailing_readings` published over MQTT; returns them (add them to the expected input)."""
    trailing = trailing_readings(readings, t_end)
    publish_readings(settings, trailing)
    return trailing


# ------------------------------------------------------------------------------------ expected


def expected_records(
    plant: Plant,
    readings: Iterable[Mapping[str, Any]],
    windows: Iterable[str],
    *,
    until: int | None = None,
) -> dict[Key, dict[str, Any]]:
    """`brain kpi`'s records (compute_records) for each window kind, keyed like the finals;
    with `until`, only windows that end by then (the ones the data covers)."""
    rows = [(r["site"], r["line"], r["machine"], r["metric"], r["value"], r["ts"]) for r in readings]
    out: dict[Key, dict[str, Any]] = {}
    for window in windows:
        for rec in compute_records(plant, rows, window):
            if until is None or rec["end"] <= until:
                out[key_of(rec)] = rec
    return out


def wait_for_finals(
    fetch: Callable[[], dict[Key, dict[str, Any]]],
    want: Iterable[Key],
    pipeline: Pipeline | None = None,
    *,
    timeout_s: float = 120,
    poll_s: float = 2.0,
    settle_s: float = 2.0,
) -> dict[Key, dict[str, Any]]:
    """Poll `fetch` until it has a final record for every wanted key (bounded), then once more
    after `settle_s` (a correction still in flight would land now). Fails early if a service died."""
    want = set(want)
    deadline = time.monotonic() + timeout_s
    got: dict[Key, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        got = fetch()
        if want <= set(got):
            time.sleep(settle_s)
            return fetch()
        if pipeline is not None and (dead := pipeline.dead()):
            raise AssertionError("a service died:\n" + "\n".join(dead))
        time.sleep(poll_s)
    missing = sorted(want - set(got), key=lambda k: (k[4], k[3], k[0], k[1] or "", k[2] or ""))
    raise AssertionError(
        f"after {timeout_s:g} s, {len(missing)} of {len(want)} final records are missing, e.g. "
        + "; ".join(describe(k) for k in missing[:5])
    )


# ------------------------------------------------------------------------------------ comparing


def describe(key: Key) -> str:
    from datetime import UTC, datetime

    scope, line, machine, window, start = key
    where = "/".join(x for x in (line, machine) if x) or "site"
    at = datetime.fromtimestamp(start / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{scope} {where} {window}@{at} ({start})"


def _same(a: Any, b: Any, rel: float) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=rel, abs_tol=1e-9)
    return a == b


def assert_records_equal(
    actual: Mapping[Key, Mapping[str, Any]],
    expected: Mapping[Key, Mapping[str, Any]],
    *,
    rel: float = 1e-6,
    influx: bool = False,
    fields: Sequence[str] = VALUE_FIELDS,
    extra_ok: bool = True,
) -> None:
    """Every expected record is in `actual` with the same fields (relative tolerance `rel`; a null
    is an absent field). `influx=True`: the InfluxDB form (time elements and quantities written as
    0.0 when null; strings not stored). Records in `actual` that are not expected are fine with
    `extra_ok` (e.g. windows past the covered range). The message names scope/window/start/field."""
    problems: list[str] = []
    missing = [k for k in expected if k not in actual]
    for k in sorted(missing, key=lambda k: (k[4], k[3]))[:10]:
        problems.append(f"missing: {describe(k)}")
    if not extra_ok:
        for k in sorted(set(actual) - set(expected), key=lambda k: (k[4], k[3]))[:10]:
            problems.append(f"unexpected: {describe(k)}")
    diffs = 0
    for k, exp in sorted(expected.items(), key=lambda kv: (kv[0][4], kv[0][3], kv[0][0])):
        act = actual.get(k)
        if act is None:
            continue
        checks = [("end", exp["end"])] + [(f, exp.get(f)) for f in fields]
        if exp.get("shift") is not None or not influx:
            checks.append(("shift", exp.get("shift")))
        for f, want in checks:
            if influx:
                if isinstance(want, str) and f != "shift":
                    continue
                if want is None and f in ALWAYS_WRITTEN:
                    want = 0.0
            got = act.get(f)
            if want is None and got is None:
                continue
            if want is None or got is None or not _same(got, want, rel):
                diffs += 1
                if diffs <= 25:
                    problems.append(f"{describe(k)}: {f} = {got!r}, brain kpi says {want!r}")
    if diffs > 25:
        problems.append(f"... {diffs - 25} more field differences")
    assert not problems, (
        f"{len(missing)} missing, {diffs} field differences over {len(expected)} records:\n  "
        + "\n  ".join(problems)
    )
