"""The whole federation chain on REAL servers (issue 16), with a 60 s MirrorMaker 2 outage:

    factory A (the shared stack's Kafka)  brain.kpis -> brain export -> brain.export ─┐
    factory B (the private stack's Kafka) brain.kpis -> brain export -> brain.export ─┤ ONE `brain mirror`
    city (a Kafka of its own + the shared InfluxDB, database brain_city_<run>) <──────┘ (MM2, both sources)
        <enterprise>.brain.export -> the city service (brain/city/service.py serve()) -> InfluxDB

KPI records go to brain.kpis on both factories: final site and line day records (one corrected
later), and records that must NOT leave: machine scope, 1m windows, provisional ones, a field
outside the allowlist (every record carries one, plus the documented fields the allowlist keeps
back). Readings go to brain.readings on both. MM2 is SIGKILLed mid-stream and stays down 60 s
while more is exported (the factories' retention holds it), then restarts from its offsets.

(a) the city InfluxDB rows equal `brain city` (the batch command) on the union of both factories'
    brain.export topics, for the year and both months; their kWh equal the independent sum of
    the last version of each site day (a re-delivery or a correction counted twice would not);
    every export record reached the city, and nothing else did;
(b) privacy: every message of EVERY topic of the city cluster (MM2's internal ones and
    __consumer_offsets included) is read: the run's marker (machine ids, the extra field, the
    1m lines, the readings) is in none, and every record of the run's enterprises is a final
    site/line day record with allowlisted fields only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
import yaml

from brain.city import parse_register
from brain.city.service import serve
from brain.cli import main as brain_main
from brain.influx_admin import influxql
from brain.kafka_admin import ensure_topics
from brain.plant.export import Export
from brain.settings import TOPIC_EXPORT, TOPIC_KPIS, TOPIC_READINGS, Settings
from brain.vocabulary import EXPORT_DEFAULT_FIELDS, KPI_IDENTITY_FIELDS
from processors.export.allowlist import filter_record, key_bytes
from processors.export.service import Exporter, ExportOptions
from tests.city.chain import (
    TZ,
    carries,
    city_rows,
    from_the_end,
    kpi,
    kpis,
    midnight_ms,
    mirror,
    produce,
    read_all,
    register_data,
    topic_names,
)
from tests.private_stack import PrivateStack, start_private_stack

pytestmark = pytest.mark.stack

OUTAGE_S = 60.0
PERIODS = ("2026", "2026-03", "2026-04")
COMPARED = (
    "kwh",
    "tce",
    "co2_t",
    "tax_per_mu",
    "sales_per_mu",
    "tax_per_tce",
    "oee",
    "dq_completeness",
    "score",
    "rank",
)
# the topics of the city cluster that may hold anything: the mirrored exports, MM2's heartbeats and
# internal topics, the city service's dead letters, the consumer groups' offsets
CITY_TOPICS = re.compile(
    r"^(?:[\w-]+\.brain\.export|(?:[\w-]+\.)?heartbeats|mm2-(?:configs|offsets|status|offset-syncs)\.[\w-]+\.internal"
    r"|brain\.deadletter|__consumer_offsets)$"
)
ALLOWED = {"enterprise", *KPI_IDENTITY_FIELDS, *EXPORT_DEFAULT_FIELDS}


@pytest.fixture(scope="module")
def city_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateStack]:
    """The city cluster: a brand-new Kafka, so every topic on it is this test's to inspect."""
    yield from start_private_stack(tmp_path_factory, "kafka")


@pytest.fixture
def city_database(stack: Settings) -> Iterator[str]:
    """The city's own InfluxDB database on the shared server, dropped after the test (pass or fail)."""
    name = f"brain_city_{uuid.uuid4().hex[:8]}"
    yield name
    influxql(stack.influx_url, f'DROP DATABASE "{name}"', token=stack.influx_token)


