"""Run `brain alerts` as if the broker were slow to show new topics in its metadata.

    python -m tests.alerts.stale_metadata alerts --config ... (the arguments of `brain ...`)

In KRaft a new topic reaches the broker's metadata cache asynchronously, later while a fresh
cluster is busy (creating `__consumer_offsets`, other services' topics). Faust creates the
table's changelog topic at start and refreshes the producer's metadata right after; when that
refresh comes before the topic is visible, the producer's cache lacks the changelog and nothing
refreshes it for 5 minutes, so every table write fails in `key_partition` (docs/RELIABILITY.md,
"Faults"). This runner makes that lag certain: the producer's metadata does not show a
`*-changelog` topic until LAG_S after it first appeared in a metadata response. Used by
tests/alerts/test_fresh_cluster.py.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import faust.transport.drivers.aiokafka as faust_aiokafka
from aiokafka.cluster import ClusterMetadata

from brain.cli import main

LAG_S = 3.0
_first_seen: dict[str, float] = {}
_producer_clusters: set[int] = set()
_update_metadata = ClusterMetadata.update_metadata
_new_producer = faust_aiokafka.Producer._new_producer


def update_metadata(self: ClusterMetadata, metadata: Any) -> Any:
    result = _update_metadata(self, metadata)
    if id(self) in _producer_clusters:
        now = time.monotonic()
        for topic in [t for t in self._partitions if t.endswith("-changelog")]:
            if now - _first_seen.setdefault(topic, now) < LAG_S:
                del self._partitions[topic]
                sys.stderr.write(f"stale_metadata: {topic} not yet visible to the producer\n")
    return result


def new_producer(self: Any, *args: Any, **kwargs: Any) -> Any:
    producer = _new_producer(self, *args, **kwargs)
    _producer_clusters.add(id(producer.client.cluster))
    return producer


ClusterMetadata.update_metadata = update_metadata
faust_aiokafka.Producer._new_producer = new_producer

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
