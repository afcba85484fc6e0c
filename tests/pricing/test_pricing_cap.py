"""The regulatory rate cap: the boundary, dated switches, price grids near the cap."""

from __future__ import annotations

from datetime import date

import pytest
from pricing_products import costs, product

from fengkong.errors import PricingError
from fengkong.pricing import Application, price
from fengkong.pricing.regulation import CONSUMER_FINANCE, ONE_YEAR_LPR, PRIVATE_LENDING

APPLICANT = Application(monthly_income=20_000, obligations=0)
AFTER = date(2026, 5, 1)  # the 24% cap is in force


def flat(total: float, **changes: object) -> object:
    """A product whose required APR at PD 0 is ``total`` (funding only)."""
    return product(costs=costs(funding=total, operating=0.0, margin=0.0, capital_ratio=0.0),
                   **changes)


def test_a_price_exactly_at_the_cap_is_offered() -> None:
    decision = price(APPLICANT, flat(0.24), 0.0, AFTER)
    assert decision.outcome == "offer"
    assert decision.interest_rate == 0.24
    assert decision.all_in_apr == pytest.approx(0.24, abs=1e-12)


def test_a_price_just_over_the_cap_is_declined_with_the_figures() -> None:
    decision = price(APPLICANT, flat(0.2401), 0.0, AFTER)
    assert decision.outcome == "decline"
    assert decision.interest_rate is None and decision.limit is None
    (reason,) = decision.reasons
    assert reason.code == "PRICE_ABOVE_CAP"
    assert reason.details == {"requiredApr": 0.2401, "cap": 0.24,
                              "capEffectiveFrom": "2026-01-01"}
    assert "24.01%" in reason.zh and "24.00%" in reason.zh
    assert "above the regulatory cap" in reason.en
    assert decision.to_dict()["apr"]["required"]["total"] == 0.2401


def test_the_cap_in_force_on_the_decision_date_is_used() -> None:
    risky = flat(0.30)
    assert price(APPLICANT, risky, 0.0, date(2025, 12, 31)).outcome == "offer"  # 36%
    assert price(APPLICANT, risky, 0.0, date(2026, 1, 1)).outcome == "decline"  # 24%
    # Caps change on Beijing dates: 17:00 UTC on 31 December is 1 January in Beijing.
    assert price(APPLICANT, risky, 0.0, "2025-12-31T17:00:00Z").outcome == "decline"
    assert price(APPLICANT, risky, 0.0, "2025-12-31T15:59:59Z").outcome == "offer"
    offer = price(APPLICANT, risky, 0.0, date(2025, 12, 31)).to_dict()
    assert offer["apr"]["cap"]["value"] == 0.36
    assert offer["apr"]["cap"]["effectiveFrom"] == "2017-12-01"


def test_before_any_known_cap_is_an_error_not_no_cap() -> None:
    with pytest.raises(PricingError) as raised:
        price(APPLICANT, flat(0.1), 0.0, date(2017, 11, 30))
    assert raised.value.field == "date"


def test_private_lending_cap_is_four_times_the_lpr_of_the_day() -> None:
    assert PRIVATE_LENDING.on(date(2020, 8, 20)).value == pytest.approx(0.154)
    assert PRIVATE_LENDING.on(date(2024, 11, 1)).value == pytest.approx(0.124)
    assert PRIVATE_LENDING.on(date(2025, 6, 1)).value == pytest.approx(0.12)
    assert len(PRIVATE_LENDING.entries) == len(ONE_YEAR_LPR.entries)
    p = flat(0.123, rate_cap="private_lending")
    assert price(APPLICANT, p, 0.0, date(2024, 11, 1)).outcome == "offer"
    assert price(APPLICANT, p, 0.0, date(2025, 6, 1)).outcome == "decline"


def test_monitored_band_adds_a_notice_not_a_decline() -> None:
    decision = price(APPLICANT, flat(0.15), 0.0, AFTER)
    assert decision.outcome == "offer"
    assert [reason.code for reason in decision.reasons] == ["RATE_MONITORED"]
    assert price(APPLICANT, flat(0.11), 0.0, AFTER).reasons == ()
    assert CONSUMER_FINANCE.on(AFTER).monitor_above == 0.12


def test_rounding_up_never_crosses_the_cap() -> None:
    # A cap of 12.4% off a 0.25% grid: 12.35% rounds up to 12.5% (over), so 12.25% is offered.
    table = [{"from": "2024-01-01", "rate": 0.124, "source": "test"}]
    p = flat(0.1235, rate_cap=table, rate_grid={"step": 0.0025})
    decision = price(APPLICANT, p, 0.0, AFTER)
    assert decision.outcome == "offer"
    assert decision.interest_rate == 0.1225
    # Off the cap, the price is rounded up so that it covers the cost.
    assert price(APPLICANT, flat(0.1201, rate_grid={"step": 0.0025}), 0.0,
                 AFTER).interest_rate == 0.1225


def test_price_points_list() -> None:
    p = flat(0.1, rate_grid={"points": [0.0799, 0.0999, 0.1299, 0.2399]})
    assert price(APPLICANT, p, 0.0, AFTER).interest_rate == 0.1299
    # Every price point above the cap: declined, naming the cheapest point's APR.
    dear = flat(0.05, rate_grid={"points": [0.2499, 0.2999]})
    decision = price(APPLICANT, dear, 0.0, AFTER)
    assert decision.outcome == "decline"
    assert decision.reasons[0].details["requiredApr"] == pytest.approx(0.2499)


def test_fees_count_in_the_all_in_apr_checked_against_the_cap() -> None:
    fees = {"upfront": 0.02, "monthly": 0.002}
    decision = price(APPLICANT, flat(0.24, fees=fees), 0.0, AFTER)
    assert decision.outcome == "offer"
    assert decision.interest_rate is not None and decision.interest_rate < 0.16
    assert decision.all_in_apr is not None and 0.23 < decision.all_in_apr <= 0.24 + 1e-9
    # The same interest rate with the fees would be far over the cap.
    assert price(APPLICANT, flat(0.2401, fees=fees), 0.0, AFTER).outcome == "decline"
