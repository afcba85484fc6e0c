"""How figures are shown in a decision's output.

Arithmetic is in binary floats (fast, and the IRR is iterative anyway). Money that is shown
— instalments, fees, limit constraints, expected profit — is rounded half-up to the fen
through ``decimal``, from the float's shortest representation, so ``1776.985`` shows as
``1776.99`` and not as the float's ``1776.98``. Rates are shown to 1e-8 (a millionth of a
percentage point): enough for the components to add up to the total as printed.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

_FEN = Decimal("0.01")


def shown_money(value: float) -> float:
    """Yuan rounded half-up to the fen."""
    return float(Decimal(repr(value)).quantize(_FEN, rounding=ROUND_HALF_UP))


def shown_rate(value: float) -> float:
    """An annual rate as shown: rounded to 1e-8."""
    return round(value, 8)
