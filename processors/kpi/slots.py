"""The slots of a one-minute bucket: what one machine accumulated in one clock minute.

A bucket is a flat list of floats (fast to add into, plain JSON in the machine state); `Slot`
names its positions. Hot loops bind the positions they use to module-level ints
(`PQ = int(Slot.PQ)`): an exact int indexes a list as fast as a literal, where an enum member
would skip CPython's specialised list indexing (docs/BENCHMARKS.md, "KPI core").

| slots | what | unit |
|---|---|---|
| RUN, SETUP, FAULT, IDLE, PLANNED | time per state in scheduled, non-break time (APT...PDOT) | ms |
| FE | failure events (entries into fault) in scheduled time | count |
| PQ, SQ | produced / scrap quantity increase in scheduled time | units |
| PQ_OFF, SQ_OFF | the same outside the shift calendar (reported, never dropped) | units |
| EM, QM | active / reactive energy from the meters | kWh, kvarh |
| EP, QP | active / reactive energy from power (left Riemann sum) | kWh, kvarh |
| C_CNT, C_EM, C_EP, C_QM, C_QP | coverage: 1 when that source touched the minute | flag |
"""

from __future__ import annotations

from enum import IntEnum


class Slot(IntEnum):
    RUN = 0
    SETUP = 1
    FAULT = 2
    IDLE = 3
    PLANNED = 4
    FE = 5
    PQ = 6
    SQ = 7
    PQ_OFF = 8
    SQ_OFF = 9
    EM = 10
    EP = 11
    QM = 12
    QP = 13
    C_CNT = 14
    C_EM = 15
    C_EP = 16
    C_QM = 17
    C_QP = 18


NSLOTS = len(Slot)
