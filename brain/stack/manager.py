"""Bring the local stack up and down, report its status: the orchestration behind `brain stack`."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path

from brain.logs import event
from brain.stack import process
from brain.stack.kafka import Kafka
from brain.stack.process import StackError
from brain.stack.servers import PACKAGE_DIR, Server, StackConfig, all_servers

log = logging.getLogger("brain.stack")


def _ports(name: str, text: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise StackError(f"{name}={text!r}: expected port numbers separated by commas") from None


def default_config(**overrides: object) -> StackConfig:
    """Stack config from the environment (BRAIN_STACK_DIR, BRAIN_CACHE, BRAIN_STACK_*_PORT,
    BRAIN_STACK_KAFKA_BROKERS, BRAIN_STACK_KAFKA_PORTS, BRAIN_STACK_KAFKA_CONTROLLER_PORTS)."""
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
    for key in ("kafka_ports", "kafka_controller_ports"):
        name = f"BRAIN_STACK_{key.upper()}"
        if env.get(name, "").strip():
            values[key] = _ports(name, env[name])
    if env.get("BRAIN_STACK_KAFKA_BROKERS", "").strip():
        try:
            values["kafka_brokers"] = int(env["BRAIN_STACK_KAFKA_BROKERS"])
        except ValueError:
            raise StackError(
                f"BRAIN_STACK_KAFKA_BROKERS={env['BRAIN_STACK_KAFKA_BROKERS']!r}: expected a number"
            ) from None
    values.update({k: v for k, v in overrides.items() if v is not None})
    # The cluster size sticks too (a marker written by `up`): `status`, `down`, `kill kafka-2`
    # then address the same nodes without the flag; `--kafka-brokers 1` goes back.
    brokers_file = Path(values["root"]) / "kafka-brokers"  # type: ignore[arg-type]
    if "kafka_brokers" not in values and brokers_file.exists():
        values["kafka_brokers"] = int(brokers_file.read_text().strip() or 1)
    brokers = int(values.get("kafka_brokers", 1))  # type: ignore[call-overload]
    if brokers < 1:
        raise StackError(f"--kafka-brokers / BRAIN_STACK_KAFKA_BROKERS={brokers}: expected 1 or more")
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


def remember_brokers(config: StackConfig) -> None:
    marker = config.root / "kafka-brokers"
    if config.kafka_brokers > 1:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(f"{config.kafka_brokers}\n")
    else:
        marker.unlink(missing_ok=True)


def client_env(config: StackConfig) -> dict[str, str]:
    """The variables a client of this stack needs (`brain stack up` prints them on a cluster
    and writes them to <root>/client.env for `set -a; . .stack/client.env`)."""
    return {
        "BRAIN_MQTT_URL": f"mqtt://{config.host}:{config.mqtt_port}",
        "BRAIN_KAFKA_BOOTSTRAP": config.kafka_bootstrap,
        "BRAIN_KAFKA_REPLICATION_FACTOR": str(config.kafka_replication_factor),
        "BRAIN_KAFKA_MIN_INSYNC_REPLICAS": str(config.kafka_min_insync_replicas),
        "BRAIN_INFLUX_URL": f"http://{config.host}:{config.influx_port}",
    }


def _stray_kafka(config: StackConfig) -> list[Server]:
    """Kafka nodes of the other mode (a single broker while a cluster is configured, or cluster
    nodes while one broker is) that still have a live pid: `down` stops them too."""
    current = {s.name for s in all_servers(config)}
    out: list[Server] = []
    for pid_file in sorted(config.root.glob("kafka*/pid")):
        name = pid_file.parent.name
        if name in current:
            continue
        if name == "kafka":
            node = Kafka(replace(config, kafka_brokers=1))
        elif name.startswith("kafka-") and name[6:].isdigit():
            node = Kafka(replace(config, kafka_brokers=max(2, int(name[6:]))), int(name[6:]))
        else:
            continue
        if running_pid(node) is not None:
            out.append(node)
    return out


def select(config: StackConfig, names: list[str] | None) -> list[Server]:
    """The servers named (all by default); on a cluster "kafka" names every Kafka node."""
    servers = all_servers(config)
    if not names:
        return servers
    known = {s.name: s for s in servers}
    aliases = {"kafka": [s.name for s in servers if isinstance(s, Kafka)]}
    unknown = [n for n in names if n not in known and n not in aliases]
    if unknown:
        raise StackError(
            f"unknown server {unknown[0]!r}; choose from {', '.join(sorted({*known, *aliases}))}"
        )
    wanted = {w for n in names for w in aliases.get(n, [n])}
    return [s for s in servers if s.name in wanted]


def running_pid(server: Server) -> int | None:
    pid = process.read_pid(server.pid_file)
    return pid if pid is not None and process.is_alive(pid, server.marker) else None


def start(server: Server) -> str:
    """Start one server unless it already runs; wait until it is ready. Returns what happened."""
    return start_many([server])[server.name]


def start_many(servers: list[Server]) -> dict[str, str]:
    """Start servers together, then wait for each: the nodes of a KRaft cluster must all run
    before any is ready (a 3-voter quorum elects no leader with one voter). `after_ready`
    (topics, databases) runs per server, for a cluster once, after its last node."""
    launched: dict[str, tuple[int, float] | str] = {}
    for server in servers:
        launched[server.name] = _launch(server)
    results = {}
    for server in servers:
        how = launched[server.name]
        if isinstance(how, str):
            pid = running_pid(server)
            if not server.ready():
                process.wait_until(
                    server.ready,
                    timeout_s=server.ready_timeout_s,
                    what=server.name,
                    alive=lambda s=server, p=pid: p is not None and process.is_alive(p, s.marker),
                    log_file=server.log_file,
                )
            results[server.name] = how
            continue
        pid, began = how
        # No marker check here: right after fork, /proc/<pid>/cmdline may still show our own python.
        process.wait_until(
            server.ready,
            timeout_s=server.ready_timeout_s,
            what=server.name,
            alive=lambda p=pid: process.is_alive(p),
            log_file=server.log_file,
        )
        results[server.name] = f"started (pid {pid}) in {time.monotonic() - began:.1f} s"
    kafka = [s for s in servers if isinstance(s, Kafka)]
    for server in servers:
        if not isinstance(server, Kafka) or server is kafka[-1]:
            server.after_ready()
    return results


def _launch(server: Server) -> tuple[int, float] | str:
    """Spawn `server` (pid, start time), or say it already runs."""
    server.check_installed()
    pid = running_pid(server)
    if pid is not None:
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
    return pid, began


def _port_var(server: Server, port: int) -> str:
    c = server.config
    if isinstance(server, Kafka) and server.clustered:
        return "KAFKA_PORTS" if port == server.ports[0] else "KAFKA_CONTROLLER_PORTS"
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


def stop_many(servers: list[Server]) -> dict[str, str]:
    """Stop servers together (the nodes of a Kafka cluster: see process.stop_together)."""
    if len(servers) == 1:
        return {servers[0].name: stop(servers[0])}
    running = {s.name: running_pid(s) for s in servers}
    process.stop_together([(pid, s.marker) for s in servers if (pid := running[s.name]) is not None])
    out = {}
    for s in servers:
        s.pid_file.unlink(missing_ok=True)
        out[s.name] = "not running" if running[s.name] is None else f"stopped (pid {running[s.name]})"
    return out


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
    stray = _stray_kafka(config)
    if stray:
        raise StackError(
            f"{', '.join(s.name for s in stray)} still run{'s' if len(stray) == 1 else ''} from "
            f"{config.root}, but {config.kafka_brokers} Kafka broker(s) are asked for: "
            "`brain stack down` first (the data directories are separate)"
        )
    remember_secure(config)
    remember_brokers(config)
    chosen = select(config, names)
    for group in _start_groups(chosen):
        for server in group:
            event(log, "stack.start", server=server.name, address=server.address)
        for name, result in start_many(group).items():
            event(log, "stack.ready", server=name, result=result)
    config.root.mkdir(parents=True, exist_ok=True)
    (config.root / "client.env").write_text("".join(f"{k}={v}\n" for k, v in client_env(config).items()))


def _start_groups(servers: list[Server]) -> list[list[Server]]:
    """One group per server, except the Kafka nodes: they start together."""
    groups: list[list[Server]] = []
    for server in servers:
        if isinstance(server, Kafka) and groups and isinstance(groups[-1][0], Kafka):
            groups[-1].append(server)
        else:
            groups.append([server])
    return groups


def down(config: StackConfig, names: list[str] | None = None) -> None:
    servers = select(config, names)
    if not names:
        servers += _stray_kafka(config)
    for group in reversed(_start_groups(servers)):
        for name, result in stop_many(group).items():
            event(log, "stack.stop", server=name, result=result)


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
        (
            "mirrormaker2",
            lambda: _script("fetch-kafka.sh", config.versions["KAFKA_VERSION"], config, "kafka-mirror"),
        ),
        ("influxdb", lambda: _script("build-influxd.sh", config.versions["INFLUXDB_VERSION"], config)),
    ]
    for name, step in steps:
        began = time.monotonic()
        step()
        event(log, "stack.installed", server=name, seconds=round(time.monotonic() - began, 1))


def _script(name: str, version: str, config: StackConfig, *args: str) -> None:
    env = dict(os.environ, BRAIN_CACHE=str(config.cache))
    result = subprocess.run(["bash", str(PACKAGE_DIR / name), version, *args], env=env, check=False)
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
