"""Machine states -> ISO 22400 time elements (our mapping, after OPC UA MachineTool C.2.3).

| state        | element | bucket slot (slots.py) |
|--------------|---------|-------------|
| running      | APT     | RUN |
| setup        | AUST    | SETUP |
| fault        | ADET    | FAULT (each entry into fault is one failure event: FE) |
| idle         | ADOT    | IDLE |
| planned_stop | PDOT    | PLANNED |
| offline      | unknown | not stored: unknown = POT - the other elements |
"""

from __future__ import annotations

from typing import Any

from brain import vocabulary
from brain.plant import state_code_key
from processors.kpi.slots import Slot

RUNNING, SETUP, FAULT = int(Slot.RUN), int(Slot.SETUP), int(Slot.FAULT)
IDLE, PLANNED_STOP = int(Slot.IDLE), int(Slot.PLANNED)
OFFLINE = -1  # no slot
STATE_INDEX = {
    vocabulary.RUNNING: RUNNING,
    vocabulary.SETUP: SETUP,
    vocabulary.FAULT: FAULT,
    vocabulary.IDLE: IDLE,
    vocabulary.PLANNED_STOP: PLANNED_STOP,
    vocabulary.OFFLINE: OFFLINE,
}
STATE_NAMES = {v: k for k, v in STATE_INDEX.items()}


def state_index(value: Any, codes: dict[str, str]) -> int | None:
    """The state slot for a reading's value: a state name, or a numeric code mapped by the
    machine's `state_codes`. None when the value is not a known state (the caller counts it)."""
    if isinstance(value, str):
        idx = STATE_INDEX.get(value.strip().lower())
        if idx is not None:
            return idx
    if isinstance(value, bool):
        return None
    name = codes.get(state_code_key(value)) if codes else None
    return None if name is None else STATE_INDEX[name]
