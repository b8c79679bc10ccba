"""Downsampling of raw telemetry (pure): keep the last value per series per interval.

The kept point is stamped with the interval's start, so a re-delivered or re-batched interval
overwrites the same point instead of adding a second one.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from processors.sink.lineproto import Point


class Downsampler:
    """`add` points (in any order, each with an opaque `source`); `items` gives the last one per
    (series, interval) with its source; `clear` once they are written."""

    def __init__(self, every_ms: int) -> None:
        if every_ms <= 0:
            raise ValueError("every_ms must be positive")
        self.every_ms = every_ms
        self._kept: dict[tuple[str, int], tuple[int, Point, Any]] = {}

    def __len__(self) -> int:
        return len(self._kept)

    def add(self, point: Point, source: Any = None) -> None:
        bucket = point.time_ms - point.time_ms % self.every_ms
        key = (point.series, bucket)
        kept = self._kept.get(key)
        if kept is None or point.time_ms >= kept[0]:
            self._kept[key] = (point.time_ms, replace(point, time_ms=bucket), source)

    def items(self) -> list[tuple[Point, Any]]:
        return [(point, source) for _, point, source in self._kept.values()]

    def clear(self) -> None:
        self._kept.clear()
