"""How figures are shown in a decision's output.

Arithmetic is in binary floats (fast, and the IRR is iterative anyway). Money that is shown
— instalments, fees, limit constraints, expected profit — is rounded half-up to the fen
through ``decimal``, from the float's shortest representation, so ``1776.985`` shows as
``1776.99`` and not as the float's ``1776.98``. Rates are shown to 1e-8 (a millionth of a
percentage point): enough for the components to add up to the total as printed.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal

_FEN = Decimal("0.01")
# Enough digits for any finite float in fen (1.8e308 has 309 digits before the point): the
# default 28 would refuse an affordability ceiling of an absurd declared income.
_WIDE = Context(prec=330)


def shown_money(value: float) -> float:
    """Yuan rounded half-up to the fen."""
    # + 0.0: a tiny negative amount rounds to -0.0, which would show as "-0.0".
    return float(Decimal(repr(value)).quantize(_FEN, rounding=ROUND_HALF_UP, context=_WIDE)) + 0.0


def shown_rate(value: float) -> float:
    """An annual rate as shown: rounded to 1e-8."""
    return round(value, 8)
