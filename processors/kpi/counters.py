"""Cumulative counters and meters: the increase between two readings.

A decrease is a reset (the new value counts from 0); with a register modulus (e.g. 65536) a
decrease is a wrap and the modulus is added — unless that would give an implausible jump of more
than half the modulus, which is then treated as a reset. Never negative.
"""

from __future__ import annotations


def increase(prev: float, cur: float, modulus: float | None = None) -> float:
    """Increase of a cumulative counter from `prev` to `cur`."""
    if cur >= prev:
        return cur - prev
    if modulus:
        wrapped = cur + modulus - prev
        if 0 <= wrapped <= modulus / 2:
            return wrapped
    return cur
