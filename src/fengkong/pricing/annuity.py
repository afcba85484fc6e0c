"""Equal-instalment (等额本息) loan arithmetic: instalments, balances, and the all-in APR as
the internal rate of return of the borrower's cash flows.

**Annualisation convention.** The People's Bank of China (announcement 〔2021〕 No. 3) requires
lenders to show a 贷款年化利率 that includes every cost the borrower pays, computed either by
compound interest (the internal rate of return, IRR) or by simple interest, saying which. The
market convention for instalment loans is the monthly IRR times twelve — a *nominal* annual
rate, the same way a contract's 年利率 of 12% means 1% a month. That is the default
(``nominal``); ``effective`` compounds the monthly rate instead, ``(1 + m)**12 - 1``, which is
higher (12.68% for 1% a month), and suits a lender that wants the stricter reading of a cap.
Every annual rate a product names — costs, margin, contract rate, cap — is read in the
product's basis, so they add up and compare like with like.

Everything is per unit of principal: fees are proportional to it, so one solve serves every
loan amount. Figures are binary floats; the IRR is iterative anyway, solved to 1e-13 a month,
and what is shown to a borrower is rounded where it is shown (:mod:`fengkong.pricing.display`).
"""

from __future__ import annotations

import math
from enum import StrEnum

from fengkong.errors import PricingError

_TOLERANCE = 1e-13  # monthly rate: far below the 0.01% grid of any price list
_MAX_MONTHLY = 10.0  # 1,000% a month: an IRR above this is not a loan


class Basis(StrEnum):
    """How a monthly rate becomes an annual one (see the module docstring)."""

    NOMINAL = "nominal"
    EFFECTIVE = "effective"

    def monthly(self, annual: float) -> float:
        if self is Basis.NOMINAL:
            return annual / 12.0
        return (1.0 + annual) ** (1.0 / 12.0) - 1.0

    def annual(self, monthly: float) -> float:
        if self is Basis.NOMINAL:
            return monthly * 12.0
        return (1.0 + monthly) ** 12 - 1.0


def annuity_factor(monthly_rate: float, term: int) -> float:
    """Present value of 1 paid at the end of each of ``term`` months: principal per unit of
    instalment."""
    if monthly_rate == 0.0:
        return float(term)
    # expm1/log1p keep full precision at the small monthly rates of cheap loans.
    return -math.expm1(-term * math.log1p(monthly_rate)) / monthly_rate


def instalment_per_unit(monthly_rate: float, term: int) -> float:
    """The equal monthly instalment (principal and interest) of a loan of 1."""
    return 1.0 / annuity_factor(monthly_rate, term)


def balance_months(monthly_rate: float, term: int) -> float:
    """The sum of the balances outstanding at the start of each month, per unit of principal:
    what interest (and every cost charged on the balance) accrues on. Total interest is
    ``term * instalment - 1``, which equals ``monthly_rate * balance_months``."""
    if monthly_rate < 1e-9:
        return (term + 1) / 2.0
    return (term * instalment_per_unit(monthly_rate, term) - 1.0) / monthly_rate


def monthly_irr(advance: float, payment: float, term: int, guess: float | None = None
                ) -> float:
    """The monthly rate ``m`` at which ``term`` payments of ``payment`` are worth ``advance``
    today: ``advance == payment * annuity_factor(m, term)``. ``guess``: a start near the
    root (a few Newton steps instead of a dozen).

    Newton's method, which converges monotonically from below once it gets there (the
    annuity factor is decreasing and convex in ``m``), bracketed by bisection so that it
    cannot wander.
    """
    if advance <= 0.0 or payment <= 0.0:
        raise PricingError("a loan needs a positive advance and positive payments",
                           field="fees")
    target = advance / payment
    if target >= term:  # paying back no more than was received: a zero (or negative) rate
        return 0.0
    low, high = 0.0, _MAX_MONTHLY
    if annuity_factor(high, term) > target:
        raise PricingError("the borrower's payments imply a rate above 1,000% a month",
                           field="fees")
    # Without a guess, the perpetuity rate: above the root, but Newton's first step from
    # there lands below it, where convergence is monotone.
    rate = guess if guess is not None and 0.0 < guess < high else payment / advance
    for _ in range(200):
        factor = annuity_factor(rate, term)
        growth = 1.0 - rate * factor  # (1 + rate) ** -term
        error = factor - target
        if abs(error) < _TOLERANCE * target:
            return rate
        if error > 0.0:
            low = rate
        else:
            high = rate
        slope = (term * growth / (1.0 + rate) - factor) / rate
        step = rate - error / slope
        rate = step if low < step < high else (low + high) / 2.0
        if high - low < _TOLERANCE:
            break
    return rate


def all_in_monthly(contract_monthly: float, term: int, upfront_fee: float,
                   monthly_fee: float) -> float:
    """The borrower's monthly IRR: receives ``1 - upfront_fee`` (the fee is collected at
    drawdown; deducting it from the principal, 砍头息, is prohibited, but to the borrower the
    cash flow is the same), pays the instalment plus ``monthly_fee`` each month."""
    if upfront_fee == 0.0 and monthly_fee == 0.0:
        return contract_monthly
    payment = instalment_per_unit(contract_monthly, term) + monthly_fee
    return monthly_irr(1.0 - upfront_fee, payment, term,
                       contract_monthly + _fees_per_balance_month(term, upfront_fee, monthly_fee))


def contract_monthly_for(all_in: float, term: int, upfront_fee: float,
                         monthly_fee: float) -> float:
    """The contract (interest) monthly rate whose all-in IRR is ``all_in``; 0 when the fees
    alone cost the borrower that much."""
    if upfront_fee == 0.0 and monthly_fee == 0.0:
        return all_in
    payment = (1.0 - upfront_fee) / annuity_factor(all_in, term) - monthly_fee
    if payment * term <= 1.0:
        return 0.0
    return monthly_irr(1.0, payment, term,
                       all_in - _fees_per_balance_month(term, upfront_fee, monthly_fee))


def _fees_per_balance_month(term: int, upfront_fee: float, monthly_fee: float) -> float:
    """Roughly what the fees add to the monthly rate: their total over the balance-months
    of a straight-line loan (a starting point for the IRR solve, not a result)."""
    return (upfront_fee + term * monthly_fee) / ((term + 1) / 2.0)
