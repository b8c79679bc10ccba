"""`brain kafka init|describe`: the platform's topics on your own Kafka cluster.

    BRAIN_KAFKA_BOOTSTRAP=k1:9092,k2:9092,k3:9092 BRAIN_KAFKA_REPLICATION_FACTOR=3 \\
    BRAIN_KAFKA_MIN_INSYNC_REPLICAS=2 brain kafka init

`init` creates the shared topics (brain.readings, brain.kpis, ...) with the settings' replication
(flags override the environment), grows existing ones to their partition count, and prints what
the cluster then says about each; `describe` only prints it. `brain stack up` does the same for
the local stack. SASL/TLS come from the BRAIN_KAFKA_* security variables (docs/SECURITY.md).
"""

from __future__ import annotations

import argparse
import sys

from brain.kafka_admin import PLATFORM_TOPICS, KafkaAdminError, describe_replication, ensure_topics
from brain.settings import Settings, SettingsError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["init", "describe"], help="init: create/grow topics; describe")
    parser.add_argument("topics", nargs="*", help="describe: these topics (default: the platform's)")
    parser.add_argument(
        "--replication-factor", type=int, help="init: default BRAIN_KAFKA_REPLICATION_FACTOR (1)"
    )
    parser.add_argument(
        "--min-insync-replicas", type=int, help="init: default BRAIN_KAFKA_MIN_INSYNC_REPLICAS (1)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env().with_replication(args.replication_factor, args.min_insync_replicas)
        if args.action == "init":
            done = ensure_topics(settings, PLATFORM_TOPICS)
            print(f"created: {', '.join(done.created) or '-'}; grown: {', '.join(done.grown) or '-'}")
        names = args.topics or list(PLATFORM_TOPICS)
        found = describe_replication(settings, names)
    except (SettingsError, KafkaAdminError) as exc:
        print(f"brain kafka {args.action}: error: {exc}", file=sys.stderr)
        return 1
    rows = [("TOPIC", "PARTITIONS", "RF", "MIN ISR", "CLEANUP", "UNDER-REPLICATED")]
    for name in names:
        t = found.get(name)
        rows.append(
            (name, "missing", "", "", "", "")
            if t is None
            else (name, str(t.partitions), str(t.replication_factor), str(t.min_insync_replicas),
                  t.cleanup_policy, str(t.under_replicated))
        )  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0 if all(n in found for n in names) else 1
