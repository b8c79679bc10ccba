"""The worked example of docs/CITY.md (examples/city/) with every enterprise, park and sector id
prefixed, so runs and tests writing city points of 2026 to the same servers never share a row."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from brain.city import parse_register

ROOT = Path(__file__).resolve().parents[2]


def prefixed_example(prefix: str) -> tuple[Any, list[dict[str, Any]]]:
    data = yaml.safe_load((ROOT / "examples" / "city" / "register.yaml").read_text())
    for e in data["enterprises"]:
        e["id"], e["park"], e["sector"] = prefix + e["id"], prefix + e["park"], prefix + e["sector"]
    records = [
        json.loads(line) for line in (ROOT / "examples" / "city" / "exports.jsonl").read_text().splitlines()
    ]
    for r in records:
        r["enterprise"] = prefix + r["enterprise"]
    return parse_register(data, "example"), records
