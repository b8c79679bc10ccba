"""`brain alerts` starting with a new app id on a fresh cluster (its changelog topic does not exist
yet) must not crash-loop: it fires for a reading above the threshold within a bounded time.

The crash once seen (docs/RELIABILITY.md, "Faults"): the table wrote its changelog with the
producer's partitioner, which read the producer's cached metadata; when Faust's one refresh after
creating the changelog came before the broker showed the topic, every write failed with
`TypeError: 'NoneType' object is not iterable`. The worker now writes its changelog partition
itself (processors/runtime/faust_app.py), and the topics exist before it starts. On a private
stack (never the shared servers).
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from brain.stack.servers import ensure_topics
from tests.alerts.test_stack import HOT, PLANT, ROOT, consume, produce
from tests.private_stack import PrivateStack

pytestmark = [pytest.mark.stack, pytest.mark.slow]


def start_and_fire(stack: PrivateStack, tmp_path: Path, module: str) -> tuple[float, str]:
    """Start `python -m MODULE alerts ...` with a new app id and fresh topics, produce one reading
    above the threshold; return (seconds until the firing, or inf) and the worker's log."""
    site = f"t{uuid.uuid4().hex[:10]}"
    run = tmp_path / site
    run.mkdir()
    (run / "plant.yaml").write_text(PLANT.format(site=site, rule=HOT))
    topics = {n: f"test.fresh.{n}.{site}" for n in ("readings", "kpis", "dead", "alerts")}
    bootstrap = stack.settings.kafka_bootstrap
    ensure_topics(bootstrap, dict.fromkeys(topics.values(), 1))
    argv = [sys.executable, "-m", module, "alerts", "--config", str(run / "plant.yaml"),
            "--app-id", f"t-fresh-{site}", "--data-dir", str(run), "--from-beginning",
            "--readings-topic", topics["readings"], "--kpis-topic", topics["kpis"],
            "--deadletter-topic", topics["dead"], "--output-topic", topics["alerts"]]  # fmt: skip
    log = run / "worker.log"
    began = time.monotonic()
    with open(log, "wb") as fh:
        proc = subprocess.Popen(argv, cwd=ROOT, env=stack.env, stdout=fh, stderr=fh)
        try:
            reading = {"site": site, "line": "l1", "machine": "m1", "metric": "temp_c", "value": 85.0,
                       "ts": int(time.time() * 1000)}  # fmt: skip
            produce(stack.settings, topics["readings"], reading, key=f"{site}/l1/m1")
            events = consume(stack.settings, topics["alerts"], 1, 30)
            took = time.monotonic() - began if [e["state"] for e in events] == ["firing"] else float("inf")
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
    return took, log.read_text(errors="replace")


def test_new_app_id_on_fresh_cluster_fires(private_stack: PrivateStack, tmp_path: Path) -> None:
    took, log = start_and_fire(private_stack, tmp_path, "brain.cli")
    assert "Crashed" not in log and "is not iterable" not in log, log[-3000:]
    assert took < 30, f"no firing within 30 s:\n{log[-3000:]}"
