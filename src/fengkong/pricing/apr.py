"""The risk-based price: the all-in annual rate a loan must yield, built up from its costs.

    required APR = funding + expected loss + operating + capital + margin

Each component is an annual rate on the outstanding balance, in the product's basis.

**Expected loss.** The model's PD is the probability of default over the loan's term. We
spread it as a constant monthly default hazard ``h = 1 - (1 - PD)**(1/term)`` and lose
``LGD`` of the balance outstanding when the default happens. A balance of ``B`` then loses
``h * LGD * B`` each month in expectation — a charge on the balance, exactly like interest,
so the annual expected-loss rate is ``h * LGD`` annualised like every other monthly rate
(``12 * h * LGD`` in the nominal basis). This is the same for every term and amount: a
24-month loan with a 10% lifetime PD needs about 5.3% x LGD a year, a 6-month loan with 3%
about 6.1% x LGD. It leaves out the interest a defaulted loan no longer pays, a second-order
effect that the margin absorbs.

**Capital.** The lender funds ``capital_ratio * risk_weight`` of the balance with equity,
which costs ``cost_of_equity`` a year; the charge is that product. Funding is charged on the
whole balance, so the equity-funded slice is not netted off (the conservative reading).

:func:`all_in_apr` and :func:`interest_rate_for` go between the contract (interest) rate and
the all-in APR with the product's fees (:mod:`fengkong.pricing.annuity`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fengkong.pricing.annuity import all_in_monthly, contract_monthly_for
from fengkong.pricing.display import shown_rate
from fengkong.pricing.product import Product


@dataclass(frozen=True, slots=True)
class AprComponents:
    """The required all-in APR and what it is made of (annual rates, product basis)."""

    funding: float
    expected_loss: float
    operating: float
    capital: float
    margin: float

    @property
    def break_even(self) -> float:
        """The rate that covers every cost and leaves no profit."""
        return self.funding + self.expected_loss + self.operating + self.capital

    @property
    def total(self) -> float:
        return self.break_even + self.margin

    def to_dict(self) -> dict[str, float]:
        return {"funding": shown_rate(self.funding),
                "expectedLoss": shown_rate(self.expected_loss),
                "operating": shown_rate(self.operating), "capital": shown_rate(self.capital),
                "margin": shown_rate(self.margin), "total": shown_rate(self.total)}


def expected_loss_rate(pd: float, lgd: float, product: Product) -> float:
    """Annual expected-loss rate on the balance for a lifetime PD (see the module
    docstring)."""
    # expm1/log1p keep full precision at the small PDs of good borrowers.
    hazard = 1.0 if pd >= 1.0 else -math.expm1(math.log1p(-pd) / product.term_months)
    return product.basis.annual(hazard * lgd)


def apr_components(pd: float, product: Product) -> AprComponents:
    """The required APR of a loan of ``product`` to a borrower with lifetime PD ``pd``."""
    costs = product.costs
    return AprComponents(
        funding=costs.funding,
        expected_loss=expected_loss_rate(pd, product.lgd, product),
        operating=costs.operating,
        capital=costs.capital_ratio * costs.risk_weight * costs.cost_of_equity,
        margin=costs.margin)


def all_in_apr(product: Product, interest_rate: float) -> float:
    """The annual all-in cost to the borrower (interest and fees, the IRR of the cash flows)
    of a loan at the annual contract ``interest_rate``."""
    basis = product.basis
    monthly = all_in_monthly(basis.monthly(interest_rate), product.term_months,
                             product.fees.upfront, product.fees.monthly)
    return basis.annual(monthly)


def interest_rate_for(product: Product, all_in: float) -> float:
    """The annual contract rate whose all-in APR is ``all_in`` (0 when the fees alone cost
    that much)."""
    basis = product.basis
    monthly = contract_monthly_for(basis.monthly(all_in), product.term_months,
                                   product.fees.upfront, product.fees.monthly)
    return basis.annual(monthly)
