"""The limit: each constraint binds in turn; rounding down; the product minimum."""

from __future__ import annotations

from datetime import date

import pytest
from pricing_products import product

from fengkong.pricing import Application, price
from fengkong.pricing.annuity import instalment_per_unit

ON = date(2026, 5, 1)


def test_affordability_is_the_instalment_formula_at_the_offered_rate() -> None:
    decision = price(Application(monthly_income=8_000, obligations=1_000), product(), 0.01, ON)
    assert decision.limit is not None and decision.interest_rate is not None
    room = 8_000 * 0.5 - 1_000
    expected = room / instalment_per_unit(decision.interest_rate / 12, 12)
    assert decision.limit.components.affordability == pytest.approx(expected)
    assert decision.limit.components.binding == "affordability"
    assert decision.limit.amount == int(expected // 100 * 100)


@pytest.mark.parametrize(("binding", "application", "pd", "changes"), [
    ("affordability", Application(monthly_income=6_000, obligations=500), 0.01, {}),
    ("risk_budget", Application(monthly_income=50_000), 0.08, {}),
    ("product_maximum", Application(monthly_income=50_000), 0.005, {}),
    ("regulatory_maximum", Application(monthly_income=200_000), 0.001,
     {"amount": {"min": 1000, "max": 300_000, "step": 1000}, "loss_budget": 100_000}),
    ("requested", Application(monthly_income=50_000, requested=12_345), 0.005, {}),
])
def test_each_constraint_binds_in_turn(binding: str, application: Application, pd: float,
                                       changes: dict[str, object]) -> None:
    decision = price(application, product(**changes), pd, ON)
    assert decision.limit is not None
    components = decision.limit.components
    assert components.binding == binding
    assert decision.limit.amount <= min(components.values)
    out = decision.to_dict()["limit"]
    assert out["binding"] == binding
    assert set(out["components"]) == {"affordability", "riskBudget", "productMaximum",
                                      "regulatoryMaximum", "requested"}


def test_existing_credit_counts_against_the_regulatory_maximum() -> None:
    big = product(amount={"min": 1000, "max": 300_000, "step": 1000}, loss_budget=100_000)
    applicant = Application(monthly_income=200_000, existing_credit=150_000)
    decision = price(applicant, big, 0.001, ON)
    assert decision.limit is not None
    assert decision.limit.components.regulatory_maximum == 50_000
    assert (decision.limit.amount, decision.limit.components.binding) == \
        (50_000, "regulatory_maximum")
    full = price(Application(monthly_income=200_000, existing_credit=200_000), big, 0.001, ON)
    assert full.outcome == "decline" and full.reasons[0].details["binding"] == \
        "regulatory_maximum"


def test_the_regulatory_maximum_in_force_on_the_date() -> None:
    table = [{"from": "2020-01-01", "amount": 30_000, "source": "old"},
             {"from": "2026-01-01", "amount": 40_000, "source": "new"}]
    p = product(borrower_cap=table)
    applicant = Application(monthly_income=100_000)
    before = price(applicant, p, 0.0, date(2025, 12, 31))
    after = price(applicant, p, 0.0, date(2026, 1, 1))
    assert before.limit is not None and after.limit is not None
    assert (before.limit.amount, before.limit.components.binding) == \
        (30_000, "regulatory_maximum")
    assert after.limit.amount == 40_000


def test_limit_is_rounded_down_to_the_step() -> None:
    decision = price(Application(monthly_income=50_000, requested=12_345), product(), 0.005, ON)
    assert decision.limit is not None and decision.limit.amount == 12_300
    assert decision.to_dict()["limit"]["ceiling"] == 12_345.0


def test_risk_budget_is_loss_budget_over_expected_loss() -> None:
    decision = price(Application(monthly_income=50_000), product(), 0.08, ON)
    assert decision.limit is not None
    assert decision.limit.components.risk_budget == pytest.approx(800 / (0.08 * 0.85))
    assert decision.limit.amount == 11_700


def test_zero_pd_leaves_the_risk_budget_unbounded() -> None:
    decision = price(Application(monthly_income=50_000), product(), 0.0, ON)
    assert decision.to_dict()["limit"]["components"]["riskBudget"] is None


def test_below_the_product_minimum_is_declined_naming_the_constraint() -> None:
    decision = price(Application(monthly_income=3_000, obligations=1_450), product(), 0.02, ON)
    assert decision.outcome == "decline"
    (reason,) = decision.reasons
    assert reason.code == "LIMIT_BELOW_MINIMUM"
    assert reason.details["binding"] == "affordability"
    assert reason.details["minimum"] == 1000
    assert "还款能力" in reason.zh and "affordability" in reason.en


def test_obligations_above_the_dti_room_afford_nothing() -> None:
    decision = price(Application(monthly_income=5_000, obligations=4_000), product(), 0.02, ON)
    assert decision.outcome == "decline"
    assert decision.reasons[0].details["limit"] == 0


def test_requested_below_the_minimum_is_declined() -> None:
    decision = price(Application(monthly_income=50_000, requested=500), product(), 0.02, ON)
    assert decision.outcome == "decline"
    assert decision.reasons[0].details["binding"] == "requested"


def test_repayment_of_the_offer() -> None:
    decision = price(Application(monthly_income=50_000, requested=10_000),
                     product(fees={"upfront": 0.01, "monthly": 0.001}), 0.02, ON)
    repayment = decision.to_dict()["repayment"]
    assert decision.interest_rate is not None
    assert repayment["termMonths"] == 12
    assert repayment["upfrontFee"] == 100.0
    assert repayment["monthlyFee"] == 10.0
    assert repayment["instalment"] == round(
        10_000 * instalment_per_unit(decision.interest_rate / 12, 12), 2)
