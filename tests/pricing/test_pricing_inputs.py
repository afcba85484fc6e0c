"""Bad inputs to price() are PricingErrors naming the field, never a traceback."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pricing_products import product

from fengkong.errors import PricingError
from fengkong.pricing import Application, price

GOOD = Application(monthly_income=10_000)


@pytest.mark.parametrize("pd", [-0.01, 1.01, float("nan"), float("inf"), "0.1", None, True,
                                Decimal("sNaN"), Decimal("Infinity")])
def test_pd_outside_zero_one_or_not_a_number(pd: Any) -> None:
    with pytest.raises(PricingError) as raised:
        price(GOOD, product(), pd, date(2026, 5, 1))
    assert raised.value.field == "pd"


@pytest.mark.parametrize(("fields", "field"), [
    ({"monthly_income": -1}, "monthly_income"),
    ({"monthly_income": float("nan")}, "monthly_income"),
    ({"monthly_income": None}, "monthly_income"),
    ({"monthly_income": "9000"}, "monthly_income"),
    ({"monthly_income": 9000, "obligations": -5}, "obligations"),
    ({"monthly_income": 9000, "obligations": None}, "obligations"),
    ({"monthly_income": 9000, "requested": 0}, "requested"),
    ({"monthly_income": 9000, "requested": [5000]}, "requested"),
    ({"monthly_income": 9000, "existing_credit": -1}, "existing_credit"),
])
def test_bad_application_fields(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(PricingError) as raised:
        Application(**fields)
    assert raised.value.field == field


@pytest.mark.parametrize("on", ["yesterday", "2026-13-01", "2026-05-01T09:00:00", 1.5, [],
                                datetime(2026, 5, 1, 9), 10**20, float("nan"), True])
def test_bad_dates(on: Any) -> None:
    with pytest.raises(PricingError) as raised:
        price(GOOD, product(), 0.02, on)
    assert raised.value.field == "date"


@pytest.mark.parametrize("on", [date(2026, 5, 1), "2026-05-01", "2026-05-01T09:00:00+08:00",
                                1_777_593_600_000,
                                datetime(2026, 5, 1, 1, tzinfo=UTC)])
def test_date_forms(on: Any) -> None:
    assert price(GOOD, product(), 0.02, on).on == date(2026, 5, 1)


def test_numbers_of_other_types() -> None:
    application = Application(monthly_income=Decimal("10000.50"), obligations=12)
    assert application.monthly_income == 10_000.5
    assert price(application, product(), Decimal("0.02"), "2026-05-01").outcome == "offer"


def test_application_must_be_an_application() -> None:
    with pytest.raises(PricingError) as raised:
        price({"monthly_income": 1}, product(), 0.02, "2026-05-01")  # type: ignore[arg-type]
    assert raised.value.field == "application"


def test_error_serialises_with_its_field() -> None:
    with pytest.raises(PricingError) as raised:
        price(GOOD, product(), 2, "2026-05-01")
    assert raised.value.to_dict() == {"type": "pricing", "field": "pd",
                                      "message": "pd must be at least 0 and at most 1, got 2"}
