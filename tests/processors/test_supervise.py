"""`brain process --workers N` keeps N workers running (processors/supervise.py), on fake
processes; the real one: tests/processors/test_stream_kafka.py (a worker SIGKILLed and
restarted, every final record still equal to `brain kpi`)."""

from __future__ import annotations

import time
from itertools import count

import pytest

from processors.supervise import Supervisor, restart_delay

_pids = count(1000)


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
