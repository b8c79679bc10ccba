"""What every local server shares: the stack's configuration (directories, ports, versions, the
Kafka cluster size) and the `Server` interface that `manager.py` drives."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


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
    # Kafka: 1 broker (`.stack/kafka/`, the default) or a KRaft cluster of N combined
    # broker+controller nodes `kafka-1..N` (`.stack/kafka-<i>/`). Node i listens on
    # kafka_ports[i-1] / kafka_controller_ports[i-1]; by default kafka_port + 2(i-1) and
    # kafka_controller_port + 2(i-1) (9092/9093, 9094/9095, 9096/9097).
    kafka_brokers: int = 1
    kafka_ports: tuple[int, ...] = ()
    kafka_controller_ports: tuple[int, ...] = ()
    versions: dict[str, str] = field(default_factory=read_versions)

    def kafka_node_ports(self, node_id: int) -> tuple[int, int]:
        """(client port, controller port) of Kafka node `node_id` (1-based)."""
        i = node_id - 1
        port = self.kafka_ports[i] if i < len(self.kafka_ports) else self.kafka_port + 2 * i
        ctl = (
            self.kafka_controller_ports[i]
            if i < len(self.kafka_controller_ports)
            else self.kafka_controller_port + 2 * i
        )
        return port, ctl

    @property
    def kafka_bootstrap(self) -> str:
        """What a client needs: every node's address."""
        return ",".join(
            f"{self.host}:{self.kafka_node_ports(n)[0]}" for n in range(1, self.kafka_brokers + 1)
        )

    @property
    def kafka_replication_factor(self) -> int:
        """RF of the stack's topics and Kafka's internal ones: 1 on one broker, 3 on 3+."""
        return min(3, self.kafka_brokers)

    @property
    def kafka_min_insync_replicas(self) -> int:
        """2 of 3 replicas acknowledge an `acks=all` write: one broker may be down."""
        return 2 if self.kafka_replication_factor >= 3 else 1


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
