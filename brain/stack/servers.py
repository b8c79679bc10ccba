"""The three real servers the platform needs, as local processes: Mosquitto, Kafka (KRaft), InfluxDB 1.x.

Each `Server` (base.py) knows how to check its installation, write its configuration under the stack
directory, build its command line, tell when it is ready, and report its version. The process
mechanics (pid files, stopping, waiting) are in `process.py`; the orchestration in `manager.py`.
"""

from __future__ import annotations

import getpass
import json
import shutil
import subprocess
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from brain.influx_admin import DATABASES as _DATABASES
from brain.influx_admin import InfluxAdminError
from brain.influx_admin import ensure_databases as _ensure_databases
from brain.influx_admin import influxql as influxql  # re-exported for the tests
from brain.kafka_admin import PLATFORM_TOPICS
from brain.stack.base import PACKAGE_DIR as PACKAGE_DIR
from brain.stack.base import Server as Server
from brain.stack.base import StackConfig as StackConfig
from brain.stack.base import read_versions as read_versions
from brain.stack.kafka import Kafka as Kafka
from brain.stack.kafka import kafka_nodes
from brain.stack.kafka import new_cluster_id as new_cluster_id
from brain.stack.process import StackError, port_open


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

    explicit = replication_factor is not None and min_insync_replicas is not None
    settings = replace(Settings() if explicit else Settings.from_env(), kafka_bootstrap=bootstrap)
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
    return [InfluxDB(config), *kafka_nodes(config), Mosquitto(config)]
