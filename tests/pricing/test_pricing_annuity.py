"""Instalments, balances and the all-in APR (IRR) against figures worked by hand."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fengkong.errors import PricingError
from fengkong.pricing.annuity import (
    Basis,
    all_in_monthly,
    annuity_factor,
    balance_months,
    contract_monthly_for,
    instalment_per_unit,
    monthly_irr,
)


def npv(monthly: float, advance: float, payment: float, term: int) -> float:
    return -advance + sum(payment / (1 + monthly) ** month for month in range(1, term + 1))


def test_instalment_of_ten_thousand_at_one_percent_a_month() -> None:
    # 10,000 x 0.01 / (1 - 1.01**-12) = 888.4879: the textbook 12% / 12 months instalment.
    assert 10_000 * instalment_per_unit(0.01, 12) == pytest.approx(888.4879, abs=1e-4)
    assert annuity_factor(0.0, 12) == 12.0
    assert instalment_per_unit(0.0, 10) == pytest.approx(0.1)


def test_balance_months_sums_the_schedule() -> None:
    rate, term = 0.015, 18
    payment = instalment_per_unit(rate, term)
    balance, total = 1.0, 0.0
    for _ in range(term):
        total += balance
        balance = balance * (1 + rate) - payment
    assert balance == pytest.approx(0.0, abs=1e-12)
    assert balance_months(rate, term) == pytest.approx(total, rel=1e-12)
    assert balance_months(0.0, 12) == 6.5  # straight-line: (12 + 1) / 2


def test_irr_of_a_known_schedule() -> None:
    # 1,000 lent, 12 payments of 100: the monthly IRR is 2.9229% (annuity factor 10).
    monthly = monthly_irr(1000.0, 100.0, 12)
    assert monthly == pytest.approx(0.0292285, abs=1e-7)
    assert npv(monthly, 1000.0, 100.0, 12) == pytest.approx(0.0, abs=1e-9)
    assert Basis.NOMINAL.annual(monthly) == pytest.approx(0.350742, abs=1e-6)
    assert Basis.EFFECTIVE.annual(monthly) == pytest.approx(0.412998, abs=1e-6)


def test_all_in_adds_the_fees() -> None:
    # 10,000 at 1% a month with a 2% fee at drawdown and 0.1% a month: the borrower gets
    # 9,800 and pays 888.4879 + 10 each month.
    monthly = all_in_monthly(0.01, 12, 0.02, 0.001)
    assert npv(monthly, 9800.0, 898.4879, 12) == pytest.approx(0.0, abs=1e-2)
    assert monthly == pytest.approx(0.015004, abs=1e-6)
    assert all_in_monthly(0.01, 12, 0.0, 0.0) == 0.01  # no fees: the contract rate


def test_contract_rate_for_an_all_in_rate_inverts_it() -> None:
    for all_in in (0.005, 0.012, 0.02):
        contract = contract_monthly_for(all_in, 24, 0.01, 0.0005)
        assert all_in_monthly(contract, 24, 0.01, 0.0005) == pytest.approx(all_in, abs=1e-12)
    # Fees that alone cost more than the target: the contract rate floors at zero.
    assert contract_monthly_for(0.001, 12, 0.05, 0.0) == 0.0


def test_effective_and_nominal_bases() -> None:
    assert Basis.NOMINAL.monthly(0.12) == pytest.approx(0.01)
    assert Basis.EFFECTIVE.monthly(0.126825) == pytest.approx(0.01, abs=1e-7)
    assert Basis.EFFECTIVE.annual(Basis.EFFECTIVE.monthly(0.24)) == pytest.approx(0.24)


def test_small_rates_keep_their_precision() -> None:
    payment = instalment_per_unit(1e-6, 12)
    assert monthly_irr(1.0, payment, 12) == pytest.approx(1e-6, rel=1e-7)
    assert math.isclose(annuity_factor(1e-12, 12), 12.0, rel_tol=1e-9)


def test_impossible_cash_flows_are_errors() -> None:
    with pytest.raises(PricingError):
        monthly_irr(0.0, 100.0, 12)
    assert monthly_irr(1200.0, 100.0, 12) == 0.0  # paid back exactly what was lent


@settings(max_examples=300, deadline=None)
@given(st.floats(0.0, 0.05), st.integers(1, 60), st.floats(0.0, 0.05), st.floats(0.0, 0.005))
def test_all_in_irr_zeroes_the_borrowers_cash_flows(contract: float, term: int,
                                                    upfront: float, monthly_fee: float) -> None:
    payment = instalment_per_unit(contract, term) + monthly_fee
    all_in = all_in_monthly(contract, term, upfront, monthly_fee)
    assert all_in >= contract - 1e-12  # fees never make a loan cheaper
    assert npv(all_in, 1 - upfront, payment, term) == pytest.approx(0.0, abs=1e-9)
    assert contract_monthly_for(all_in, term, upfront, monthly_fee) == \
        pytest.approx(contract, abs=1e-9)