def _wait_for_kwh(
    settings: Settings, database: str, want: dict[str, dict[str, float]], timeout_s: float
) -> None:
    """Until the city rows' kWh per period and enterprise are `want`'s (period -> enterprise -> kWh)."""
    deadline, got = time.monotonic() + timeout_s, {}
    while time.monotonic() < deadline:
        got = {p: {e: r.get("kwh") for e, r in city_rows(settings, database, p).items()} for p in want}
        if all(
            got[p].keys() == want[p].keys() and all(_close(got[p][e], v) for e, v in want[p].items())
            for p in want
        ):
            return
        time.sleep(1)
    pytest.fail(f"the city rows' kWh {got} did not reach {want} in {timeout_s} s")


def _close(a: Any, b: float) -> bool:
    return isinstance(a, float) and abs(a - b) <= 1e-9 * max(1.0, abs(b))


def _expected_kwh(sent: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, float]]:
    """Independently of the ledger: the last final version of each site day, summed per period."""
    out: dict[str, dict[str, float]] = {p: {} for p in PERIODS}
    for alias, records in sent.items():
        last = {r["start"]: r["energy_kwh"] for r in records if r["scope"] == "site" and r["final"]}
        for start, kwh in last.items():
            local = dt.datetime.fromtimestamp(start / 1000, ZoneInfo(TZ))
            for period in ("2026", f"2026-{local.month:02d}"):
                out[period][alias] = out[period].get(alias, 0.0) + kwh
    return out


def _batch(register_path: Path, exports: Path, period: str, out: Path) -> dict[str, dict[str, Any]]:
    """`brain city --register R --input EXPORTS --year 2026 [--month M]`: the batch command."""
    argv = [
        "city",
        "--register",
        str(register_path),
        "--input",
        str(exports),
        "--year",
        "2026",
        "--skip-bad",
        "--output",
        str(out),
    ]
    if len(period) > 4:
        argv += ["--month", period]
    assert brain_main(argv) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    return {r["enterprise"]: r for r in rows if r["kind"] == "enterprise"}


