"""``price(application, product, pd)``: the offer — rate and limit — or the reason there is
none, with every figure that made it.

The order of work:

1. the **required all-in APR** from the PD and the product's costs (:mod:`.apr`); above the
   regulatory cap in force on the decision date, the applicant is declined
   (``PRICE_ABOVE_CAP``): a risk the lender cannot price legally is not lent to;
2. the **contract rate** whose all-in APR (fees included) is the required one, rounded *up*
   to the product's rate grid so that the price covers the cost — unless that crosses the
   cap, when it is the highest grid rate under the cap (the margin gives up less than one
   grid step). An offer's all-in APR is never above the cap;
3. the **limit** at that rate (:mod:`.limit`), rounded down to the amount step; below the
   product minimum, the applicant is declined (``LIMIT_BELOW_MINIMUM``, naming the binding
   constraint);
4. optionally, the **expected-profit search** (:mod:`.optimise`) replaces the rate and the
   limit with the most profitable feasible grid point.

**Rounding.** Money is shown to the fen, rates to 1e-8 (:mod:`.display`); limits are whole
yuan on the product grid. Comparisons with the cap allow 1e-9 (a ten-millionth of a
percentage point) of float noise, so a price exactly at the cap is at the cap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fengkong.errors import PricingError
from fengkong.pricing.annuity import instalment_per_unit
from fengkong.pricing.apr import AprComponents, all_in_apr, apr_components, interest_rate_for
from fengkong.pricing.checks import BEIJING, checked_date, checked_number
from fengkong.pricing.display import shown_money, shown_rate
from fengkong.pricing.limit import LimitComponents, limit_components
from fengkong.pricing.optimise import ProfitSearch, RateOption, best_offer
from fengkong.pricing.product import Product
from fengkong.pricing.reasons import (
    Reason,
    limit_below_minimum,
    price_above_cap,
    rate_monitored,
)
from fengkong.pricing.regulation import DatedValue

CAP_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class Application:
    """What pricing needs of an application, checked on construction (a
    :class:`PricingError` names the field): monthly income and existing monthly debt
    obligations in yuan, the amount asked for, if any, and the credit the lender has
    already granted this borrower (it counts against the per-borrower maximum)."""

    monthly_income: float
    obligations: float = 0.0
    requested: float | None = None
    existing_credit: float = 0.0

    def __post_init__(self) -> None:
        setter = object.__setattr__
        setter(self, "monthly_income", checked_number(self.monthly_income, "monthly_income",
                                                      low=0.0))
        setter(self, "obligations", checked_number(self.obligations, "obligations", low=0.0))
        setter(self, "existing_credit", checked_number(self.existing_credit, "existing_credit",
                                                       low=0.0))
        if self.requested is not None:
            setter(self, "requested", checked_number(self.requested, "requested",
                                                     low_open=True, low=0.0))


@dataclass(frozen=True, slots=True)
class Limit:
    """The offered limit (``amount``), the least constraint before rounding (``ceiling``),
    which constraint that was, and all of them."""

    amount: int
    components: LimitComponents

    def to_dict(self) -> dict[str, Any]:
        return {"amount": self.amount, "ceiling": shown_money(self.components.ceiling),
                "binding": self.components.binding,
                "components": self.components.to_dict()}


@dataclass(frozen=True, slots=True)
class PricingDecision:
    """An offer (``outcome == "offer"``: rate, all-in APR, limit, repayment) or a decline
    (``"decline"``: the reasons say why), with the required APR and the cap either way."""

    outcome: str
    product: Product
    on: date
    pd: float
    required: AprComponents
    cap: DatedValue
    reasons: tuple[Reason, ...] = ()
    interest_rate: float | None = None
    all_in_apr: float | None = None
    limit: Limit | None = None
    optimisation: ProfitSearch | None = None

    @property
    def offered(self) -> bool:
        return self.outcome == "offer"

    @property
    def instalment(self) -> float | None:
        """The monthly instalment (principal and interest) on the limit, in yuan."""
        if self.interest_rate is None or self.limit is None:
            return None
        product = self.product
        return shown_money(self.limit.amount * instalment_per_unit(
            product.basis.monthly(self.interest_rate), product.term_months))

    def to_dict(self) -> dict[str, Any]:
        """The decision as JSON-ready data (what the ``pricing`` node adds to a flow)."""
        product = self.product
        out: dict[str, Any] = {
            "outcome": self.outcome,
            "product": product.name,
            "date": self.on.isoformat(),
            "pd": self.pd,
            "apr": {"required": self.required.to_dict(),
                    "interestRate": _rate(self.interest_rate),
                    "allInApr": _rate(self.all_in_apr),
                    "basis": product.basis.value,
                    "cap": {**self.cap.to_dict(), "table": product.rate_cap.name}},
            "limit": None if self.limit is None else self.limit.to_dict(),
            "repayment": None,
            "reasons": [reason.to_dict() for reason in self.reasons],
        }
        if self.limit is not None:
            amount = self.limit.amount
            out["repayment"] = {
                "termMonths": product.term_months,
                "instalment": self.instalment,
                "monthlyFee": shown_money(amount * product.fees.monthly),
                "upfrontFee": shown_money(amount * product.fees.upfront)}
        if self.optimisation is not None:
            out["optimisation"] = self.optimisation.to_dict()
        return out


def price(application: Application, product: Product, pd: float,
          on: date | datetime | str | int | None = None, *,
          optimise: bool = False) -> PricingDecision:
    """Price ``application`` for ``product`` at lifetime probability of default ``pd``, under
    the rules in force ``on`` (a date, an ISO 8601 time with an offset or epoch
    milliseconds; by default today in Beijing). ``optimise`` searches the (limit, rate) grid
    for the highest expected profit instead of offering the risk-based price at the largest
    limit."""
    pd = checked_number(pd, "pd", low=0.0, high=1.0)
    if not isinstance(application, Application):
        raise PricingError(f"application must be an Application, got "
                           f"{type(application).__name__}", field="application")
    day = datetime.now(BEIJING).date() if on is None else checked_date(on)
    cap = product.rate_cap.on(day)
    required = apr_components(pd, product)
    decline = _Decline(product, day, pd, required, cap)
    if required.total > cap.value + CAP_TOLERANCE:
        return decline(price_above_cap(required.total, cap.value,
                                       cap.effective_from.isoformat()))
    highest = _highest_rate_under_cap(product, cap.value)
    if highest is None:  # a price list whose cheapest point is above the cap
        cheapest = product.rate_grid.up(0.0)
        return decline(price_above_cap(all_in_apr(product, cheapest or 0.0), cap.value,
                                       cap.effective_from.isoformat()))
    rounded = product.rate_grid.up(interest_rate_for(product, required.total))
    rate = highest if rounded is None or rounded > highest else rounded
    # The per-borrower maximum caps all of the lender's credit to the borrower.
    regulatory_maximum = max(0.0, product.borrower_cap.on(day).value
                             - application.existing_credit)

    def limit_at(interest_rate: float) -> LimitComponents:
        return limit_components(
            product, pd=pd, monthly_income=application.monthly_income,
            obligations=application.obligations, requested=application.requested,
            contract_monthly=product.basis.monthly(interest_rate),
            regulatory_maximum=regulatory_maximum)

    components = limit_at(rate)
    amount = product.amounts.down(components.ceiling)
    search = None
    if optimise:
        search = _search(product, required, rate, highest, limit_at)
        if search is not None:
            rate, amount = search.chosen.interest_rate, search.chosen.amount
            components = limit_at(rate)
    if amount < product.amounts.minimum:
        return decline(limit_below_minimum(amount, product.amounts.minimum,
                                           components.binding))
    all_in = all_in_apr(product, rate)
    reasons: tuple[Reason, ...] = ()
    if cap.monitor_above is not None and all_in > cap.monitor_above + CAP_TOLERANCE:
        reasons = (rate_monitored(all_in, cap.monitor_above),)
    return PricingDecision("offer", product, day, pd, required, cap, reasons, rate, all_in,
                           Limit(amount, components), search)


@dataclass(frozen=True, slots=True)
class _Decline:
    """Builds a decline that carries what was known when pricing stopped."""

    product: Product
    on: date
    pd: float
    required: AprComponents
    cap: DatedValue

    def __call__(self, reason: Reason) -> PricingDecision:
        return PricingDecision("decline", self.product, self.on, self.pd, self.required,
                               self.cap, (reason,))


def _highest_rate_under_cap(product: Product, cap: float) -> float | None:
    """The highest grid contract rate whose all-in APR is within the cap."""
    grid = product.rate_grid
    rate = grid.down(interest_rate_for(product, cap))
    # The IRR solve is exact to ~1e-13, so at most one step down fixes float noise.
    while rate is not None and all_in_apr(product, rate) > cap + CAP_TOLERANCE:
        rate = grid.down(rate - 1e-8)
    return rate


def _search(product: Product, required: AprComponents, risk_based: float, highest: float,
            limit_at: Callable[[float], LimitComponents]) -> ProfitSearch | None:
    """The expected-profit search over rates from break-even to the cap."""
    grid = product.rate_grid
    break_even = grid.up(interest_rate_for(product, required.break_even))
    low = min(risk_based, break_even if break_even is not None else risk_based)
    options = [RateOption(rate, all_in_apr(product, rate),
                          product.amounts.down(limit_at(rate).ceiling))
               for rate in grid.spread(low, highest, product.optimisation.rates)]
    return best_offer(product, required.break_even, options)


def _rate(value: float | None) -> float | None:
    return None if value is None else shown_rate(value)
