"""The three real servers the platform needs, as local processes: Mosquitto, Kafka (KRaft), InfluxDB 1.x.

Each `Server` knows how to check its installation, write its configuration under the stack
directory, build its command line, tell when it is ready, and report its version. The process
mechanics (pid files, stopping, waiting) are in `process.py`; the orchestration in `manager.py`.
"""

from __future__ import annotations

import base64
import getpass
import json
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brain.influx_admin import DATABASES as _DATABASES
from brain.influx_admin import InfluxAdminError
from brain.influx_admin import ensure_databases as _ensure_databases
from brain.influx_admin import influxql as influxql  # re-exported for the tests
from brain.kafka_admin import PLATFORM_TOPICS
from brain.stack.process import StackError, port_open

PACKAGE_DIR = Path(__file__).resolve().parent


def new_cluster_id() -> str:
    """A KRaft cluster id: a random UUID in URL-safe base64, 22 characters — never starting with
    '-', which `kafka-storage format -t` would take for an option ("expected one argument"; 1 id
    in 64 did, and a stack failed to start now and then). Kafka's own `Uuid.randomUuid` redraws
    such ids for the same reason."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def read_versions() -> dict[str, str]:
    """The pinned server versions, shared with the Makefile and the install scripts."""
    out = {}
    for line in (PACKAGE_DIR / "versions.env").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip()
    return out


@dataclass(frozen=True)
class StackConfig:
    """Where the stack keeps its state and which ports it listens on (all overridable)."""

    root: Path
    cache: Path
    host: str = "127.0.0.1"
    mqtt_port: int = 1883
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    influx_port: int = 8086
    influx_rpc_port: int = 8088
    mqtt_tls_port: int = 8883
    # Secure MQTT: no anonymous clients, a user per factory, the ACL, and a TLS listener when
    # `brain tls init` made certificates (see security.py).
    secure: bool = False
    versions: dict[str, str] = field(default_factory=read_versions)


class Server:
    """Base class: one server process under `<root>/<name>/`."""

    name = ""
    marker = ""  # a string in the process's command line, guards against recycled pids
    ready_timeout_s = 60.0

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.dir = config.root / self.name
        self.pid_file = self.dir / "pid"
        self.log_file = self.dir / f"{self.name}.log"

    @property
    def ports(self) -> list[int]:
        raise NotImplementedError

    @property
    def address(self) -> str:
        raise NotImplementedError

    def check_installed(self) -> None:
        raise NotImplementedError

    def prepare(self) -> None:
        """Write configuration and initialise data directories (idempotent)."""

    def argv(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def after_ready(self) -> None:
        """Create what the platform expects (topics, databases); idempotent."""

    def version(self) -> str:
        raise NotImplementedError

    @property
    def data_dir(self) -> Path:
        return self.dir / "data"


class Mosquitto(Server):
    name = "mosquitto"
    marker = "mosquitto"
    ready_timeout_s = 20.0

    @property
    def ports(self) -> list[int]:
        return [self.config.mqtt_port] + ([self.config.mqtt_tls_port] if self.tls_files else [])

    @property
    def address(self) -> str:
        plain = f"mqtt://{self.config.host}:{self.config.mqtt_port}"
        return plain + (f" mqtts://{self.config.host}:{self.config.mqtt_tls_port}" if self.tls_files else "")

    @property
    def passwd_file(self) -> Path:
        return self.dir / "passwd"

    @property
    def tls_dir(self) -> Path:
        return self.config.root / "tls"

    @property
    def tls_files(self) -> dict[str, Path] | None:
        """The server's TLS files when secure mode is on and `brain tls init` made them."""
        files = {n: self.tls_dir / n for n in ("ca.crt", "server.crt", "server.key")}
        return files if self.config.secure and all(p.exists() for p in files.values()) else None

    def check_installed(self) -> None:
        if not shutil.which("mosquitto"):
            raise StackError(
                "mosquitto is not installed: run `make servers` "
                "(or `apt-get install mosquitto mosquitto-clients`)"
            )

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = [
            "# written by `brain stack up`; edits are overwritten",
            "per_listener_settings false",
            f"listener {self.config.mqtt_port} {self.config.host}",
        ]
        if self.tls_files:
            tls = self.tls_files
            conf += [
                f"listener {self.config.mqtt_tls_port} {self.config.host}",
                f"cafile {tls['ca.crt']}",
                f"certfile {tls['server.crt']}",
                f"keyfile {tls['server.key']}",
                "tls_version tlsv1.2",
            ]
        if self.config.secure:
            from brain.stack.security import ACL

            if not self.passwd_file.exists():
                self.passwd_file.touch(mode=0o600)
            (self.dir / "acl").write_text(ACL)
            conf += [
                "allow_anonymous false",
                f"password_file {self.passwd_file}",
                f"acl_file {self.dir / 'acl'}",
            ]
        else:
            conf += ["allow_anonymous true"]
        conf += [
            "persistence true",
            f"persistence_location {self.data_dir}/",
            # Save the in-memory store every second: a crash loses at most one second of queue.
            "autosave_interval 1",
            "log_dest stdout",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "connection_messages false",
            # Queued QoS 1 messages for a persistent session (the bridge) while it is away.
            "max_queued_messages 1000000",
            "max_queued_bytes 0",
            "persistent_client_expiration 7d",
            # Started as root, mosquitto drops to user `mosquitto` and cannot write its store.
            f"user {getpass.getuser()}",
        ]
        (self.dir / "mosquitto.conf").write_text("\n".join(conf) + "\n")

    def argv(self) -> list[str]:
        return [shutil.which("mosquitto") or "mosquitto", "-c", str(self.dir / "mosquitto.conf")]

    def ready(self) -> bool:
        if self.config.secure:  # anonymous CONNECT is refused by design: the port answering is enough
            return port_open(self.config.host, self.config.mqtt_port)
        return port_open(self.config.host, self.config.mqtt_port) and _mqtt_connects(
            self.config.host, self.config.mqtt_port
        )

    def version(self) -> str:
        out = subprocess.run(["mosquitto", "-h"], capture_output=True, text=True, check=False).stdout
        first = out.splitlines()[0] if out else ""
        return first.replace("mosquitto version", "").strip() or "unknown"


