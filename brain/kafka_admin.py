"""Kafka administration the platform needs, in one place: topics and consumer-group operations.

    ensure_topics(settings, {TOPIC_KPIS: 6, f"{app}-machines-changelog": TopicSpec(6, compact=True)})

Topics are created with the settings' replication factor and `min.insync.replicas`
(`BRAIN_KAFKA_REPLICATION_FACTOR`, `BRAIN_KAFKA_MIN_INSYNC_REPLICAS`: 1/1 on the dev stack,
e.g. 3/2 on a cluster); existing topics grow to the wanted partition count and are never shrunk
or reconfigured. Every production module that creates topics calls `ensure_topics`.

Group operations (committing offsets for a new group, describing, deleting, reading committed
offsets) go through `retry_coordinator`: on a brand-new cluster the first one finds no group
coordinator yet — Kafka creates `__consumer_offsets` on that first FindCoordinator and answers
COORDINATOR_NOT_AVAILABLE until its partitions have leaders — so they wait and retry (bounded,
logged) instead of failing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from brain import logs
from brain import settings as _s
from brain.settings import Settings

log = logging.getLogger("brain.kafka")
T = TypeVar("T")

# How long a first group operation waits for the coordinator (a fresh cluster needs a few
# seconds: 50 partitions of __consumer_offsets by Kafka's default, 6 on the dev stack).
COORDINATOR_WAIT_S = 60.0
TOPIC_READY_S = 30.0


# The platform's shared topics: name -> partitions. Keys (site/line/machine) keep one machine's
# data in one partition; `brain stack up` and `brain kafka init` create them.
PLATFORM_TOPICS: dict[str, int] = {
    _s.TOPIC_READINGS: 6,
    _s.TOPIC_KPIS: 6,
    _s.TOPIC_DEADLETTER: 3,
    _s.TOPIC_ALERTS: 3,
    _s.TOPIC_LATE: 3,
    _s.TOPIC_EXPORT: 3,
    _s.TOPIC_LOSSES: 6,
    _s.TOPIC_REASONS: 3,
}


class KafkaAdminError(RuntimeError):
    """A topic or group operation that cannot succeed; the message says what to change."""


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic as the platform wants it. `compact`: `cleanup.policy=compact`, for changelog-like
    topics (Faust table changelogs) whose latest value per key is the state."""

    partitions: int
    compact: bool = False
    config: Mapping[str, str] = field(default_factory=dict)  # further topic configs


@dataclass(frozen=True, slots=True)
class TopicReplication:
    """What the cluster says about one topic (`describe_replication`)."""

    partitions: int
    replication_factor: int  # the smallest replica count over its partitions
    min_insync_replicas: int
    cleanup_policy: str
    under_replicated: int  # partitions whose in-sync replicas are fewer than their replicas


@dataclass(frozen=True, slots=True)
class EnsureResult:
    created: tuple[str, ...] = ()
    grown: tuple[str, ...] = ()


def _spec(value: int | TopicSpec) -> TopicSpec:
    spec = value if isinstance(value, TopicSpec) else TopicSpec(int(value))
    if spec.partitions < 1:
        raise KafkaAdminError(f"a topic needs at least 1 partition, not {spec.partitions}")
    return spec


def topic_configs(spec: TopicSpec, min_insync_replicas: int) -> dict[str, str]:
    """The configs a new topic is created with (pure: tested without a broker)."""
    configs = {"min.insync.replicas": str(min_insync_replicas)}
    if spec.compact:
        configs["cleanup.policy"] = "compact"
    configs.update({k: str(v) for k, v in spec.config.items()})
    return configs


def admin_client(
    settings: Settings, *, client_id: str = "brain-admin", request_timeout_ms: int = 15000
) -> Any:
    """A kafka-python admin client for the settings' cluster (bootstrap list, SASL/TLS)."""
    from kafka import KafkaAdminClient

    return KafkaAdminClient(
        bootstrap_servers=[s.strip() for s in settings.kafka_bootstrap.split(",") if s.strip()],
        client_id=client_id,
        request_timeout_ms=request_timeout_ms,
        **settings.kafka_kwargs(),
    )


def _live_brokers(admin: Any) -> int:
    brokers = admin.describe_cluster().get("brokers", [])
    return sum(1 for b in brokers if not b.get("is_fenced"))


