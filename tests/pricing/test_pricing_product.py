"""Products load from YAML or a dict; every mistake names its field."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pricing_products import BASE, costs, document

from fengkong.errors import PricingError
from fengkong.pricing import Basis, load_product
from fengkong.pricing.regulation import CONSUMER_FINANCE, INTERNET_CONSUMER_LOAN

YAML = """\
name: instalment-24m
term_months: 24
amount: {min: 2000, max: 80000, step: 1000}
rate_grid: {points: [0.0799, 0.1199, 0.1599, 0.1999, 0.2399]}
basis: effective
fees: {upfront: 0.01, monthly: 0.0005}
costs:
  funding: 0.03
  operating: 0.025
  margin: 0.02
  capital_ratio: 0.105
  risk_weight: 0.75
  cost_of_equity: 0.12
lgd: 0.8
loss_budget: 1500
dti_ceiling: 0.55
rate_cap:
  - {from: 2024-01-01, rate: 0.24, source: "internal policy", monitor_above: 0.18}
borrower_cap: internet_consumer_loan
optimisation: {rates: 8, amounts: 6, take_up: {midpoint: 0.16, slope: 25, maximum: 0.7}}
"""


def test_a_product_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "product.yaml"
    path.write_text(YAML, encoding="utf-8")
    product = load_product(path)
    assert product.name == "instalment-24m"
    assert product.term_months == 24
    assert (product.amounts.minimum, product.amounts.maximum, product.amounts.step) == \
        (2000, 80_000, 1000)
    assert product.rate_grid.points[-1] == 0.2399 and product.rate_grid.step is None
    assert product.basis is Basis.EFFECTIVE
    assert product.fees.upfront == 0.01
    assert product.costs.risk_weight == 0.75
    cap = product.rate_cap.on(date(2026, 1, 1))
    assert (cap.value, cap.source, cap.monitor_above) == (0.24, "internal policy", 0.18)
    assert product.borrower_cap is INTERNET_CONSUMER_LOAN
    assert product.optimisation.take_up.maximum == 0.7
    assert product.optimisation.rates == 8


def test_defaults() -> None:
    product = load_product(BASE)
    assert product.rate_cap is CONSUMER_FINANCE
    assert product.rate_grid.step == 0.0001
    assert product.basis is Basis.NOMINAL
    assert (product.fees.upfront, product.fees.monthly) == (0.0, 0.0)
    assert product.costs.risk_weight == 1.0


def without(key: str) -> dict[str, Any]:
    doc = document()
    del doc[key]
    return doc


@pytest.mark.parametrize(("doc", "field", "text"), [
    (without("term_months"), "term_months", "missing"),
    (without("name"), "name", "missing"),
    (document(name=""), "name", "text"),
    (document(term_months=12.5), "term_months", "whole"),
    (document(term_months=0), "term_months", "at least 1"),
    (document(costs=costs(funding=-0.01)), "costs.funding", "at least 0"),
    (document(costs=costs(funding="3%")), "costs.funding", "number"),
    (document(costs={"funding": 0.03}), "costs.operating", "missing"),
    (document(costs=costs(fundng=0.03)), "costs.fundng", "unknown key fundng"),
    (document(lgd=1.5), "lgd", "at most 1"),
    (document(loss_budget=0), "loss_budget", "above 0"),
    (document(dti_ceiling=float("nan")), "dti_ceiling", "finite"),
    (document(amount={"min": 5000, "max": 1000}), "amount.max", "at least 5000"),
    (document(amount=1000), "amount", "object"),
    (document(fees={"upfornt": 0.01}), "fees.upfornt", "unknown key"),
    (document(basis="simple"), "basis", "nominal"),
    (document(rate_grid={"step": 0.001, "points": [0.1]}), "rate_grid.step", "not both"),
    (document(rate_grid={"points": []}), "rate_grid.points", "list"),
    (document(rate_grid={"points": [0.1, "x"]}), "rate_grid.points[1]", "number"),
    (document(rate_cap="usury"), "rate_cap", "built-in"),
    (document(rate_cap=[{"from": "someday", "rate": 0.24}]), "rate_cap[0].from", "date"),
    (document(rate_cap=[{"from": "2024-01-01", "rate": 0}]), "rate_cap[0].rate", "above 0"),
    (document(borrower_cap=[{"from": "2024-01-01"}]), "borrower_cap[0].amount", "missing"),
    (document(rate_cap=[{"from": "2024-01-01", "rate": 0.24},
                        {"from": "2024-01-01", "rate": 0.36}]), "rate_cap[1].from", "two entries"),
    (document(optimisation={"rates": 0}), "optimisation.rates", "at least 1"),
    (document(optimisation={"take_up": {"slope": -1}}), "optimisation.take_up.slope",
     "at least 0"),
    (document(fee=0.01), "fee", "unknown key fee"),
])
def test_mistakes_name_the_field(doc: dict[str, Any], field: str, text: str) -> None:
    with pytest.raises(PricingError) as raised:
        load_product(doc)
    assert raised.value.field == field
    assert text in raised.value.message


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(PricingError, match="cannot read the product file") as raised:
        load_product(tmp_path / "missing.yaml")
    assert raised.value.field == "product"
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(PricingError, match="not valid YAML"):
        load_product(bad)
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n", encoding="utf-8")
    with pytest.raises(PricingError, match="must be an object"):
        load_product(listed)
