"""Demand: kWh in a 15-minute block aligned to the clock, × 4 (the utility's billing demand).

Blocks are aligned in the plant's time zone; every current IANA offset is a multiple of 15
minutes, so a block is also a multiple of 15 minutes in UTC.
"""

from __future__ import annotations

from typing import Any

from processors.kpi.calendar import MINUTE

BLOCK = 15 * MINUTE
BLOCKS_PER_HOUR = 4


def block_start(cal: Any, t: int) -> int:
    """Start (epoch ms) of the demand block containing `t` (`cal` kept for zones whose offset is
    not a multiple of 15 minutes, of which there are none today)."""
    return t - t % BLOCK


def demand_kw(block_kwh: float) -> float:
    return block_kwh * BLOCKS_PER_HOUR


def peak_demand_kw(blocks: dict[str, float], start: int, end: int) -> float | None:
    """Max demand over the blocks wholly inside [start, end); None when no whole block is inside
    (a 1-minute window, say) or no energy was measured."""
    best = None
    for key, kwh in blocks.items():
        b = int(key)
        if b >= start and b + BLOCK <= end:
            d = kwh * BLOCKS_PER_HOUR
            if best is None or d > best:
                best = d
    return best


def projected_demand_kw(block_kwh_so_far: float, elapsed_ms: int) -> float | None:
    """Live projection of the open block's demand (for alerts before the block ends)."""
    if elapsed_ms <= 0:
        return None
    return block_kwh_so_far * BLOCK / elapsed_ms * BLOCKS_PER_HOUR
