"""Time-of-use tariff: which period (peak, flat, valley) a minute falls in, and its price.

Default periods: Jiangsu industrial and commercial users (苏发改价格发〔2025〕426号), by season.
Prices come from the plant config; without prices, cost is null.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from brain.plant import JIANGSU_2025, PERIODS, Tariff, TouSeason
from processors.kpi.calendar import Calendar

PEAK, FLAT, VALLEY = 0, 1, 2


class Tou:
    """Period lookup per one-minute bucket (cached), in the plant's time zone."""

    def __init__(self, tz: str | ZoneInfo, tariff: Tariff | None = None) -> None:
        self.cal = Calendar(tz)
        self.tariff = tariff
        seasons = tariff.seasons if tariff else JIANGSU_2025
        self._by_month: dict[int, list[int]] = {}
        for season in seasons:
            table = _table(season)
            for month in season.months:
                self._by_month[month] = table
        self.prices: tuple[float, float, float] | None = None
        if tariff and tariff.prices:
            self.prices = tuple(tariff.prices[p] for p in PERIODS)  # type: ignore[assignment]
        self._cache: dict[int, int] = {}

    def period(self, minute: int) -> int:
        """PEAK, FLAT or VALLEY for the minute starting at epoch ms `minute`."""
        p = self._cache.get(minute)
        if p is None:
            local = self.cal.local(minute)
            p = self._by_month[local.month][local.hour * 60 + local.minute]
            if len(self._cache) > 500_000:
                self._cache.clear()
            self._cache[minute] = p
        return p

    def period_name(self, minute: int) -> str:
        return PERIODS[self.period(minute)]


def _table(season: TouSeason) -> list[int]:
    table = [FLAT] * 1440
    for idx, period in enumerate(PERIODS):
        for a, b in season.ranges[period]:
            for m in range(a, b):
                table[m] = idx
    return table
