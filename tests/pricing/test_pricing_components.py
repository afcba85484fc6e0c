"""The required APR's components, checked against hand arithmetic."""

from __future__ import annotations

import pytest
from pricing_products import costs, product

from fengkong.pricing import apr_components
from fengkong.pricing.apr import expected_loss_rate


def test_components_of_the_base_product() -> None:
    components = apr_components(0.05, product())
    # Expected loss: monthly hazard 1 - 0.95**(1/12) = 0.00426532, x 12 x LGD 0.85.
    assert components.expected_loss == pytest.approx(0.0435063, abs=1e-7)
    assert components.funding == 0.035
    assert components.operating == 0.03
    assert components.capital == pytest.approx(0.105 * 0.12)  # 1.26%
    assert components.margin == 0.02
    assert components.break_even == pytest.approx(0.1211063, abs=1e-7)
    assert components.total == pytest.approx(0.1411063, abs=1e-7)
    assert components.to_dict() == {"funding": 0.035, "expectedLoss": 0.04350625,
                                    "operating": 0.03, "capital": 0.0126, "margin": 0.02,
                                    "total": 0.14110625}


def test_risk_weight_scales_the_capital_charge() -> None:
    assert apr_components(0.05, product(costs=costs(risk_weight=0.75))).capital == \
        pytest.approx(0.105 * 0.75 * 0.12)


@pytest.mark.parametrize(("pd", "term", "expected"), [
    (0.0, 12, 0.0),
    (1.0, 12, 12.0),                # default in the first month: 100% of the balance, x 12
    (0.10, 24, 0.0525648),          # 12 x (1 - 0.9**(1/24))
    (0.03, 6, 0.0607640),           # 12 x (1 - 0.97**(1/6))
])
def test_expected_loss_is_a_constant_hazard_on_the_balance(pd: float, term: int,
                                                           expected: float) -> None:
    assert expected_loss_rate(pd, 1.0, product(term_months=term)) == \
        pytest.approx(expected, abs=1e-7)


def test_effective_basis_compounds_the_monthly_loss() -> None:
    hazard = 1 - 0.95 ** (1 / 12)
    assert expected_loss_rate(0.05, 1.0, product(basis="effective")) == \
        pytest.approx((1 + hazard) ** 12 - 1)