def _mqtt_connects(host: str, port: int) -> bool:
    import paho.mqtt.client as mqtt

    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"brain-stack-probe-{uuid.uuid4().hex[:8]}"
    )
    try:
        client.connect(host, port, keepalive=5)
        client.loop(timeout=1.0)
        ok = client.is_connected()
        client.disconnect()
        return ok
    except OSError:
        return False


class Kafka(Server):
    name = "kafka"
    marker = "kafka.Kafka"
    ready_timeout_s = 120.0

    @property
    def libs(self) -> Path:
        return self.config.cache / f"kafka-{self.config.versions['KAFKA_VERSION']}" / "libs"

    @property
    def ports(self) -> list[int]:
        return [self.config.kafka_port, self.config.kafka_controller_port]

    @property
    def address(self) -> str:
        return f"{self.config.host}:{self.config.kafka_port}"

    def check_installed(self) -> None:
        java = shutil.which("java")
        if not java:
            raise StackError("Java 17+ is required for Kafka: `apt-get install openjdk-17-jre-headless`")
        if not (self.libs.parent / ".complete").exists():
            raise StackError(
                f"Kafka {self.config.versions['KAFKA_VERSION']} jars are not in {self.libs}: "
                "run `make servers` (or `brain stack install`)"
            )

    def _java(self, main: str, *args: str, heap: str = "-Xmx128m") -> list[str]:
        return [
            shutil.which("java") or "java",
            heap,
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.dir / 'log4j2.properties'}",
            "-cp",
            f"{self.libs}/*",
            main,
            *args,
        ]

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        c = self.config
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{c.host}:{c.kafka_controller_port}",
            "listeners": f"PLAINTEXT://{c.host}:{c.kafka_port},CONTROLLER://{c.host}:{c.kafka_controller_port}",
            "advertised.listeners": f"PLAINTEXT://{c.host}:{c.kafka_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "6",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "log.cleaner.dedupe.buffer.size": "4194304",
            "log.retention.hours": "168",
            "auto.create.topics.enable": "true",
        }
        (self.dir / "server.properties").write_text(
            "# written by `brain stack up`; edits are overwritten\n"
            + "".join(f"{k}={v}\n" for k, v in props.items())
        )
        (self.dir / "log4j2.properties").write_text(
            "status = warn\n"
            "appender.out.type = Console\nappender.out.name = OUT\n"
            "appender.out.layout.type = PatternLayout\nappender.out.layout.pattern = [%d] %p %m (%c)%n\n"
            "rootLogger.level = INFO\nrootLogger.appenderRefs = out\nrootLogger.appenderRef.out.ref = OUT\n"
            "logger.state.name = state.change.logger\nlogger.state.level = WARN\n"
            "logger.request.name = kafka.request.logger\nlogger.request.level = WARN\n"
        )
        if not (self.data_dir / "meta.properties").exists():
            cluster_file = self.dir / "cluster.id"
            if not cluster_file.exists() or cluster_file.read_text().startswith("-"):
                cluster_file.write_text(new_cluster_id())
            cmd = self._java(
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_file.read_text().strip(),
                "-c",
                str(self.dir / "server.properties"),
                "-g",
            )
            result = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise StackError(
                    f"formatting Kafka's storage failed ({' '.join(cmd[-6:])}):\n"
                    f"{result.stdout}{result.stderr}"
                )

    def argv(self) -> list[str]:
        return self._java("kafka.Kafka", str(self.dir / "server.properties"), heap="-Xmx768m")

    def ready(self) -> bool:
        if not port_open(self.config.host, self.config.kafka_port):
            return False
        try:
            self._admin().close()
        except Exception:
            return False
        return True

    def _admin(self):
        from kafka import KafkaAdminClient

        return KafkaAdminClient(
            bootstrap_servers=self.address, client_id="brain-stack", request_timeout_ms=5000
        )

    def after_ready(self) -> None:
        # the stack's own replication (1/1 on one broker), whatever the environment says
        ensure_topics(self.address, replication_factor=1, min_insync_replicas=1)

    def version(self) -> str:
        return self.config.versions["KAFKA_VERSION"]


