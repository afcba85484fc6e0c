"""Decimal arithmetic over ``int``/``float`` storage.

ZEN computes in decimal: ``0.1 + 0.2 == 0.3`` holds. Storing every number as
:class:`decimal.Decimal` would make each field access and comparison slow, so numbers stay
``int`` or ``float`` and only arithmetic that involves a non-integer goes through
``Decimal``, on each operand's shortest decimal text (``repr``), at 28 significant digits
like Zen's ``rust_decimal``. The result is stored back by :func:`from_decimal`: an ``int``
when it is integral, else the nearest ``float``.

Integer-only ``+ - *`` stays in native ``int`` (exact, and the common case in credit rules).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext

# Zen's rust_decimal keeps 28 significant digits; match it so 1/3 rounds the same way.
DECIMAL_CONTEXT = Context(prec=28)


def to_decimal(value: int | float) -> Decimal:
    """The exact decimal a ZEN number stands for (``0.1`` -> ``Decimal('0.1')``)."""
    if type(value) is int:
        return Decimal(value)
    return Decimal(repr(value))


# Zen's rust_decimal keeps at most 28 decimal places: anything finer is rounded away
# (0.001 ^ 10 is 0, 1 / 3e27 is 3e-28), half away from zero.
_FINEST = Decimal("1e-28")


def cut(value: Decimal) -> Decimal:
    """``value`` with at most 28 decimal places, as rust_decimal stores it."""
    # Only values below 0.01 can carry digits past the 28th decimal place at 28 digits.
    if value.adjusted() < -1 and value.as_tuple().exponent < -28:  # type: ignore[operator]
        return value.quantize(_FINEST, rounding=ROUND_HALF_UP)
    return value


def from_decimal(value: Decimal) -> int | float:
    """Store a decimal result: integral values as ``int``, others as the nearest ``float``."""
    value = cut(value)
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def add(a: int | float, b: int | float) -> int | float:
    if type(a) is int and type(b) is int:
        return a + b
    return from_decimal(DECIMAL_CONTEXT.add(to_decimal(a), to_decimal(b)))


def subtract(a: int | float, b: int | float) -> int | float:
    if type(a) is int and type(b) is int:
        return a - b
    return from_decimal(DECIMAL_CONTEXT.subtract(to_decimal(a), to_decimal(b)))


def multiply(a: int | float, b: int | float) -> int | float:
    if type(a) is int and type(b) is int:
        return a * b
    return from_decimal(DECIMAL_CONTEXT.multiply(to_decimal(a), to_decimal(b)))


def divide(a: int | float, b: int | float) -> int | float | None:
    """Division; like Zen, dividing by zero gives null rather than an error."""
    if b == 0:
        return None
    if type(a) is int and type(b) is int and a % b == 0:
        return a // b
    return from_decimal(DECIMAL_CONTEXT.divide(to_decimal(a), to_decimal(b)))


def modulo(a: int | float, b: int | float) -> int | float | None:
    """Remainder with the sign of the dividend (as Rust's ``%``); null for a zero divisor."""
    if b == 0:
        return None
    if type(a) is int and type(b) is int:
        integer_remainder = abs(a) % abs(b)
        return -integer_remainder if a < 0 else integer_remainder
    # The remainder is exact, but the integer quotient on the way may need more digits than
    # 28 (3 ^ 60 % 1.5): give the division as many digits as the quotient has, plus margin.
    dividend, divisor = to_decimal(a), to_decimal(b)
    digits = max(dividend.adjusted() - divisor.adjusted(), 0) + 2 * DECIMAL_CONTEXT.prec
    remainder = Context(prec=digits).remainder(dividend, divisor)
    return from_decimal(DECIMAL_CONTEXT.plus(remainder))


# Powers whose result would pass float's range are refused rather than computed: an
# integer power is exact in Python, and ``9 ^ 100000000`` would otherwise run for minutes.
MAX_POWER_DIGITS = 308


def power(a: int | float, b: int | float) -> int | float | None:
    """``a ^ b``: exact for integer exponents, float otherwise (as Zen's ``powd``).

    Raises :class:`OverflowError` when the result would pass about 1e308.
    """
    if a == 0 and b < 0:
        return 0  # zen-engine's answer, rather than a division by zero
    if b == 0:
        return 1  # also 0 ^ 0 and (-0.0) ^ 0, where Decimal would refuse
    if a != 0:
        digits = b * math.log10(abs(a))
        if digits > MAX_POWER_DIGITS:
            raise OverflowError(f"{a} ^ {b} is too large")
        if digits < -30:
            return 0  # below 1e-28 every result is cut to 0 (and 1000 ^ -333334 is huge to compute)
    if type(b) is int and type(a) is int and b >= 0:
        return a**b
    if type(b) is int:
        # Decimal powers by repeated squaring stay exact to 28 digits for any exponent
        # (float pow of 1.0000001 ^ 123456789 is off in the 9th digit). A negative exponent
        # inverts the positive power as Zen stores it, cut to 28 decimal places: 0.003 ^ -10
        # is 1 / 5.90e-26, and 0.001 ^ -10 (1 / 0) overflows.
        try:
            with localcontext(DECIMAL_CONTEXT):
                if b >= 0:
                    return from_decimal(to_decimal(a) ** b)
                positive = cut(to_decimal(a) ** -b)
                if positive == 0:
                    raise OverflowError(f"{a} ^ {b} is too large")
                return from_decimal(DECIMAL_CONTEXT.divide(Decimal(1), positive))
        except (InvalidOperation, ZeroDivisionError):
            return None
    try:
        # A negative base with a fractional exponent has no real power; Zen answers
        # sign(a) * |a| ^ b (right for odd roots: (-8) ^ (1/3) is -2), and so do we.
        result = math.copysign(abs(float(a)) ** float(b), a) if a < 0 else float(a) ** float(b)
    except (OverflowError, ZeroDivisionError):
        return None
    return from_decimal(Decimal(repr(result))) if result == result else None