def test_two_factories_mirror_through_a_60s_outage_to_the_city(
    stack: Settings, private_stack: PrivateStack, city_kafka: PrivateStack, city_database: str, tmp_path: Path
) -> None:
    began = time.monotonic()
    run = uuid.uuid4().hex[:8]
    mark = f"forbidden{run}"  # in everything that must never reach the city
    a, b = f"a{run}", f"b{run}"
    factories = {a: stack, b: private_stack.settings}
    data = register_data(a, b, run)
    register = parse_register(data, "chain")
    register_path = tmp_path / "register.yaml"
    register_path.write_text(yaml.safe_dump(data))
    database = city_database
    city = dataclasses.replace(
        city_kafka.settings,
        influx_url=stack.influx_url,
        influx_token=stack.influx_token,
        influx_org=stack.influx_org,
    )
    phase1 = {a: [(3, d) for d in range(1, 4)], b: [(3, d) for d in range(2, 5)]}
    phase2 = {a: [(3, d) for d in range(4, 7)] + [(4, 1)], b: [(3, d) for d in range(5, 8)] + [(4, 2)]}
    sent: dict[str, list[dict[str, Any]]] = {alias: [] for alias in factories}

    stops = {name: threading.Event() for name in ("export", "city")}
    threads, exporters, failed = [], {}, []
    counters: dict[str, int] = {}

    def _guard(fn: Any, *args: Any, **kwargs: Any) -> None:
        try:
            result = fn(*args, **kwargs)
            if isinstance(result, dict):
                counters.update(result)
        except BaseException as exc:  # reported by the test, not lost in the thread
            failed.append(exc)

    for alias, settings in factories.items():
        ensure_topics(settings, {TOPIC_KPIS: 3, TOPIC_EXPORT: 3, TOPIC_READINGS: 3})
        group = f"chain-export-{run}"
        from_the_end(settings, group)
        exporters[alias] = Exporter(settings, Export(alias), ExportOptions(group=group, status_interval_s=60))
        threads.append(
            threading.Thread(target=_guard, args=(exporters[alias].run, stops["export"]), daemon=True)
        )
    city_kwargs = dict(
        register=register,
        settings=city,
        interval_s=1.0,
        stop=stops["city"],
        group=f"city-{run}",
        database=database,
    )
    threads.append(threading.Thread(target=_guard, args=(serve,), kwargs=city_kwargs, daemon=True))
    for t in threads:
        t.start()

    def _send(phase: dict[str, list[tuple[int, int]]], base: float) -> None:
        for alias, settings in factories.items():
            records = kpis(f"{alias}-s1", phase[alias], mark, base)
            sent[alias] += records
            produce(settings, TOPIC_KPIS, records)
            readings = [
                {"site": f"{alias}-s1", "machine": mark, "metric": "power_kw", "value": 1.0, "ts": r["start"]}
                for r in records[::6]
            ]
            produce(settings, TOPIC_READINGS, readings)

    def _exported_all() -> None:
        deadline = time.monotonic() + 60
        while (
            any(exporters[x].stats.consumed < len(sent[x]) for x in factories) and time.monotonic() < deadline
        ):
            time.sleep(0.2)
        consumed = {x: exporters[x].stats.consumed for x in factories}
        assert consumed == {x: len(sent[x]) for x in factories}, {x: exporters[x].stats for x in factories}

    mm2 = mirror(factories, city, tmp_path)
    try:
        _send(phase1, 1000.0)
        _exported_all()
        _wait_for_kwh(city, database, _expected_kwh(sent), timeout_s=90)
        print(f"\nchain: phase 1 at the city after {time.monotonic() - began:.0f} s")

        mm2.send_signal(signal.SIGKILL)  # the link is down: the factories' brain.export holds the rest
        mm2.wait(timeout=30)
        killed = time.monotonic()
        at_kill = _expected_kwh(sent)
        # more days, a correction of each factory's first site day, April
        _send(phase2, 2000.0)
        for alias, settings in factories.items():
            first = phase1[alias][0]
            fix = kpi(f"{alias}-s1", "site", "day", midnight_ms(*first), final=True, kwh=1234.5, mark=mark)
            sent[alias].append(fix)
            produce(settings, TOPIC_KPIS, [fix])
        _exported_all()
        time.sleep(max(0.0, killed + OUTAGE_S - 5 - time.monotonic()))
        _wait_for_kwh(city, database, at_kill, timeout_s=1)  # nothing crossed while the link was down
        time.sleep(max(0.0, killed + OUTAGE_S - time.monotonic()))
        mm2 = mirror(factories, city, tmp_path)
        _wait_for_kwh(city, database, _expected_kwh(sent), timeout_s=90)
        print(f"chain: resumed, all at the city after {time.monotonic() - began:.0f} s")
    finally:
        mm2.kill()
        mm2.wait(timeout=30)
        for stop in stops.values():
            stop.set()
        for t in threads:
            t.join(timeout=30)
    assert not failed, f"a service failed: {failed[0]!r}"
    assert not any(t.is_alive() for t in threads), "a service did not stop"
    _check_the_chain(factories, city, register_path, database, sent, exporters, counters, mark, tmp_path)
    print(f"chain: {time.monotonic() - began:.0f} s in all")


