"""Properties over random applicants and products: an offer is never above the cap, a limit
never above any constraint nor off the grid."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pricing_products import costs, document

from fengkong.pricing import Application, all_in_apr, load_product, price

rates = st.floats(min_value=0.0, max_value=0.12)
products = st.fixed_dictionaries({
    "term_months": st.sampled_from([3, 6, 12, 24, 36]),
    "amount": st.sampled_from([{"min": 500, "max": 20_000, "step": 100},
                               {"min": 1000, "max": 300_000, "step": 1000},
                               {"min": 3000, "max": 50_000, "step": 500}]),
    "costs": st.builds(lambda f, o, m, c: costs(funding=f, operating=o, margin=m,
                                                capital_ratio=c),
                       rates, rates, rates, st.floats(0.0, 0.2)),
    "lgd": st.floats(0.0, 1.0),
    "loss_budget": st.floats(100.0, 5000.0),
    "dti_ceiling": st.floats(0.2, 1.0),
    "fees": st.fixed_dictionaries({"upfront": st.floats(0.0, 0.05),
                                   "monthly": st.floats(0.0, 0.005)}),
    "rate_grid": st.sampled_from([{"step": 0.0001}, {"step": 0.0025}, {"step": 0.01},
                                  {"points": [0.0599, 0.0999, 0.1499, 0.1999, 0.2399]}]),
    "basis": st.sampled_from(["nominal", "effective"]),
})
applications = st.builds(
    Application,
    monthly_income=st.floats(2_000.0, 100_000.0),
    obligations=st.floats(0.0, 5_000.0),
    requested=st.none() | st.floats(1.0, 400_000.0))
days = st.dates(min_value=date(2020, 8, 20), max_value=date(2027, 12, 31))


def check(decision: Any) -> None:
    cap = decision.cap.value
    if decision.outcome == "decline":
        assert decision.limit is None and decision.reasons
        return
    assert decision.all_in_apr <= cap + 1e-9
    limit = decision.limit
    grid = decision.product.amounts
    assert limit.amount <= min(limit.components.values)
    assert limit.amount % grid.step == 0
    assert grid.minimum <= limit.amount <= grid.maximum
    assert limit.amount <= decision.product.borrower_cap.on(decision.on).value


@settings(max_examples=300, deadline=None)
@given(products, applications, st.floats(0.0, 0.3) | st.floats(0.0, 1.0), days, st.booleans())
def test_offers_stay_under_every_ceiling(changes: dict[str, Any], application: Application,
                                         pd: float, day: date, optimise: bool) -> None:
    product = load_product(document(**changes))
    decision = price(application, product, pd, day, optimise=optimise)
    check(decision)
    # The risk-based price covers the required APR, unless the next grid rate up is over
    # the cap.
    if (decision.outcome == "offer" and not optimise
            and decision.all_in_apr < decision.required.total - 1e-9):
        following = product.rate_grid.up(decision.interest_rate + 1e-7)
        assert following is None or all_in_apr(product, following) > decision.cap.value + 1e-9
