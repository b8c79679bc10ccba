"""Restart equivalence of the pure core (no Kafka): a worker that dies after writing its states
for batch j, restarted from those JSON states with the input re-delivered from an earlier
committed batch k, emits the same final records as an uninterrupted run."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from processors.kpi import Context
from processors.machine_state import DUP, MachineStream
from processors.messages import machine_record
from tests.processors import data

READINGS = data.readings()
PLANT = data.plant()
CTX = Context.from_plant(PLANT)
MACHINES = {(s.id, ln.id, m.id): m for s, ln, m in PLANT.machines()}


def _feed(streams: dict, lo: int, hi: int, batch: int, out: dict, states: dict | None = None) -> None:
    for b0 in range(lo, hi, batch):
        changed = set()
        for i in range(b0, min(hi, b0 + batch)):
            r = READINGS[i]
            k = (r["site"], r["line"], r["machine"])
            ms = streams.get(k)
            if ms is None:
                ms = streams[k] = MachineStream(MACHINES[k], CTX, data.GRACE_MS)
            if ms.add(r["metric"], r["value"], r["ts"], i, 0.0) != DUP:
                changed.add(k)
        for k in changed:
            for e in streams[k].step(0.0, 0):
                if e.final:
                    out[(k, e.kind, e.start)] = machine_record(e, *k, CTX)
        if states is not None:
            states[min(hi, b0 + batch)] = {k: json.dumps(v.to_dict()) for k, v in streams.items()}


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


@pytest.mark.parametrize("batch", [50, 200])
def test_restart_from_json_state_with_redelivery_equals_uninterrupted(batch: int) -> None:
    ref: dict = {}
    states: dict = {}
    _feed({}, 0, len(READINGS), batch, ref, states)
    cuts = sorted(states)
    for j in cuts[:: max(1, len(cuts) // 12)]:
        for k in {max(0, j - 2 * batch), j}:  # committed offset behind the written state
            out: dict = {}
            _feed({}, 0, j, batch, out)  # worker a, killed after writing the states of batch j
            restored = {
                key: MachineStream.from_dict(json.loads(v), MACHINES[key], CTX, data.GRACE_MS)
                for key, v in states[j].items()
            }
            _feed(restored, k, len(READINGS), 37, out)  # worker b: re-delivery, other batching
            bad = [(key, f) for key, r in ref.items() for f in r if not _close(r[f], out.get(key, {}).get(f))]
            assert not bad, (j, k, bad[:4])
