"""Start, find and stop the local servers' processes: pid files, port owners, readiness waits.

Everything here is about OS processes; what each server needs lives in `servers.py`.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


class StackError(RuntimeError):
    """A server could not be installed, started or reached; the message says what to do."""


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def is_alive(pid: int, marker: str | None = None) -> bool:
    """True when `pid` runs and (if given) its command line contains `marker`.

    The marker guards against a recycled pid: we only ever signal the process we started.
    """
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[0] == "Z":  # zombie: exited, not yet reaped
        return False
    return marker is None or marker in cmdline


def spawn(
    argv: list[str],
    *,
    log_file: Path,
    pid_file: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    """Start a server detached from our session (survives the `brain` process), log to a file."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    pid_file.write_text(f"{proc.pid}\n")
    return proc.pid


def stop(pid: int, marker: str, *, timeout_s: float = 30.0) -> None:
    """SIGTERM the process group, wait, then SIGKILL what is left. Idempotent."""
    stop_together([(pid, marker)], timeout_s=timeout_s)


def stop_together(processes: list[tuple[int, str]], *, timeout_s: float = 30.0) -> None:
    """`stop` for several processes at once: SIGTERM to all, then wait for all. The nodes of a
    KRaft cluster stop this way: stopped one after the other, the last one has no controller
    quorum left for its controlled shutdown and hangs until the SIGKILL."""
    for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
        alive = [(pid, marker) for pid, marker in processes if is_alive(pid, marker)]
        if not alive:
            return
        for pid, _ in alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, sig)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and any(is_alive(p, m) for p, m in alive):
            for pid, _ in alive:
                _reap(pid)
            time.sleep(0.1)
    left = [pid for pid, marker in processes if is_alive(pid, marker)]
    if left:
        raise StackError(f"process {left[0]} did not stop after SIGKILL")


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Send a signal to a server's process group (used to freeze/resume in fault tests)."""
    os.killpg(pid, sig)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        return sock.connect_ex((host, port)) == 0


def port_owner(port: int) -> str:
    """Describe who listens on a TCP port, e.g. 'pid 1234 (java)', for a clear 'port in use' error."""
    try:
        out = subprocess.run(
            ["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "an unknown process (install iproute2 for `ss` to see which)"
    match = re.search(r'users:\(\("([^"]+)",pid=(\d+)', out)
    if match:
        return f"pid {match.group(2)} ({match.group(1)})"
    return "an unknown process" if out.strip() else "nothing (the port is free now)"


def wait_until(
    check: Callable[[], bool],
    *,
    timeout_s: float,
    what: str,
    alive: Callable[[], bool],
    log_file: Path,
    interval_s: float = 0.25,
) -> None:
    """Poll `check` until true; fail fast if the process died, with the tail of its log."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        if not alive():
            raise StackError(
                f"{what} exited during start-up; last log lines from {log_file}:\n" + tail(log_file, 15)
            )
        time.sleep(interval_s)
    raise StackError(f"{what} was not ready after {timeout_s:.0f} s; see {log_file}:\n" + tail(log_file, 15))


def tail(path: Path, lines: int) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read().decode(errors="replace")
    except FileNotFoundError:
        return "(no log yet)"
    return "\n".join(data.splitlines()[-lines:])