def ensure_topics(
    bootstrap: str,
    topics: dict[str, int] | None = None,
    client_kwargs: dict[str, Any] | None = None,
    *,
    replication_factor: int | None = None,
    min_insync_replicas: int | None = None,
) -> None:
    """`brain.kafka_admin.ensure_topics` for callers that hold a bootstrap string and kafka-python
    client settings (the stack itself, tests, `processors/cli.py`): the platform's topics by
    default; RF and min ISR from the arguments, else from the environment
    (`BRAIN_KAFKA_REPLICATION_FACTOR`, `BRAIN_KAFKA_MIN_INSYNC_REPLICAS`; 1/1 when unset)."""
    from dataclasses import replace

    from kafka import KafkaAdminClient

    from brain.kafka_admin import ensure_topics as ensure
    from brain.settings import Settings

    settings = replace(Settings.from_env(), kafka_bootstrap=bootstrap)
    settings = settings.with_replication(replication_factor, min_insync_replicas)
    options = {"client_id": "brain-stack", "request_timeout_ms": 15000, **(client_kwargs or {})}
    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), **options)
    try:
        ensure(settings, topics or PLATFORM_TOPICS, admin=admin)
    finally:
        admin.close()


class InfluxDB(Server):
    name = "influxdb"
    marker = "influxd"
    ready_timeout_s = 60.0

    @property
    def binary(self) -> Path:
        return self.config.cache / f"influxdb-{self.config.versions['INFLUXDB_VERSION']}" / "bin" / "influxd"

    @property
    def ports(self) -> list[int]:
        return [self.config.influx_port, self.config.influx_rpc_port]

    @property
    def address(self) -> str:
        return f"http://{self.config.host}:{self.config.influx_port}"

    def check_installed(self) -> None:
        if not self.binary.exists():
            raise StackError(
                f"influxd {self.config.versions['INFLUXDB_VERSION']} is not built at {self.binary}: "
                "run `make servers` (or `brain stack install`); it needs Go and Rust"
            )

    def prepare(self) -> None:
        for sub in ("meta", "data", "wal"):
            (self.data_dir / sub).mkdir(parents=True, exist_ok=True)
        c = self.config
        (self.dir / "influxdb.conf").write_text(f"""# written by `brain stack up`; edits are overwritten
reporting-disabled = true
bind-address = "{c.host}:{c.influx_rpc_port}"
[meta]
  dir = "{self.data_dir / "meta"}"
[data]
  dir = "{self.data_dir / "data"}"
  wal-dir = "{self.data_dir / "wal"}"
  query-log-enabled = false
[http]
  enabled = true
  bind-address = "{c.host}:{c.influx_port}"
  flux-enabled = true
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
""")

    def argv(self) -> list[str]:
        return [str(self.binary), "-config", str(self.dir / "influxdb.conf")]

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.address}/health", timeout=2) as resp:
                return json.load(resp).get("status") == "pass"
        except (OSError, ValueError, urllib.error.URLError):
            return False

    def after_ready(self) -> None:
        ensure_databases(self.address)

    def version(self) -> str:
        try:
            with urllib.request.urlopen(f"{self.address}/health", timeout=2) as resp:
                reported = str(json.load(resp).get("version", "unknown"))
        except (OSError, ValueError):
            return self.config.versions["INFLUXDB_VERSION"] + " (not running)"
        # `go install` leaves main.version empty, so influxd says "unknown": report the pinned one.
        return reported if reported != "unknown" else self.config.versions["INFLUXDB_VERSION"]


def ensure_databases(
    url: str, *, token: str = "", databases: dict[str, tuple[str, str]] | None = None
) -> None:
    """The sink's databases (brain.influx_admin), with a rejected statement as a StackError."""
    try:
        _ensure_databases(url, token=token, databases=databases or _DATABASES)
    except InfluxAdminError as exc:
        raise StackError(str(exc)) from exc


def all_servers(config: StackConfig) -> list[Server]:
    """In start order: storage first, then the broker, then the MQTT front door."""
    return [InfluxDB(config), Kafka(config), Mosquitto(config)]
