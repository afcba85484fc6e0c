"""The expected-profit search picks the best feasible grid point."""

from __future__ import annotations

from datetime import date

import pytest
from pricing_products import product

from fengkong.pricing import Application, apr_components, price
from fengkong.pricing.annuity import balance_months
from fengkong.pricing.optimise import RateOption, best_offer, profit_per_yuan

ON = date(2026, 5, 1)


def test_profit_at_the_risk_based_price_is_the_margin_on_the_balance() -> None:
    p = product()
    required = apr_components(0.05, p)
    per_yuan = profit_per_yuan(p, required.total, required.break_even)
    assert per_yuan == pytest.approx(0.02 / 12 * balance_months(required.total / 12, 12))
    # Fees are income too.
    with_fees = product(fees={"upfront": 0.01, "monthly": 0.001})
    assert profit_per_yuan(with_fees, required.total, required.break_even) == \
        pytest.approx(per_yuan + 0.01 + 12 * 0.001)


def test_best_offer_is_the_maximum_of_the_feasible_points() -> None:
    p = product()
    options = [RateOption(0.14, 0.14, 20_000), RateOption(0.18, 0.18, 15_000),
               RateOption(0.22, 0.22, 9_000)]
    search = best_offer(p, 0.12, options)
    assert search is not None
    amounts = p.amounts.spread(20_000, p.optimisation.amounts)
    brute = max((p.optimisation.take_up(o.all_in_apr) * a * profit_per_yuan(p, o.interest_rate,
                                                                             0.12), a,
                 o.interest_rate)
                for o in options for a in amounts if a <= o.ceiling)
    assert (search.chosen.expected_profit, search.chosen.amount,
            search.chosen.interest_rate) == pytest.approx(brute)
    assert search.evaluated == 30
    assert search.feasible == sum(a <= o.ceiling for o in options for a in amounts)
    assert [point.expected_profit for point in search.top] == \
        sorted((point.expected_profit for point in search.top), reverse=True)
    assert best_offer(p, 0.12, [RateOption(0.14, 0.14, 500)]) is None


def test_optimised_offer_respects_the_cap_and_the_limit_at_its_rate() -> None:
    applicant = Application(monthly_income=9_000, obligations=1_000)
    decision = price(applicant, product(), 0.04, ON, optimise=True)
    assert decision.outcome == "offer" and decision.optimisation is not None
    assert decision.all_in_apr is not None and decision.all_in_apr <= 0.24 + 1e-9
    assert decision.limit is not None
    assert decision.limit.amount <= decision.limit.components.ceiling
    chosen = decision.optimisation.chosen
    assert (chosen.amount, chosen.interest_rate) == (decision.limit.amount,
                                                     decision.interest_rate)
    out = decision.to_dict()["optimisation"]
    assert out["chosen"] == out["top"][0]
    assert out["evaluated"] == 100


def test_take_up_shapes_the_chosen_price() -> None:
    applicant = Application(monthly_income=50_000)
    # Take-up that does not care about price: the dearest rate under the cap wins.
    indifferent = product(optimisation={"take_up": {"slope": 0}})
    decision = price(applicant, indifferent, 0.02, ON, optimise=True)
    assert decision.interest_rate == 0.24
    # Very price-sensitive borrowers: the search goes below the risk-based price.
    sensitive = product(optimisation={"take_up": {"slope": 200, "midpoint": 0.08}})
    risk_based = price(applicant, sensitive, 0.02, ON)
    optimised = price(applicant, sensitive, 0.02, ON, optimise=True)
    assert optimised.interest_rate is not None and risk_based.interest_rate is not None
    assert optimised.interest_rate < risk_based.interest_rate
    assert optimised.all_in_apr is not None
    assert optimised.all_in_apr >= apr_components(0.02, sensitive).break_even - 1e-4
