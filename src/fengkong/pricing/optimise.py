"""Expected-profit pricing: the (limit, rate) pair worth most to the lender, counting that a
dearer loan is taken up less often.

For a loan of ``amount`` at monthly contract rate ``m`` over ``n`` months, per yuan lent::

    income = m * B + upfront fee + n * monthly fee
    costs  = (funding + expected loss + operating + capital, as a monthly rate) * B

where ``B`` is the sum of the monthly balances per yuan (:func:`~fengkong.pricing.annuity.
balance_months`): interest and every cost accrue on the balance. The expected profit of the
offer is ``take_up(all-in APR) * amount * (income - costs)`` over the term. The margin is
not a cost here — it is the profit being maximised.

The grid: rates from the break-even rate to the highest rate under the cap, times amounts
from the product minimum to the largest limit any of those rates allows. A point is
feasible when its amount is within the limit *at its rate* — a dearer loan has a larger
instalment, so affordability allows less — which is the trade-off the search weighs
against the higher margin and the lower take-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fengkong.pricing.annuity import balance_months
from fengkong.pricing.display import shown_money, shown_rate
from fengkong.pricing.product import Product

SHOWN = 5  # alternatives listed in the output, best first


@dataclass(frozen=True, slots=True)
class RateOption:
    """One price the search may offer: the annual contract rate, its all-in APR, and the
    limit ceiling at it (rounded down to the amount step)."""

    interest_rate: float
    all_in_apr: float
    ceiling: int


@dataclass(frozen=True, slots=True)
class ProfitPoint:
    """One grid point and its expected profit (yuan over the term, take-up included)."""

    amount: int
    interest_rate: float
    all_in_apr: float
    take_up: float
    expected_profit: float

    def to_dict(self) -> dict[str, float]:
        return {"amount": self.amount, "interestRate": shown_rate(self.interest_rate),
                "allInApr": shown_rate(self.all_in_apr), "takeUp": round(self.take_up, 6),
                "expectedProfit": shown_money(self.expected_profit)}


@dataclass(frozen=True, slots=True)
class ProfitSearch:
    """The best point, the best few (``top``, the chosen one first), and how many grid
    points were evaluated and feasible."""

    chosen: ProfitPoint
    top: tuple[ProfitPoint, ...]
    evaluated: int
    feasible: int

    def to_dict(self) -> dict[str, object]:
        return {"chosen": self.chosen.to_dict(), "top": [p.to_dict() for p in self.top],
                "evaluated": self.evaluated, "feasible": self.feasible}


def profit_per_yuan(product: Product, interest_rate: float, break_even: float) -> float:
    """Income less costs over the term per yuan lent at ``interest_rate`` (if taken up)."""
    monthly = product.basis.monthly(interest_rate)
    balance = balance_months(monthly, product.term_months)
    fees = product.fees.upfront + product.term_months * product.fees.monthly
    return (monthly - product.basis.monthly(break_even)) * balance + fees


def best_offer(product: Product, break_even: float, options: Sequence[RateOption]
               ) -> ProfitSearch | None:
    """The feasible grid point of highest expected profit (on a tie, the cheaper rate, then
    the larger amount); None when no point is feasible."""
    settings = product.optimisation
    high = max((option.ceiling for option in options), default=0)
    amounts = product.amounts.spread(min(high, product.amounts.maximum), settings.amounts)
    # (profit, rate, amount, option) per feasible point; ProfitPoints only for those shown.
    scored = []
    for option in options:
        take_up = settings.take_up(option.all_in_apr)
        per_yuan = take_up * profit_per_yuan(product, option.interest_rate, break_even)
        scored += [(amount * per_yuan, option.interest_rate, amount, take_up, option)
                   for amount in amounts if amount <= option.ceiling]
    if not scored:
        return None
    scored.sort(key=lambda point: (-point[0], point[1], -point[2]))
    top = tuple(ProfitPoint(amount, option.interest_rate, option.all_in_apr, take_up, profit)
                for profit, _, amount, take_up, option in scored[:SHOWN])
    return ProfitSearch(top[0], top, len(amounts) * len(options), len(scored))
