"""Run N worker processes of one command and keep them running (`brain process --workers N`).

A worker that exits is started again: at once when it had run for a while (`min_uptime_s`),
else after a back-off that doubles per quick exit up to `max_delay_s` — a worker that cannot
start (Kafka away, a bug at start) does not spin. Exit code 2 from a worker's FIRST start is a
usage or config error: no restart helps, so every worker is stopped and the supervisor exits 2
(later, e.g. the config file edited with a typo, it is backed off like any exit: the healthy
workers keep running). SIGTERM/SIGINT stop the workers (SIGTERM, then SIGKILL after
`stop_timeout_s`) and end the supervisor with 0. On Linux each worker gets SIGTERM when the
supervisor dies (`PR_SET_PDEATHSIG`), so a killed supervisor leaves no orphan behind.
Log events: `process.worker_start` (slot, pid), `process.worker_exit` (slot, pid, code,
uptime_s, restart_in_s), `process.workers_stop`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from brain import logs

log = logging.getLogger("brain.process")

USAGE_ERROR = 2


def restart_delay(
    uptime_s: float, quick_exits: int, min_uptime_s: float, max_delay_s: float
) -> tuple[float, int]:
    """(seconds to wait before the restart, quick exits so far) after a worker exited."""
    if uptime_s >= min_uptime_s:
        return 0.0, 0
    quick_exits += 1
    return min(max_delay_s, float(2 ** (quick_exits - 1))), quick_exits


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the supervisor dies (Linux prctl PR_SET_PDEATHSIG)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: a killed supervisor leaves its workers running


def start_worker(argv: list[str]) -> subprocess.Popen:
    return subprocess.Popen(argv, preexec_fn=_die_with_parent)  # the parent is single-threaded


@dataclass(slots=True)
class _Slot:
    proc: Any = None
    starts: int = 0
    started: float = 0.0
    quick_exits: int = 0
    restart_at: float | None = None


class Supervisor:
    def __init__(
        self,
        argv: Sequence[str],
        n: int,
        *,
        min_uptime_s: float = 10.0,
        max_delay_s: float = 30.0,
        stop_timeout_s: float = 30.0,
        popen: Callable[[list[str]], Any] | None = None,
        poll_s: float = 0.2,
    ) -> None:
        self.argv, self.n = list(argv), n
        self.min_uptime_s, self.max_delay_s, self.stop_timeout_s = min_uptime_s, max_delay_s, stop_timeout_s
        self.popen, self.poll_s = popen or start_worker, poll_s
        self.slots = [_Slot() for _ in range(n)]
        self.stopping = False

    def request_stop(self, *_: Any) -> None:
        self.stopping = True

    def run(self) -> int:
        previous = {s: signal.signal(s, self.request_stop) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            for i in range(self.n):
                self._start(i)
            code = self._watch()
        finally:
            self._stop_all()
            for s, handler in previous.items():
                signal.signal(s, handler)
        return code

    def _start(self, i: int) -> None:
        slot = self.slots[i]
        slot.proc, slot.started, slot.restart_at = self.popen(self.argv), time.monotonic(), None
        slot.starts += 1
        logs.event(log, "process.worker_start", slot=i, pid=slot.proc.pid)

    def _watch(self) -> int:
        while not self.stopping:
            for i, slot in enumerate(self.slots):
                if self.stopping:
                    break
                if slot.restart_at is None:
                    if self._exited(i, slot):
                        return USAGE_ERROR
                elif time.monotonic() >= slot.restart_at:
                    self._start(i)
            time.sleep(self.poll_s)
        return 0

    def _exited(self, i: int, slot: _Slot) -> bool:
        """Has the worker of slot `i` exited with a config error on its first start (fatal)?
        Any other exit schedules its restart."""
        code = slot.proc.poll()
        if code is None:
            return False
        uptime = time.monotonic() - slot.started
        fatal = code == USAGE_ERROR and slot.starts == 1
        delay: float | None = None
        if not fatal:
            delay, slot.quick_exits = restart_delay(
                uptime, slot.quick_exits, self.min_uptime_s, self.max_delay_s
            )
            slot.restart_at = time.monotonic() + delay
        logs.event(log, "process.worker_exit", logging.ERROR, slot=i, pid=slot.proc.pid, code=code,
                   uptime_s=round(uptime, 1), restart_in_s=delay)  # fmt: skip
        return fatal

    def _stop_all(self) -> None:
        running = [s.proc for s in self.slots if s.proc is not None and s.proc.poll() is None]
        logs.event(log, "process.workers_stop", running=len(running))
        for p in running:
            p.terminate()
        deadline = time.monotonic() + self.stop_timeout_s
        for p in running:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
