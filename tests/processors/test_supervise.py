"""`brain process --workers N` keeps N workers running (processors/supervise.py), on fake
processes; the real one: tests/processors/test_stream_kafka.py (a worker SIGKILLed and
restarted, every final record still equal to `brain kpi`)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from itertools import count
from pathlib import Path

import pytest

from processors.supervise import Supervisor, restart_delay

_pids = count(1000)
ROOT = Path(__file__).resolve().parents[2]


class _Proc:
    """Exits with `code` after `after_s` (None: runs until terminated)."""

    def __init__(self, code: int | None, after_s: float = 0.0) -> None:
        self.pid, self.code, self.until = next(_pids), code, time.monotonic() + after_s
        self.terminated = False

    def poll(self) -> int | None:
        if self.terminated:
            return -15
        return self.code if self.code is not None and time.monotonic() >= self.until else None

    def terminate(self) -> None:
        self.terminated = True

    def kill(self) -> None:
        self.terminated = True

    def wait(self, timeout: float | None = None) -> int:
        return -15


@pytest.mark.parametrize(
    ("uptime", "quick", "expected"),
    [
        (60.0, 3, (0.0, 0)),  # it ran a while: at once, and the count starts over
        (1.0, 0, (1.0, 1)),
        (1.0, 1, (2.0, 2)),
        (1.0, 4, (16.0, 5)),
        (1.0, 9, (30.0, 10)),  # capped
    ],
)
def test_restart_delay(uptime: float, quick: int, expected: tuple[float, int]) -> None:
    assert restart_delay(uptime, quick, min_uptime_s=10.0, max_delay_s=30.0) == expected


def test_a_worker_that_exits_is_started_again_and_stop_terminates_all() -> None:
    started: list[_Proc] = []
    plan = [_Proc(None), _Proc(70, 0.05), _Proc(None)]  # slot 0, slot 1 (dies), slot 1 again

    def popen(argv: list[str]) -> _Proc:
        started.append(plan[len(started)])
        if len(started) == 3:
            sup.request_stop()  # the restart happened: a SIGTERM now
        return started[-1]

    sup = Supervisor(["worker"], 2, min_uptime_s=10.0, max_delay_s=0.1, popen=popen, poll_s=0.01)
    assert sup.run() == 0
    assert len(started) == 3
    assert started[0].terminated and started[2].terminated
    assert sup.slots[1].quick_exits == 1


def test_a_config_error_stops_every_worker_and_is_the_exit_code() -> None:
    procs = [_Proc(None), _Proc(2, 0.05)]
    sup = Supervisor(["worker"], 2, popen=lambda argv: procs.pop(0), poll_s=0.01)
    first = procs[0]
    assert sup.run() == 2
    assert first.terminated and not procs


def test_a_config_error_after_a_restart_is_backed_off_not_fatal() -> None:
    """The config file edited with a typo while the workers run: the healthy ones keep running."""
    plan = [_Proc(None), _Proc(70, 0.02), _Proc(2, 0.02), _Proc(None)]
    started: list[_Proc] = []

    def popen(argv: list[str]) -> _Proc:
        started.append(plan[len(started)])
        if len(started) == 4:
            sup.request_stop()
        return started[-1]

    sup = Supervisor(["worker"], 2, min_uptime_s=10.0, max_delay_s=0.05, popen=popen, poll_s=0.01)
    assert sup.run() == 0
    assert len(started) == 4 and started[0].terminated


SUPERVISOR = """
import sys, time
from processors.supervise import Supervisor, start_worker

def popen(argv):
    proc = start_worker(argv)
    print(proc.pid, flush=True)
    return proc

Supervisor([sys.executable, "-c", "import time; time.sleep(120)"], 1, popen=popen).run()
"""


def test_workers_die_with_a_killed_supervisor() -> None:
    sup = subprocess.Popen([sys.executable, "-c", SUPERVISOR], stdout=subprocess.PIPE, cwd=ROOT, text=True)
    try:
        assert sup.stdout is not None
        child = int(sup.stdout.readline())
        assert _alive(child)
        sup.send_signal(signal.SIGKILL)
        sup.wait(10)
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child), "the worker outlived its killed supervisor"
    finally:
        if sup.poll() is None:
            sup.kill()


def _alive(pid: int) -> bool:
    """Running (a zombie — exited, not yet reaped — counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
