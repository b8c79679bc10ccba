"""Apache Kafka (KRaft) as local processes: one broker, or a cluster of N nodes on this machine.

One broker (the default): `.stack/kafka/`, node id 1, combined broker+controller roles, a
one-voter static quorum, RF 1 everywhere, `-Xmx768m`. A cluster (`brain stack up --kafka-brokers 3`):
nodes `kafka-1..N` in `.stack/kafka-<i>/`, each a JVM with its own ports, node id, log dir and a
small heap (`-Xmx384m`), combined roles, an N-voter static quorum (formatted without
`--standalone`, one cluster id for all), and replication 3 / min ISR 2 for Kafka's internal topics
and the stack's own (`StackConfig.kafka_replication_factor`).
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from brain.stack.base import Server, StackConfig
from brain.stack.process import StackError, port_open

LOG4J2 = (
    "status = warn\n"
    "appender.out.type = Console\nappender.out.name = OUT\n"
    "appender.out.layout.type = PatternLayout\nappender.out.layout.pattern = [%d] %p %m (%c)%n\n"
    "rootLogger.level = INFO\nrootLogger.appenderRefs = out\nrootLogger.appenderRef.out.ref = OUT\n"
    "logger.state.name = state.change.logger\nlogger.state.level = WARN\n"
    "logger.request.name = kafka.request.logger\nlogger.request.level = WARN\n"
)


def new_cluster_id() -> str:
    """A KRaft cluster id: a random UUID in URL-safe base64, 22 characters — never starting with
    '-', which `kafka-storage format -t` would take for an option ("expected one argument"; 1 id
    in 64 did, and a stack failed to start now and then). Kafka's own `Uuid.randomUuid` redraws
    such ids for the same reason."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def kafka_libs(config: StackConfig) -> Path:
    return config.cache / f"kafka-{config.versions['KAFKA_VERSION']}" / "libs"


def java_command(
    config: StackConfig, main: str, *args: str, heap: str, log4j: Path | None = None
) -> list[str]:
    """`java` on the cached Kafka jars (the broker, the storage tool, MirrorMaker 2)."""
    opts = [f"-Dlog4j2.configurationFile={log4j}"] if log4j else []
    return [
        shutil.which("java") or "java",
        heap,
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        *opts,
        "-cp",
        f"{kafka_libs(config)}/*",
        main,
        *args,
    ]


def node_properties(config: StackConfig, node_id: int, data_dir: Path) -> dict[str, str]:
    """server.properties of one node (pure: the cluster layout is tested without a JVM)."""
    c, n = config, config.kafka_brokers
    port, ctl = c.kafka_node_ports(node_id)
    rf, isr = str(c.kafka_replication_factor), str(c.kafka_min_insync_replicas)
    voters = ",".join(f"{i}@{c.host}:{c.kafka_node_ports(i)[1]}" for i in range(1, n + 1))
    props = {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://{c.host}:{port},CONTROLLER://{c.host}:{ctl}",
        "advertised.listeners": f"PLAINTEXT://{c.host}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": "1",
        "offsets.topic.replication.factor": rf,
        "offsets.topic.num.partitions": "6",
        "transaction.state.log.replication.factor": rf,
        "transaction.state.log.min.isr": isr,
        "transaction.state.log.num.partitions": "1",
        "share.coordinator.state.topic.replication.factor": rf,
        "share.coordinator.state.topic.min.isr": isr,
        "group.initial.rebalance.delay.ms": "0",
        "log.cleaner.dedupe.buffer.size": "4194304",
        "log.retention.hours": "168",
        "auto.create.topics.enable": "true",
    }
    if n > 1:
        # topics created without an explicit RF (auto-created, Faust's) and __consumer_offsets
        # replicate like the stack's own; min ISR is a cluster default written at format time
        props.update({"default.replication.factor": rf, "min.insync.replicas": isr})
    return props


class Kafka(Server):
    """One Kafka node: the single broker `kafka`, or node `kafka-<id>` of a cluster."""

    marker = "kafka.Kafka"
    ready_timeout_s = 120.0

    def __init__(self, config: StackConfig, node_id: int = 1) -> None:
        self.node_id = node_id
        self.clustered = config.kafka_brokers > 1
        self.name = f"kafka-{node_id}" if self.clustered else "kafka"
        super().__init__(config)

    @property
    def libs(self) -> Path:
        return kafka_libs(self.config)

    @property
    def ports(self) -> list[int]:
        return list(self.config.kafka_node_ports(self.node_id))

    @property
    def address(self) -> str:
        return f"{self.config.host}:{self.ports[0]}"

    @property
    def cluster_id_file(self) -> Path:
        # one id for every node of a cluster (each node's storage is formatted with it)
        return self.config.root / "kafka-cluster.id" if self.clustered else self.dir / "cluster.id"

    def check_installed(self) -> None:
        if not shutil.which("java"):
            raise StackError("Java 17+ is required for Kafka: `apt-get install openjdk-17-jre-headless`")
        if not (self.libs.parent / ".complete").exists():
            raise StackError(
                f"Kafka {self.config.versions['KAFKA_VERSION']} jars are not in {self.libs}: "
                "run `make servers` (or `brain stack install`)"
            )

    def _java(self, main: str, *args: str, heap: str = "-Xmx128m") -> list[str]:
        return java_command(self.config, main, *args, heap=heap, log4j=self.dir / "log4j2.properties")

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        props = node_properties(self.config, self.node_id, self.data_dir)
        (self.dir / "server.properties").write_text(
            "# written by `brain stack up`; edits are overwritten\n"
            + "".join(f"{k}={v}\n" for k, v in props.items())
        )
        (self.dir / "log4j2.properties").write_text(LOG4J2)
        if not (self.data_dir / "meta.properties").exists():
            cluster_file = self.cluster_id_file
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
        heap = "-Xmx384m" if self.clustered else "-Xmx768m"
        return self._java("kafka.Kafka", str(self.dir / "server.properties"), heap=heap)

    def ready(self) -> bool:
        """This node answers a metadata request. A KRaft broker opens its client listener only
        once it is registered and unfenced, so in a cluster this also means "can lead"."""
        if not port_open(self.config.host, self.ports[0]):
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
        from brain.stack.servers import ensure_topics

        # the stack's own replication (1/1 on one broker, 3/2 on a cluster), whatever the
        # environment says; on a cluster once every node has registered (RF 3 needs 3 brokers)
        c = self.config
        if self.clustered:
            self._wait_for_brokers(timeout_s=60.0)
        ensure_topics(
            c.kafka_bootstrap,
            replication_factor=c.kafka_replication_factor,
            min_insync_replicas=c.kafka_min_insync_replicas,
        )

    def _wait_for_brokers(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        live = 0
        while time.monotonic() < deadline:
            try:
                admin = self._admin()
                try:
                    brokers = admin.describe_cluster().get("brokers", [])
                finally:
                    admin.close()
                live = sum(1 for b in brokers if not b.get("is_fenced"))
            except Exception:
                live = 0
            if live >= self.config.kafka_brokers:
                return
            time.sleep(0.5)
        raise StackError(
            f"{self.name}: {live} of {self.config.kafka_brokers} Kafka nodes registered after "
            f"{timeout_s:.0f} s; `brain stack status` and `brain stack logs kafka` tell which is missing"
        )

    def version(self) -> str:
        return self.config.versions["KAFKA_VERSION"]


def kafka_nodes(config: StackConfig) -> list[Kafka]:
    """The single broker, or every node of the cluster."""
    return [Kafka(config, i) for i in range(1, config.kafka_brokers + 1)]
