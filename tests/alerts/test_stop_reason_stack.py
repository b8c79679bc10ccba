"""`stop_without_reason` on the REAL servers: a `brain alerts` worker reads a machine's stop from
Kafka, fires when it stays unlabelled for `for`, resolves on the reason reading, and the events
reach the operator through the notify service (MQTT, retained while firing)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from brain.settings import Settings
from processors.notify.config import parse_notify
from tests.alerts.test_stack import (
    PLANT,
    AlertsWorker,
    Subscriber,
    consume,
    fresh_topics,
    produce,
    run_notifier,
)

pytestmark = [pytest.mark.stack, pytest.mark.slow]
RULE = "{id: label, type: stop_without_reason, for: 10m}"


def test_unlabelled_stop_fires_and_the_reason_resolves_it(
    stack: Settings, site_id: str, tmp_path: Path
) -> None:
    topics = fresh_topics(stack, "readings", "kpis", "dead", "alerts")
    config = tmp_path / "plant.yaml"
    config.write_text(PLANT.format(site=site_id, rule=RULE))
    worker = AlertsWorker(stack, config, topics, f"t-alerts-{site_id}", tmp_path)
    now = int(time.time() * 1000)

    def reading(metric: str, value: str, ts: int) -> dict:
        return {"site": site_id, "line": "l1", "machine": "m1", "metric": metric, "value": value, "ts": ts}

    key = f"{site_id}/l1/m1"
    stopped = now - 11 * 60_000  # in fault, unlabelled, for 11 minutes
    produce(stack, topics["readings"], reading("state", "running", stopped - 60_000), key=key)
    produce(stack, topics["readings"], reading("state", "fault", stopped), key=key)
    live = Subscriber(stack, site_id)
    notifier, stop, thread = run_notifier(
        stack, parse_notify({"mqtt": {"client_id": f"t-notify-{site_id}"}}), topics
    )
    worker.start()
    try:
        events = consume(stack, topics["alerts"], 1, 90)
        assert [(e["rule"], e["state"], e["started"]) for e in events] == [("label", "firing", stopped)], (
            worker.log.read_text()[-3000:]
        )
        assert events[0]["value"] >= 600 and "with no reason" in events[0]["message_en"]
        topic, payload, _ = live.get(30)
        assert topic == f"brain/v1/alerts/{site_id}/l1/m1/label" and json.loads(payload)["state"] == "firing"
        produce(stack, topics["readings"], reading("reason", "R01", stopped + 1000), key=key)  # late label
        events = consume(stack, topics["alerts"], 2, 60)
        assert [e["state"] for e in events] == ["firing", "resolved"], worker.log.read_text()[-3000:]
        _, payload, _ = live.get(30)
        assert json.loads(payload)["state"] == "resolved"
    finally:
        worker.stop()
        stop.set()
        thread.join(10)
        live.close()
    assert notifier.counts["mqtt"] >= 2
