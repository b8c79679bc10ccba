"""The plant's shift calendar as segments of time: scheduled, break, unscheduled. Pure.

Uses the KPI core's Calendar (processors.kpi.calendar) so that the simulator and `brain kpi`
agree to the millisecond on when a shift or a break starts and ends.
"""

from __future__ import annotations

from itertools import pairwise
from typing import NamedTuple

from brain.plant import Plant
from processors.kpi.calendar import BREAK, SCHEDULED, UNSCHEDULED, Calendar

__all__ = ["BREAK", "SCHEDULED", "UNSCHEDULED", "Segment", "segments"]


class Segment(NamedTuple):
    start: int  # epoch ms
    end: int
    kind: int  # SCHEDULED, BREAK or UNSCHEDULED


def segments(plant: Plant, start: int, end: int) -> list[Segment]:
    """Consecutive segments covering [start, end); adjacent segments differ in kind."""
    cal = Calendar.from_plant(plant)
    if cal.always:
        return [Segment(start, end, SCHEDULED)]
    insts = cal.shift_instances(start, end)
    cuts = {start, end}
    for inst in insts:
        cuts.update((inst.start, inst.end))
        for bs, be in inst.breaks:
            cuts.update((bs, be))
    points = sorted(c for c in cuts if start <= c <= end)
    out: list[Segment] = []
    for a, b in pairwise(points):
        mid = a + (b - a) // 2
        kind = UNSCHEDULED
        for inst in insts:
            if inst.start <= mid < inst.end:
                if any(bs <= mid < be for bs, be in inst.breaks):
                    kind = BREAK
                else:
                    kind = SCHEDULED
                    break
        if out and out[-1].kind == kind:
            out[-1] = Segment(out[-1].start, b, kind)
        else:
            out.append(Segment(a, b, kind))
    return out
