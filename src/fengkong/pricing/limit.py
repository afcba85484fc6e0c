"""The credit limit: the least of what the borrower can afford, what the risk budget allows,
the product's maximum, the regulator's per-borrower maximum and the amount asked for.

* **affordability** — ``monthly income * DTI ceiling - existing monthly obligations`` is the
  most the new loan's monthly payment (instalment plus monthly fee) may be; the instalment
  formula at the offered rate and term turns it into a principal.
* **risk budget** — ``loss budget / (PD * LGD)``: the amount whose expected lifetime loss
  (on the full principal, the conservative exposure) equals what the product accepts to lose
  on one borrower. Unbounded when PD or LGD is zero.
* **product maximum**; **regulatory maximum**: the per-borrower ceiling in force on the
  decision date, less the credit the lender has already granted the borrower; and the
  **requested** amount when the application gives one.

The limit is the least of them rounded *down* to the product's amount step; the constraint
that gave it is the *binding* one (on a tie, the first in the order above).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fengkong.pricing.annuity import instalment_per_unit
from fengkong.pricing.display import shown_money
from fengkong.pricing.product import Product

CONSTRAINTS = ("affordability", "risk_budget", "product_maximum", "regulatory_maximum",
               "requested")


@dataclass(frozen=True, slots=True)
class LimitComponents:
    """Every constraint on the limit, in yuan (``math.inf`` where one does not bind, e.g.
    the risk budget at PD 0; ``requested`` is inf when the application asks for no
    amount)."""

    affordability: float
    risk_budget: float
    product_maximum: float
    regulatory_maximum: float
    requested: float

    @property
    def values(self) -> tuple[float, ...]:
        return (self.affordability, self.risk_budget, self.product_maximum,
                self.regulatory_maximum, self.requested)

    @property
    def binding(self) -> str:
        """The name of the smallest constraint."""
        values = self.values
        return CONSTRAINTS[values.index(min(values))]

    @property
    def ceiling(self) -> float:
        return min(self.values)

    def to_dict(self) -> dict[str, float | None]:
        return {_camel(name): None if math.isinf(value) else shown_money(value)
                for name, value in zip(CONSTRAINTS, self.values, strict=True)}


def limit_components(product: Product, *, pd: float, monthly_income: float,
                     obligations: float, requested: float | None, contract_monthly: float,
                     regulatory_maximum: float) -> LimitComponents:
    """The constraints on the limit of a loan at ``contract_monthly`` (the monthly interest
    rate offered)."""
    return LimitComponents(
        affordability=affordable_principal(product, monthly_income, obligations,
                                           contract_monthly),
        risk_budget=(product.loss_budget / (pd * product.lgd) if pd * product.lgd > 0.0
                     else math.inf),
        product_maximum=float(product.amounts.maximum),
        regulatory_maximum=regulatory_maximum,
        requested=math.inf if requested is None else requested)


def affordable_principal(product: Product, monthly_income: float, obligations: float,
                         contract_monthly: float) -> float:
    """The principal whose monthly payment fills the room under the DTI ceiling."""
    room = monthly_income * product.dti_ceiling - obligations
    if room <= 0.0:
        return 0.0
    payment_per_yuan = (instalment_per_unit(contract_monthly, product.term_months)
                        + product.fees.monthly)
    return room / payment_per_yuan


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
