"""Checked inputs: numbers and dates that pricing accepts, or a :class:`PricingError` naming
the field.

A price is money a borrower will owe, so nothing is guessed: a missing income is not zero,
a PD of 1.2 is not clipped to 1, ``NaN`` is not a number and ``True`` is not 1. Dates are
the lender's business dates in China Standard Time (UTC+8), because regulatory caps take
effect on Beijing calendar dates: a decision at 2026-01-01T01:00+08:00 (still 2025-12-31
in UTC) is under the rules in force on 1 January.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from fengkong.errors import PricingError

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


def checked_number(value: Any, field: str, *, low: float | None = None,
                   high: float | None = None, low_open: bool = False) -> float:
    """``value`` as a finite float within [low, high] (``(low, high]`` when ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise PricingError(f"{field} must be a number, got {value!r}", field=field)
    # A signalling NaN Decimal cannot even become a float: test finiteness first.
    if isinstance(value, Decimal) and not value.is_finite():
        raise PricingError(f"{field} must be a finite number, got {value!r}", field=field)
    number = float(value)
    if not math.isfinite(number):
        raise PricingError(f"{field} must be a finite number, got {value!r}", field=field)
    below = low is not None and (number <= low if low_open else number < low)
    if below or (high is not None and number > high):
        raise PricingError(f"{field} must be {_range(low, high, low_open)}, got {value!r}",
                           field=field)
    return number


def checked_whole(value: Any, field: str, *, low: int, high: int) -> int:
    """``value`` as an int within [low, high] (a whole float such as 12.0 is accepted)."""
    number = checked_number(value, field, low=low, high=high)
    if not number.is_integer():
        raise PricingError(f"{field} must be a whole number, got {value!r}", field=field)
    return int(number)


def checked_date(value: Any, field: str = "date") -> date:
    """A business date from a ``date``, a ``datetime`` (with an offset), ISO 8601 text
    (``2026-05-01`` or ``2026-05-01T09:30:00+08:00``) or epoch milliseconds, read in
    Beijing time."""
    if isinstance(value, datetime):
        return _beijing_date(value, field, value)
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            if len(value) == 10:
                return date.fromisoformat(value)
            return _beijing_date(datetime.fromisoformat(value), field, value)
        except ValueError:
            pass
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            if value == int(value):
                return datetime.fromtimestamp(int(value) / 1000, BEIJING).date()
        except (ValueError, OverflowError, OSError):  # NaN, infinity, year 300,000
            pass
    raise PricingError(f"{field} must be a date (2026-05-01), ISO 8601 time with an offset or "
                       f"epoch milliseconds, got {value!r}", field=field)


def _beijing_date(moment: datetime, field: str, value: Any) -> date:
    if moment.tzinfo is None:
        raise PricingError(f"{field} is a time without a UTC offset ({value!r}); give a date or "
                           "a time with an offset (2026-05-01T09:30:00+08:00)", field=field)
    return moment.astimezone(BEIJING).date()


def _range(low: float | None, high: float | None, low_open: bool) -> str:
    if low is not None and high is not None:
        return f"{'above' if low_open else 'at least'} {low:g} and at most {high:g}"
    if low is not None:
        return f"{'above' if low_open else 'at least'} {low:g}"
    return f"at most {high:g}"