def _check_the_chain(
    factories: dict[str, Settings],
    city: Settings,
    register_path: Path,
    database: str,
    sent: dict[str, list[dict[str, Any]]],
    exporters: dict[str, Exporter],
    counters: dict[str, int],
    mark: str,
    tmp_path: Path,
) -> None:
    # what each factory let out: exactly the allowlist's output of what it was given
    expected: dict[str, set[tuple[bytes, bytes]]] = {}
    union = tmp_path / "exports.jsonl"
    with union.open("wb") as fh:
        for alias, settings in factories.items():
            outs = [filter_record(r, Export(alias)) for r in sent[alias]]
            expected[alias] = {(key_bytes(o.record), orjson.dumps(o.record)) for o in outs if o.record}
            stats = exporters[alias].stats
            days = len(sent[alias]) // 6
            assert dict(stats.skipped) == {
                "not_final": days,
                "scope_not_allowed": days,
                "window_not_allowed": days,
            }, stats
            assert stats.dropped_fields > 0 and stats.dead_letters == 0, stats
            at_factory = read_all(settings.kafka_bootstrap, [TOPIC_EXPORT])[TOPIC_EXPORT]
            mine = {(m.key, m.value) for m in at_factory if m.key and m.key.startswith(f"{alias}/".encode())}
            assert mine == expected[alias], f"{alias}: brain.export differs from the allowlist's output"
            for m in at_factory:  # the union of both factories' brain.export, as the batch reads it
                fh.write((m.value or b"") + b"\n")

    # MM2 wrote nothing into a factory (no herder of a disabled flow, offset syncs at the city)
    for alias, settings in factories.items():
        names = topic_names(settings.kafka_bootstrap)
        assert not [t for t in names if any(x in t for x in factories)], (alias, sorted(names))
    fresh = topic_names(factories[list(factories)[1]].kafka_bootstrap)  # the private factory's
    assert not [t for t in fresh if t.startswith("mm2-") or "heartbeats" in t], sorted(fresh)

    everything = read_all(city.kafka_bootstrap)
    topics = sorted(everything)
    print(f"chain: city topics {topics}")
    # (a) every export reached the city on its enterprise's topic; the city service = `brain city`
    for alias in factories:
        at_city = {(m.key, m.value) for m in everything[f"{alias}.brain.export"]}
        mine = {kv for kv in at_city if kv[0] and kv[0].startswith(f"{alias}/".encode())}
        assert mine == expected[alias], f"{alias}: the city's {alias}.brain.export differs from the factory's"
    want_kwh = _expected_kwh(sent)
    for period in PERIODS:
        batch = _batch(register_path, union, period, tmp_path / f"batch-{period}.jsonl")
        got = city_rows(city, database, period)
        assert set(got) == set(batch) == set(factories), period
        for enterprise, row in batch.items():
            assert got[enterprise].get("class") == row["class"], (period, enterprise)
            assert _close(row["kwh"], want_kwh[period][enterprise]), (period, enterprise, row["kwh"])
            for name in COMPARED:
                if row.get(name) is None:
                    assert got[enterprise].get(name) is None, (period, enterprise, name)
                else:
                    assert _close(got[enterprise].get(name), float(row[name])), (period, enterprise, name)
    distinct = {(alias, k) for alias in factories for k, _ in expected[alias]}
    assert counters["accepted"] - counters["duplicates"] == len(distinct), counters

    # (b) privacy: nothing of the run's but the allowlisted exports anywhere on the city cluster
    carrying = sorted(t for t, messages in everything.items() if messages)
    assert not [t for t in carrying if not CITY_TOPICS.match(t)], carrying  # brain.readings etc. are empty
    needle = mark.encode()
    # the scan finds the marker where it is: every record given to the private factory carries it
    private = factories[list(factories)[1]].kafka_bootstrap
    at_home = read_all(private, [TOPIC_KPIS, TOPIC_READINGS])
    given = sent[list(factories)[1]]
    readings = sum(1 for r in given if r["window"] == "1m")  # one reading per day, as one 1m record
    assert sum(carries(m, needle) for ms in at_home.values() for m in ms) == len(given) + readings
    for topic, messages in everything.items():
        for m in messages:
            assert not carries(m, needle), f"{topic}@{m.offset} carries a forbidden record"
            if not topic.endswith(".brain.export"):
                continue
            try:
                record = json.loads(m.value)
            except ValueError:  # not JSON: not an export of this run (the marker scan covers it)
                continue
            if isinstance(record, dict) and record.get("enterprise") in factories:
                assert set(record) <= ALLOWED, (topic, sorted(set(record) - ALLOWED))
                assert record["scope"] in ("site", "line") and record["window"] == "day", record
                assert record["final"] is True and record["machine"] is None, record
    at_city = sum(
        1
        for x in factories
        for m in everything[f"{x}.brain.export"]
        if (m.key or b"").startswith(f"{x}/".encode())
    )
    print(
        f"chain: {len(distinct)} keys, {sum(map(len, expected.values()))} export records, {at_city} of them "
        f"at the city (at least once); city counters {counters}"
    )
