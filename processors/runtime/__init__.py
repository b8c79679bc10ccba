"""The stream runtime: ports (input log, outbox, state store), the cursor every worker shares,
the step protocol, and their implementations — Kafka (`kafka.py`), Faust (`faust_app.py`, the
only module that imports faust) and in memory (`memory.py`, for tests and `run_processors`)."""

from processors.runtime.cursor import Cursor, marker_key
from processors.runtime.ports import Fetched, InputLog, Outbox, Pulled, StateStore
from processors.runtime.worker import PartitionWorker

__all__ = ["Cursor", "Fetched", "InputLog", "Outbox", "PartitionWorker", "Pulled", "StateStore", "marker_key"]
