"""Stream = batch: the city stream service's ledger, fed one record at a time with MM2-style
re-deliveries and evaluations in between, ends with exactly the rows `evaluate` gives on the file."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from brain.city import evaluate, load_register
from brain.city.ledger import Ledger

ROOT = Path(__file__).resolve().parents[2]
REGISTER = load_register(str(ROOT / "examples" / "city" / "register.yaml"))
EXPORTS = ROOT / "examples" / "city" / "exports.jsonl"
RECORDS = [json.loads(line) for line in EXPORTS.read_text().splitlines()]


@pytest.mark.parametrize("seed", range(5))
def test_stream_with_redeliveries_equals_batch(seed: int) -> None:
    rng = random.Random(seed)
    batch = evaluate(REGISTER, RECORDS, 2026)
    ledger = Ledger(REGISTER)
    done = 0
    while done < len(RECORDS):
        step = rng.randint(1, 4)
        for r in RECORDS[done : done + step]:
            ledger.add(dict(r))
        done += step
        if rng.random() < 0.5:  # a consumer restart: MM2 re-delivers from an older committed offset
            for r in RECORDS[rng.randint(0, done - 1) : done]:
                ledger.add(dict(r))
        ledger.evaluate(2026)  # publishing mid-stream changes nothing
    stream = ledger.evaluate(2026)
    assert stream.rows() == batch.rows()
    assert stream.counters["duplicates"] >= batch.counters["duplicates"]
    assert {k: stream.counters[k] for k in ("summed", "not_summed", "outside_period")} == {
        k: batch.counters[k] for k in ("summed", "not_summed", "outside_period")
    }


def test_add_returns_the_dead_letter_reason() -> None:
    ledger = Ledger(REGISTER, keep_rejected=False)
    assert ledger.add(RECORDS[0]) is None
    assert ledger.add({**RECORDS[0], "enterprise": "nobody"}) == (
        "city.unknown_enterprise: 'nobody' is not in the register"
    )
    assert ledger.add({**RECORDS[0], "window": "1m"}).startswith("export.bad_window")
    assert ledger.counters == {"records": 3, "accepted": 1, "rejected": 2, "duplicates": 0}
    assert ledger.rejected == []
