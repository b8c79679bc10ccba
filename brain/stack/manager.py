"""Bring the local stack up and down, report its status: the orchestration behind `brain stack`."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from brain.logs import event
from brain.stack import process
from brain.stack.process import StackError
from brain.stack.servers import PACKAGE_DIR, Server, StackConfig, all_servers

log = logging.getLogger("brain.stack")


def default_config(**overrides: object) -> StackConfig:
    """Stack config from the environment (BRAIN_STACK_DIR, BRAIN_CACHE, BRAIN_STACK_*_PORT)."""
    env = os.environ
    values: dict[str, object] = {
        "root": Path(env.get("BRAIN_STACK_DIR", ".stack")).resolve(),
        "cache": Path(env.get("BRAIN_CACHE", Path.home() / ".cache" / "industrial-brain")),
    }
    for key in (
        "mqtt_port",
        "kafka_port",
        "kafka_controller_port",
        "influx_port",
        "influx_rpc_port",
        "mqtt_tls_port",
    ):
        name = f"BRAIN_STACK_{key.upper()}"
        if name in env:
            try:
                values[key] = int(env[name])
            except ValueError:
                raise StackError(f"{name}={env[name]!r}: expected a port number") from None
    values.update({k: v for k, v in overrides.items() if v is not None})
    # Secure mode sticks once chosen (a marker in the stack dir), so `status` and a later `up`
    # treat the broker the same way; `--no-secure` turns it off.
    marker = Path(values["root"]) / "mosquitto" / "secure"  # type: ignore[arg-type]
    secure = values.get("secure")
    if secure is None:
        secure = env.get("BRAIN_STACK_SECURE", "") in ("1", "true", "yes") or marker.exists()
    values["secure"] = bool(secure)
    return StackConfig(**values)  # type: ignore[arg-type]


def remember_secure(config: StackConfig) -> None:
    marker = config.root / "mosquitto" / "secure"
    if config.secure:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    else:
        marker.unlink(missing_ok=True)


def select(config: StackConfig, names: list[str] | None) -> list[Server]:
    servers = all_servers(config)
    if not names:
        return servers
    known = {s.name: s for s in servers}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise StackError(f"unknown server {unknown[0]!r}; choose from {', '.join(known)}")
    return [s for s in servers if s.name in names]


def running_pid(server: Server) -> int | None:
    pid = process.read_pid(server.pid_file)
    return pid if pid is not None and process.is_alive(pid, server.marker) else None


def start(server: Server) -> str:
    """Start one server unless it already runs; wait until it is ready. Returns what happened."""
    server.check_installed()
    pid = running_pid(server)
    if pid is not None:
        if not server.ready():
            process.wait_until(
                server.ready,
                timeout_s=server.ready_timeout_s,
                what=server.name,
                alive=lambda: process.is_alive(pid, server.marker),
                log_file=server.log_file,
            )
        server.after_ready()
        return f"already running (pid {pid})"
    for port in server.ports:
        # A server we just stopped may still be releasing its port: give it a few seconds.
        deadline = time.monotonic() + 10
        while process.port_open(server.config.host, port) and time.monotonic() < deadline:
            time.sleep(0.25)
        if process.port_open(server.config.host, port):
            raise StackError(
                f"{server.name}: port {port} on {server.config.host} is in use by "
                f"{process.port_owner(port)}; stop it or choose another port "
                f"(e.g. BRAIN_STACK_{_port_var(server, port)}=...)"
            )
    server.dir.mkdir(parents=True, exist_ok=True)
    server.prepare()
    began = time.monotonic()
    pid = process.spawn(server.argv(), log_file=server.log_file, pid_file=server.pid_file, cwd=server.dir)
    # No marker check here: right after fork, /proc/<pid>/cmdline may still show our own python.
    process.wait_until(
        server.ready,
        timeout_s=server.ready_timeout_s,
        what=server.name,
        alive=lambda: process.is_alive(pid),
        log_file=server.log_file,
    )
    server.after_ready()
    return f"started (pid {pid}) in {time.monotonic() - began:.1f} s"


def _port_var(server: Server, port: int) -> str:
    c = server.config
    for key in (
        "mqtt_port",
        "kafka_port",
        "kafka_controller_port",
        "influx_port",
        "influx_rpc_port",
        "mqtt_tls_port",
    ):
        if getattr(c, key) == port:
            return key.upper()
    return "PORT"


def stop(server: Server) -> str:
    pid = process.read_pid(server.pid_file)
    if pid is None or not process.is_alive(pid, server.marker):
        server.pid_file.unlink(missing_ok=True)
        return "not running"
    process.stop(pid, server.marker)
    server.pid_file.unlink(missing_ok=True)
    return f"stopped (pid {pid})"


def reload(server: Server) -> str:
    """SIGHUP: Mosquitto re-reads its password and ACL files without dropping clients."""
    pid = running_pid(server)
    if pid is None:
        return "not running"
    os.kill(pid, signal.SIGHUP)
    return f"reloaded (pid {pid})"


def kill(server: Server) -> str:
    """SIGKILL, no clean shutdown: for fault-injection tests."""
    pid = running_pid(server)
    if pid is None:
        return "not running"
    os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while process.is_alive(pid, server.marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return f"killed (pid {pid})"


def freeze(server: Server, resume: bool = False) -> str:
    """SIGSTOP (or SIGCONT) the server's process group: a hung server, for fault-injection tests."""
    pid = running_pid(server)
    if pid is None:
        return "not running"
    process.signal_group(pid, signal.SIGCONT if resume else signal.SIGSTOP)
    return f"{'resumed' if resume else 'frozen'} (pid {pid})"