def _describe(admin: Any, names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Existing topics among `names` (never auto-creates: the metadata request says so)."""
    names = list(names)
    if not names:
        return {}
    found = admin.describe_topics(names)
    return {t["name"]: t for t in found if t.get("error_code", 0) == 0 and t.get("partitions")}


def ensure_topics(
    settings: Settings, topics: Mapping[str, int | TopicSpec], *, admin: Any = None
) -> EnsureResult:
    """Create the missing topics (settings' RF and min ISR), grow existing ones that have fewer
    partitions; never shrink or reconfigure. Idempotent; safe against a concurrent creator.
    Waits until every created topic has a leader per partition (a producer right after would
    otherwise see UNKNOWN_TOPIC_OR_PARTITION on KRaft). Raises KafkaAdminError with the cause."""
    from kafka.errors import KafkaError

    wanted = {name: _spec(value) for name, value in topics.items()}
    if not wanted:
        return EnsureResult()
    rf, isr = settings.kafka_replication_factor, settings.kafka_min_insync_replicas
    own = admin is None
    admin = admin or admin_client(settings)
    try:
        existing = _describe(admin, wanted)
        missing = {n: s for n, s in wanted.items() if n not in existing}
        created: list[str] = []
        if missing:
            brokers = _live_brokers(admin)
            if rf > brokers:
                raise KafkaAdminError(
                    f"cannot create {', '.join(sorted(missing))}: replication factor {rf} "
                    f"(BRAIN_KAFKA_REPLICATION_FACTOR) needs {rf} brokers, the cluster at "
                    f"{settings.kafka_bootstrap} has {brokers} available; start more brokers or "
                    "lower BRAIN_KAFKA_REPLICATION_FACTOR (and BRAIN_KAFKA_MIN_INSYNC_REPLICAS)"
                )
            request = {
                n: {
                    "num_partitions": s.partitions,
                    "replication_factor": rf,
                    "configs": topic_configs(s, isr),
                }
                for n, s in missing.items()
            }
            response = admin.create_topics(request, raise_errors=False)
            for topic in response.get("topics", []):
                code = topic.get("error_code", 0)
                if code == 0:
                    created.append(topic["name"])
                elif code != 36:  # TOPIC_ALREADY_EXISTS: another process was first, fine
                    raise KafkaAdminError(
                        f"Kafka refused to create topic {topic['name']!r} (RF {rf}, min ISR {isr}, "
                        f"{missing[topic['name']].partitions} partitions): error {code} "
                        f"{topic.get('error_message') or ''}".rstrip()
                    )
            if created:
                admin.wait_for_topics(created, timeout_ms=int(TOPIC_READY_S * 1000))
        grow = {
            n: s.partitions
            for n, s in wanted.items()
            if n in existing and len(existing[n]["partitions"]) < s.partitions
        }
        if grow:
            admin.create_partitions(grow)
        for name, topic in existing.items():
            have = min(len(p.get("replica_nodes", ())) for p in topic["partitions"])
            if have < rf:  # only a reassignment can change it: say so once, leave it
                logs.event(
                    log, "kafka.topic_replication_low", logging.WARNING, topic=name, replicas=have, wanted=rf
                )
        if created or grow:
            logs.event(
                log, "kafka.topics_ensured", created=",".join(created) or "-",
                grown=",".join(sorted(grow)) or "-", replication_factor=rf, min_insync_replicas=isr,
            )  # fmt: skip
        return EnsureResult(tuple(created), tuple(sorted(grow)))
    except KafkaError as exc:
        raise KafkaAdminError(f"topic administration on {settings.kafka_bootstrap} failed: {exc!r}") from exc
    finally:
        if own:
            admin.close()


def partition_count(settings: Settings, topic: str, *, admin: Any = None) -> int:
    """Partitions of `topic`; 0 when it does not exist."""
    own = admin is None
    admin = admin or admin_client(settings)
    try:
        found = _describe(admin, [topic])
        return len(found[topic]["partitions"]) if topic in found else 0
    finally:
        if own:
            admin.close()


def describe_replication(
    settings: Settings, topics: Iterable[str], *, admin: Any = None
) -> dict[str, TopicReplication]:
    """Replication factor, min ISR and cleanup policy of each existing topic among `topics`."""
    from kafka.admin import ConfigResource, ConfigResourceType

    own = admin is None
    admin = admin or admin_client(settings)
    try:
        found = _describe(admin, topics)
        if not found:
            return {}
        resources = [
            ConfigResource(ConfigResourceType.TOPIC, n, ["min.insync.replicas", "cleanup.policy"])
            for n in found
        ]
        configs = admin.describe_configs(resources, config_filter="all").get("topic", {})
        out = {}
        for name, topic in found.items():
            parts = topic["partitions"]
            conf = configs.get(name, {})
            out[name] = TopicReplication(
                partitions=len(parts),
                replication_factor=min(len(p.get("replica_nodes", ())) for p in parts),
                min_insync_replicas=int(conf.get("min.insync.replicas", {}).get("value", 1)),
                cleanup_policy=str(conf.get("cleanup.policy", {}).get("value", "delete")),
                under_replicated=sum(
                    1 for p in parts if len(p.get("isr_nodes", ())) < len(p.get("replica_nodes", ()))
                ),
            )
        return out
    finally:
        if own:
            admin.close()


# ---------------------------------------------------------------------------------- groups


def _coordinator_errors() -> tuple[type[BaseException], ...]:
    from kafka import errors

    return (
        errors.CoordinatorNotAvailableError,  # no __consumer_offsets yet / its leader moving
        errors.CoordinatorLoadInProgressError,  # the coordinator is loading the group
        errors.NotCoordinatorError,  # the coordinator moved (a broker restarted)
        errors.NodeNotReadyError,  # the coordinator's connection is not up yet
        errors.KafkaConnectionError,
        errors.RequestTimedOutError,
        errors.KafkaTimeoutError,
    )


def retry_coordinator(
    operation: Callable[[], T],
    *,
    what: str,
    timeout_s: float = COORDINATOR_WAIT_S,
    interval_s: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run a group operation; while its coordinator is not available (a fresh cluster, a broker
    restarting), wait and run it again, up to `timeout_s`. Logs `kafka.coordinator_wait` once and
    `kafka.coordinator_ready` when it went through after waiting; raises KafkaAdminError naming
    `what` and the last error when the time is up. Other errors pass through at once."""
    retriable = _coordinator_errors()
    began = clock()
    attempts = 0
    while True:
        attempts += 1
        try:
            result = operation()
        except retriable as exc:
            waited = clock() - began
            if attempts == 1:
                logs.event(
                    log, "kafka.coordinator_wait", logging.WARNING, operation=what, error=repr(exc)[:200]
                )
            if waited >= timeout_s:
                raise KafkaAdminError(
                    f"{what}: no group coordinator after {waited:.0f} s ({attempts} attempts): {exc!r}"
                ) from exc
            sleep(min(interval_s * attempts, 2.0, max(0.0, timeout_s - waited)))
            continue
        if attempts > 1:
            logs.event(
                log, "kafka.coordinator_ready", operation=what, attempts=attempts,
                waited_s=round(clock() - began, 2),
            )  # fmt: skip
        return result


def _raise_partition_errors(results: Mapping[Any, Any], what: str) -> None:
    """alter_group_offsets reports errors per partition instead of raising: raise the first
    (a coordinator error is then retried by `retry_coordinator`)."""
    from kafka import errors

    for tp, error in results.items():
        if error is not errors.NoError and error is not None:
            raise error(f"{what}: {tp.topic}[{tp.partition}]")


def _group_call(settings: Settings, admin: Any, what: str, call: Callable[[Any], T]) -> T:
    """`call(client)` under `retry_coordinator`. A caller's long-lived `admin` serves the first
    attempt only: its cached coordinator may be the broker that just went away, so every retry
    gets a fresh client (a new FindCoordinator, new connections)."""
    attempts = 0

    def attempt() -> T:
        nonlocal attempts
        attempts += 1
        reuse = admin is not None and attempts == 1
        client = admin if reuse else admin_client(settings, client_id="brain-admin-groups")
        try:
            return call(client)
        finally:
            if not reuse:
                client.close()

    return retry_coordinator(attempt, what=what)


def commit_group_offsets(
    settings: Settings, group: str, offsets: Mapping[Any, int], *, admin: Any = None
) -> None:
    """Commit `offsets` ({TopicPartition: offset}) for a group that has no active members (a new
    group, or one whose members are gone) — waiting for the coordinator on a fresh cluster."""
    from kafka.structs import OffsetAndMetadata

    if not offsets:
        return
    wanted = {tp: OffsetAndMetadata(int(o), "", -1) for tp, o in offsets.items()}
    what = f"commit offsets for group {group}"
    _group_call(
        settings, admin, what, lambda c: _raise_partition_errors(c.alter_group_offsets(group, wanted), what)
    )


def committed_offsets(
    settings: Settings, group: str, partitions: Iterable[Any], *, admin: Any = None
) -> dict[Any, int]:
    """{TopicPartition: committed offset} of `group` (partitions without a commit left out)."""
    parts = list(partitions)

    def fetch(client: Any) -> dict[Any, int]:
        got = client.list_group_offsets({group: parts})
        offsets = got.get(group, {}) if isinstance(got, dict) else {}
        return {tp: om.offset for tp, om in offsets.items() if om is not None and om.offset >= 0}

    return _group_call(settings, admin, f"read the committed offsets of group {group}", fetch)


def describe_group(settings: Settings, group: str, *, admin: Any = None) -> dict[str, Any]:
    """The group's description (state, members, ...) as kafka-python gives it."""
    return _group_call(
        settings, admin, f"describe group {group}", lambda c: c.describe_groups([group]).get(group) or {}
    )


def delete_groups(settings: Settings, groups: Iterable[str], *, admin: Any = None) -> dict[str, str]:
    """Delete consumer groups; {group: "OK" or the error's name} (a missing group is no failure)."""
    names = sorted(set(groups))
    if not names:
        return {}
    return _group_call(settings, admin, f"delete groups {','.join(names)}", lambda c: c.delete_groups(names))


# kafka-python 3 warns "Task ... is blocking the event loop" when one step of its network loop
# takes longer than 0.1 s of wall clock. On a loaded 2-core machine a step that is merely
# descheduled crosses that (35 warnings in two minutes of `brain bench` in the sink's log), so
# the warning said nothing about our code. Our long-running clients set the threshold to 1 s: a
# step that long is news again.
SLOW_STEP_WARN_S = 1.0


def kafka_python_client() -> Any:
    """The `kafka_client` factory for kafka-python consumers and producers (see SLOW_STEP_WARN_S)."""
    from functools import partial

    from kafka.net.compat import KafkaNetClient

    return partial(KafkaNetClient, slow_task_threshold_secs=SLOW_STEP_WARN_S)
