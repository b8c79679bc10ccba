"""`brain process` keeps producing KPI records after Kafka was frozen (SIGSTOP) for 30 s.

Regression test for the hang found by the fault suite (docs/RELIABILITY.md, "Faults"): the
worker's group session expires during the freeze; after SIGCONT it must rejoin and go on, not
wait forever in its rebalance for a batch stuck on the producer. Private stack only (the
`private_stack` fixture): the shared servers are never frozen.

The readings' event time runs at SPEED x the wall clock, so a 1m window becomes final a few
seconds (wall) after its end; the check is a final machine record and a final site record of a
1m window that starts after the thaw, within RECOVER_S.

Observed frequency: the hang is rare and this focused test did NOT reproduce it (before the fix
0 of 3 runs hung: recovered in 4.9-7.6 s, no group rebalance; after it 1 of 1 passed in 7.5 s);
the fault suite saw it in 1 of 3 runs. The fix's mechanism (a lost produce response no longer
holds a batch for Faust's 20 min request timeout) is tested deterministically in
tests/processors/test_sender.py. About 45-90 s. The worker runs the default consumer (direct:
Faust still runs its group, ticks, tables and rollup); the `--consumer faust` path ran this test
too when direct became the default (both passed, 45-46 s each) and is left out to keep
`make test` near 15 min.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaProducer

from tests.faults.conftest import PrivateStack
from tests.processors import kafka_io

pytestmark = [pytest.mark.stack, pytest.mark.faults, pytest.mark.slow, pytest.mark.timeout(240)]

SPEED = 20.0  # event-time seconds per wall second
FREEZE_S = 30.0
RECOVER_S = 60.0
SITE = "fz"
MACHINES = (("l1", "m1"), ("l1", "m2"))
PLANT = {
    "timezone": "Asia/Shanghai",
    "sites": [
        {
            "id": SITE,
            "lines": [{"id": "l1", "machines": [{"id": m, "ideal_cycle_s": 2.0} for _, m in MACHINES]}],
        }
    ],
}


class Readings(threading.Thread):
    """Produces one state and one counter reading per machine per event-time 2 s, paced at SPEED,
    through a Kafka outage (kafka-python buffers and retries; failed sends are counted)."""

    def __init__(self, bootstrap: str, topic: str, start_ms: int) -> None:
        super().__init__(daemon=True, name="freeze-readings")
        self.bootstrap, self.topic, self.start_ms = bootstrap, topic, start_ms
        self.stop = threading.Event()
        self.t0 = time.monotonic()
        self.failed = 0

    def now_ts(self) -> int:
        return int(self.start_ms + (time.monotonic() - self.t0) * SPEED * 1000)

    def run(self) -> None:
        producer = KafkaProducer(
            bootstrap_servers=self.bootstrap, linger_ms=5, acks="all", retries=1_000_000,
            request_timeout_ms=10_000, delivery_timeout_ms=300_000, max_block_ms=300_000,
        )  # fmt: skip
        ts, count = self.start_ms, 0
        try:
            while not self.stop.is_set():
                while ts <= self.now_ts():
                    count += 1
                    for line, machine in MACHINES:
                        base = {"site": SITE, "line": line, "machine": machine, "ts": ts}
                        for metric, value in (("state", "running"), ("count_total", count)):
                            self._send(producer, {**base, "metric": metric, "value": value})
                    ts += 2_000
                time.sleep(0.05)
            producer.flush(60)
        finally:
            producer.close(5)

    def _send(self, producer: KafkaProducer, r: dict[str, Any]) -> None:
        key = f"{r['site']}/{r['line']}/{r['machine']}".encode()
        fut = producer.send(self.topic, key=key, value=orjson.dumps(r))
        fut.add_errback(lambda _exc: setattr(self, "failed", self.failed + 1))


def _final_after(records: list[dict[str, Any]], scope: str, since_ts: int) -> bool:
    return any(
        r.get("final") and r["scope"] == scope and r["window"] == "1m" and r["start"] >= since_ts
        for r in records
    )


def test_processors_recover_after_kafka_frozen_30s(private_stack: PrivateStack, tmp_path: Path) -> None:
    settings = private_stack.settings
    run = kafka_io.Run(settings, tmp_path, partitions=2)
    config = run.write_plant(PLANT)
    start_ms = (int(time.time() * 1000) - 6 * 3600_000) // 3600_000 * 3600_000  # a past hour
    feed = Readings(settings.kafka_bootstrap, run.readings, start_ms)
    worker = run.worker(
        config, "--windows", "1m", "--session-timeout-s", "6", "--idle-timeout-s", "600",
        name="freeze",
    )  # fmt: skip
    tail = kafka_io.Tail(settings, run.kpis)

    def alive() -> None:
        if worker.poll() is not None:
            pytest.fail(f"worker exited with {worker.returncode}:\n{run.log_text()[-4000:]}")

    frozen = False
    try:
        feed.start()
        since = feed.now_ts()
        tail.poll_until(lambda rs: _final_after(rs, "site", since), 60, alive)
        assert _final_after([v for _, v in tail.records], "site", since), (
            f"no KPI records before the freeze:\n{run.log_text()[-4000:]}"
        )
        private_stack.ctl("freeze", "kafka")
        frozen = True
        time.sleep(FREEZE_S)
        private_stack.ctl("thaw", "kafka")
        frozen = False
        thawed, since = time.monotonic(), feed.now_ts() // 60_000 * 60_000 + 60_000
        tail.poll_until(
            lambda rs: _final_after(rs, "machine", since) and _final_after(rs, "site", since),
            RECOVER_S,
            alive,
        )
        recs = [v for _, v in tail.records]
        took = time.monotonic() - thawed
        print(f"\nkafka freeze: KPI records after the thaw within {took:.1f} s")
        assert _final_after(recs, "machine", since) and _final_after(recs, "site", since), (
            f"no final KPI record of a window after the thaw within {RECOVER_S:.0f} s "
            f"(readings not sent: {feed.failed}):\n{run.log_text()[-6000:]}"
        )
    finally:
        if frozen:
            private_stack.ctl("thaw", "kafka")
        feed.stop.set()
        feed.join(70)
        kafka_io.stop(worker)
        tail.close()