def up(config: StackConfig, names: list[str] | None = None) -> None:
    remember_secure(config)
    for server in select(config, names):
        event(log, "stack.start", server=server.name, address=server.address)
        event(log, "stack.ready", server=server.name, result=start(server))


def down(config: StackConfig, names: list[str] | None = None) -> None:
    for server in reversed(select(config, names)):
        event(log, "stack.stop", server=server.name, result=stop(server))


@dataclass(frozen=True)
class Status:
    name: str
    state: str
    version: str
    address: str
    pid: int | None
    data_dir: Path


def status(config: StackConfig) -> list[Status]:
    out = []
    for server in all_servers(config):
        pid = running_pid(server)
        state = "stopped" if pid is None else "healthy" if server.ready() else "unhealthy"
        try:
            version = server.version()
        except Exception as exc:
            version = f"unknown ({exc})"
        out.append(Status(server.name, state, version, server.address, pid, server.data_dir))
    return out


def install(config: StackConfig) -> None:
    """Install or build what the servers need, into the version-keyed cache (idempotent)."""
    steps = [
        ("mosquitto", _install_mosquitto),
        ("chromium+fonts", _install_report_tools),
        ("kafka", lambda: _script("fetch-kafka.sh", config.versions["KAFKA_VERSION"], config)),
        ("influxdb", lambda: _script("build-influxd.sh", config.versions["INFLUXDB_VERSION"], config)),
    ]
    for name, step in steps:
        began = time.monotonic()
        step()
        event(log, "stack.installed", server=name, seconds=round(time.monotonic() - began, 1))


def _script(name: str, version: str, config: StackConfig) -> None:
    env = dict(os.environ, BRAIN_CACHE=str(config.cache))
    result = subprocess.run(["bash", str(PACKAGE_DIR / name), version], env=env, check=False)
    if result.returncode != 0:
        raise StackError(f"{name} failed (exit {result.returncode}); its log path is printed above")


def _install_mosquitto() -> None:
    import shutil

    if shutil.which("mosquitto") and shutil.which("mosquitto_pub"):
        return
    _apt_install(["mosquitto", "mosquitto-clients"], "mosquitto")


def _install_report_tools() -> None:
    """Headless Chromium (report.png) and a CJK font (zh reports, in Chromium and in the charts)."""
    import shutil

    have_browser = any(shutil.which(n) for n in ("chromium", "chromium-browser"))
    have_font = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc").exists()
    if have_browser and have_font:
        return
    _apt_install(["chromium", "fonts-noto-cjk"], "the reports' Chromium and CJK font")


def _apt_install(packages: list[str], what: str) -> None:
    """apt-get install (as root, or with sudo); a clear error where apt is not available."""
    import shutil

    by_hand = f"install {' '.join(packages)} with your package manager"
    if not shutil.which("apt-get"):
        raise StackError(f"{what} is missing and apt-get is not available here: {by_hand}")
    if os.geteuid() != 0 and not shutil.which("sudo"):
        raise StackError(f"{what} is missing; as root run: apt-get install {' '.join(packages)}")
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
    ):
        if subprocess.run(prefix + cmd, env=env, check=False).returncode != 0:
            raise StackError(f"`{' '.join(cmd)}` failed; {by_hand}")
