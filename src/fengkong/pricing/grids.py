"""Product grids: the amounts and rates a product may offer.

A lender does not offer RMB 12,345.67 at 17.8364%: limits are multiples of a step (100, 1,000
yuan) and prices sit on a rate list, so that the book stays readable and every offer maps to
a filed price. Limits are always rounded *down* (never lend more than a constraint allows);
rates are rounded up to cover the cost, and down where the cap says so
(:mod:`fengkong.pricing.decision`).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

# Float noise (0.1 + 0.2) must not move a rate or an amount to the next grid point.
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class AmountGrid:
    """Whole-yuan amounts from ``minimum`` to ``maximum`` in multiples of ``step``."""

    minimum: int
    maximum: int
    step: int

    def down(self, amount: float) -> int:
        """The largest multiple of the step not above ``amount`` (0 for nothing)."""
        if amount <= 0:
            return 0
        return math.floor(amount / self.step + _EPSILON) * self.step

    def spread(self, high: int, count: int) -> list[int]:
        """About ``count`` grid amounts spaced evenly from the minimum to ``high``."""
        first = math.ceil(self.minimum / self.step - _EPSILON)
        last = math.floor(high / self.step + _EPSILON)
        return [index * self.step for index in _spaced(first, last, count)]


@dataclass(frozen=True, slots=True)
class RateGrid:
    """Annual rates a product may charge: multiples of ``step`` (0.0001 is 0.01%), or an
    explicit list of ``points`` (then ``step`` is None)."""

    step: float | None = 0.0001
    points: tuple[float, ...] = ()

    def up(self, rate: float) -> float | None:
        """The lowest grid rate at or above ``rate``; None above the last price point."""
        if self.step is not None:
            return self._rate(math.ceil(rate / self.step - _EPSILON))
        index = bisect.bisect_left(self.points, rate - _EPSILON)
        return self.points[index] if index < len(self.points) else None

    def down(self, rate: float) -> float | None:
        """The highest grid rate at or below ``rate``; None below the first price point."""
        if self.step is not None:
            index = math.floor(rate / self.step + _EPSILON)
            return self._rate(index) if index >= 0 else None
        index = bisect.bisect_right(self.points, rate + _EPSILON) - 1
        return self.points[index] if index >= 0 else None

    def spread(self, low: float, high: float, count: int) -> list[float]:
        """About ``count`` grid rates spaced evenly in [low, high]."""
        if self.step is not None:
            first = max(0, math.ceil(low / self.step - _EPSILON))
            last = math.floor(high / self.step + _EPSILON)
            return [self._rate(index) for index in _spaced(first, last, count)]
        first = bisect.bisect_left(self.points, low - _EPSILON)
        last = bisect.bisect_right(self.points, high + _EPSILON) - 1
        return [self.points[index] for index in _spaced(first, last, count)]

    def _rate(self, index: int) -> float:
        assert self.step is not None
        return round(index * self.step, 10)


def _spaced(first: int, last: int, count: int) -> list[int]:
    """``count`` integers spread evenly over [first, last], both ends included (fewer when
    the range is shorter)."""
    if last < first:
        return []
    if last - first + 1 <= count:
        return list(range(first, last + 1))
    if count == 1:
        return [last]
    return sorted({first + round(i * (last - first) / (count - 1)) for i in range(count)})
