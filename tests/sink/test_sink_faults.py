"""The sink as a process under faults: SIGKILL mid-stream, InfluxDB stopped or frozen mid-stream.

The outage tests run their OWN InfluxDB (the project's stack code, a temporary directory, free
ports): the shared one is never stopped. Kafka is the shared one, with topics of each test's own.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from brain.settings import KPI_DATABASE, Settings
from tests.private_stack import free_ports
from tests.sink.helpers import (
    count_points,
    encode,
    expected_kpi_points,
    kpi_key,
    kpi_records,
    query_site,
    wait_for,
)

pytestmark = [pytest.mark.stack, pytest.mark.slow, pytest.mark.faults, pytest.mark.timeout(180)]

REPO = Path(__file__).resolve().parents[2]


class Streamer(threading.Thread):
    """Produces KPI records (keyed like the processors do) at a steady pace, in the background."""

    def __init__(self, settings: Settings, topic: str, records: list[dict], per_s: float) -> None:
        super().__init__(daemon=True, name="streamer")
        self.settings, self.topic, self.records, self.per_s = settings, topic, records, per_s
        self.sent = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        from kafka import KafkaProducer

        try:
            producer = KafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap, acks="all", linger_ms=5)
            start = time.monotonic()
            for i, (record, value) in enumerate(zip(self.records, encode(self.records), strict=True)):
                delay = start + i / self.per_s - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                producer.send(self.topic, value=value, key=kpi_key(record))
                self.sent = i + 1
            producer.flush(30)
            producer.close()
        except BaseException as exc:
            self.error = exc

    def finish(self, timeout_s: float = 90) -> None:
        self.join(timeout_s)
        assert not self.is_alive(), "the producer did not finish"
        if self.error:
            raise self.error


class SinkProcess:
    """`brain sink` as a subprocess with its log in a file."""

    def __init__(
        self, env: dict[str, str], topics: dict[str, str], group: str, log: Path, *extra: str
    ) -> None:
        self.env, self.log = env, log
        self.argv = [
            sys.executable, "-m", "brain.cli", "sink",
            "--topics", f"kpis={topics['kpis']}", f"alerts={topics['alerts']}",
            "--group", group, "--deadletter-topic", topics["dl"],
            "--batch-size", "300", "--flush-ms", "200", "--status-interval", "1", "--retry-max-s", "2",
            *extra,
        ]  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT
            )

    def signal(self, sig: int) -> None:
        assert self.proc is not None and self.proc.poll() is None, self.text()[-2000:]
        self.proc.send_signal(sig)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture
def sink_process(
    stack: Settings, site_id: str, sink_topics: Callable[..., dict[str, str]], tmp_path: Path
) -> Iterator[Callable[..., SinkProcess]]:
    made: list[SinkProcess] = []

    def make(env: dict[str, str] | None = None, *extra: str) -> SinkProcess:
        topics = sink_topics() if not made else made[0].topics  # type: ignore[attr-defined]
        proc = SinkProcess(
            env or dict(os.environ), topics, f"sinktest-{site_id}", tmp_path / "sink.log", *extra
        )
        proc.topics = topics  # type: ignore[attr-defined]
        made.append(proc)
        return proc

    yield make
    for proc in made:
        proc.stop()


def _check_all(settings: Settings, site: str, records: list[dict], timeout_s: float, log: str) -> None:
    expected = expected_kpi_points(records)
    try:
        wait_for(lambda: count_points(settings, KPI_DATABASE, site) >= len(expected), timeout_s, "all points")
    except AssertionError:
        print(log[-4000:])
        raise
    found = query_site(settings, KPI_DATABASE, site)
    missing = [k for k in expected if k not in found]
    assert not missing, f"{len(missing)} points missing, e.g. {missing[:3]}"
    assert found == expected  # one point per series and time, each with its record's values


def test_sigkill_mid_stream_then_restart_writes_every_record_once(
    stack: Settings, site_id: str, sink_process: Callable[..., SinkProcess]
) -> None:
    sink = sink_process()
    records = kpi_records(site_id, machines=40, windows=30)  # 1201 records, 2001 points
    streamer = Streamer(stack, sink.topics["kpis"], records, per_s=250)  # type: ignore[attr-defined]
    sink.start()
    streamer.start()
    wait_for(lambda: count_points(stack, KPI_DATABASE, site_id) >= 300, 30, "the first writes")
    sink.signal(signal.SIGKILL)
    assert streamer.is_alive() and streamer.sent < len(records), "the kill was not mid-stream"
    written_at_kill = count_points(stack, KPI_DATABASE, site_id)
    sink.start()
    streamer.finish()
    _check_all(stack, site_id, records, 40, sink.text())
    assert written_at_kill < len(expected_kpi_points(records))
    assert sink.text().count("event=sink.started") == 2


@pytest.fixture
def own_influx(tmp_path: Path) -> Iterator[tuple[dict[str, str], Callable[[str], None]]]:
    """An InfluxDB of this test only: (environment pointing at it, `stack(action)` for it)."""
    http, rpc = free_ports(2)
    env = dict(
        os.environ,
        BRAIN_STACK_DIR=str(tmp_path / "stack"),
        BRAIN_STACK_INFLUX_PORT=str(http),
        BRAIN_STACK_INFLUX_RPC_PORT=str(rpc),
        BRAIN_STACK_SECURE="",
        BRAIN_INFLUX_URL=f"http://127.0.0.1:{http}",
    )

    def stack_cmd(action: str) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "brain.cli", "stack", action, "influxdb"],
            env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 0, f"stack {action} influxdb: {result.stdout}{result.stderr}"

    stack_cmd("up")
    try:
        yield env, stack_cmd
    finally:
        stack_cmd("down")


@pytest.mark.parametrize(("down", "up", "outage_s"), [("stop", "start", 30), ("freeze", "thaw", 15)])
def test_influxdb_outage_mid_stream_loses_nothing(
    stack: Settings,
    site_id: str,
    sink_process: Callable[..., SinkProcess],
    own_influx: tuple[dict[str, str], Callable[[str], None]],
    down: str,
    up: str,
    outage_s: float,
) -> None:
    env, stack_cmd = own_influx
    mine = dataclasses.replace(stack, influx_url=env["BRAIN_INFLUX_URL"])
    sink = sink_process(env, "--influx-timeout-ms", "2000")
    records = kpi_records(site_id, machines=20, windows=30)  # 601 records over ~outage + 10 s
    streamer = Streamer(stack, sink.topics["kpis"], records, per_s=len(records) / (outage_s + 10))  # type: ignore[attr-defined]
    sink.start()
    streamer.start()
    wait_for(lambda: count_points(mine, KPI_DATABASE, site_id) > 0, 30, "the first writes")
    stack_cmd(down)
    stopped_at = time.monotonic()
    wait_for(lambda: "event=sink.paused" in sink.text(), 20, "the sink to pause")
    time.sleep(max(0.0, outage_s - (time.monotonic() - stopped_at)))
    assert streamer.is_alive(), "the producer finished during the outage: not mid-stream"
    stack_cmd(up)
    streamer.finish()
    _check_all(mine, site_id, records, 40, sink.text())
    log = sink.text()
    assert "event=sink.write_failed" in log and "event=sink.resumed" in log
    assert "event=sink.batch_dropped" not in log
