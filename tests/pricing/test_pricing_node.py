"""The ``pricing`` node end to end: a JDM flow loaded with ``fengkong.load`` prices each
application and a decision table reads the result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pricing_products import BASE

import fengkong
from fengkong.errors import ExpressionSyntaxError, GraphLoadError, PricingError
from fengkong.graph import node_kinds

CONFIG = {"product": "../products/cash-12m.yaml", "pd": "models.application.pd",
          "income": "applicant.monthlyIncome", "obligations": "bureau.monthlyRepayments",
          "requested": "loan.amount", "existingCredit": "customer.limits ?? 0",
          "date": "appliedAt"}
APPLICATION = {"appliedAt": "2026-05-01T09:30:00+08:00", "models": {"application": {"pd": 0.03}},
               "applicant": {"monthlyIncome": 12_000}, "bureau": {"monthlyRepayments": 1_500},
               "loan": {"amount": 20_000}}


def flow(config: dict[str, Any]) -> dict[str, Any]:
    """Input -> pricing -> a table that approves offers -> output."""
    table = {"id": "t", "name": "Outcome", "type": "decisionTableNode", "content": {
        "hitPolicy": "first",
        "inputs": [{"id": "i", "name": "Outcome", "field": "pricing.outcome"}],
        "outputs": [{"id": "d", "name": "Decision", "field": "decision"},
                    {"id": "l", "name": "Limit", "field": "limit"},
                    {"id": "r", "name": "Reason", "field": "reason"}],
        "rules": [{"_id": "r1", "i": '"offer"', "d": '"APPROVE"', "l": "pricing.limit.amount",
                   "r": "null"},
                  {"_id": "r2", "i": "", "d": '"REJECT"', "l": "0",
                   "r": "pricing.reasons[0].code"}]}}
    nodes = [{"id": "in", "name": "Request", "type": "inputNode", "content": {}},
             {"id": "p", "name": "Price", "type": "customNode",
              "content": {"kind": "pricing", "config": config}},
             table,
             {"id": "out", "name": "Response", "type": "outputNode", "content": {}}]
    edges = [{"id": f"e{n}", "sourceId": s, "targetId": t}
             for n, (s, t) in enumerate([("in", "p"), ("p", "t"), ("t", "out")])]
    return {"nodes": nodes, "edges": edges}


@pytest.fixture
def flow_file(tmp_path: Path) -> Path:
    (tmp_path / "products").mkdir()
    (tmp_path / "products" / "cash-12m.yaml").write_text(yaml.safe_dump(BASE),
                                                          encoding="utf-8")
    (tmp_path / "flows").mkdir()
    path = tmp_path / "flows" / "flow.json"
    path.write_text(json.dumps(flow(CONFIG)), encoding="utf-8")
    return path


def test_the_kind_is_registered() -> None:
    assert "pricing" in node_kinds()


def test_a_flow_prices_and_decides(flow_file: Path) -> None:
    decision = fengkong.load(flow_file)
    response = decision.evaluate(APPLICATION, trace=True)
    assert response["result"] == {"decision": "APPROVE", "limit": 20_000}
    output = response["trace"]["p"]["output"]
    assert output["applicant"] == APPLICATION["applicant"]  # the input passes on
    pricing = output["pricing"]
    assert pricing["outcome"] == "offer"
    assert pricing["date"] == "2026-05-01"
    assert pricing["limit"]["binding"] == "requested"
    assert pricing["apr"]["allInApr"] <= 0.24
    assert response["trace"]["p"]["traceData"] == {"outcome": "offer", "product": "cash-12m",
                                                   "binding": "requested"}
    json.dumps(pricing)  # JSON-ready

    risky = {**APPLICATION, "models": {"application": {"pd": 0.4}}}
    assert decision.evaluate(risky)["result"] == {"decision": "REJECT", "limit": 0,
                                                  "reason": "PRICE_ABOVE_CAP"}
    declined = decision.evaluate(risky, trace=True)["trace"]["p"]["output"]["pricing"]
    assert (declined["limit"], declined["repayment"], declined["apr"]["allInApr"]) == \
        (None, None, None)
    json.dumps(declined)
    granted = {**APPLICATION, "customer": {"limits": 195_000}}
    assert decision.evaluate(granted)["result"]["limit"] == 5_000
    no_ask = {**APPLICATION, "loan": {"amount": None}}
    assert decision.evaluate(no_ask)["result"]["limit"] == 31_300  # the risk budget


@pytest.mark.parametrize("income", [1e308, 1e27, 2.6e-259])
def test_absurd_but_valid_amounts_are_priced_and_shown(flow_file: Path, income: float) -> None:
    # Found by the API fuzzer: an affordability ceiling of 1e27 yuan could not be shown to
    # the fen (decimal's default 28 digits) and the node failed with InvalidOperation.
    application = {**APPLICATION, "applicant": {"monthlyIncome": income}}
    pricing = fengkong.load(flow_file).evaluate(application)["result"]
    assert pricing["decision"] == ("APPROVE" if income > 1 else "REJECT")
    assert pricing["limit"] == (20_000 if income > 1 else 0)


def test_inline_product_optimise_and_optional_entries() -> None:
    config = {"product": BASE, "pd": "0.03", "income": "12000", "obligations": "0",
              "optimise": True}
    response = fengkong.load(flow(config)).evaluate({}, trace=True)
    pricing = response["trace"]["p"]["output"]["pricing"]
    assert pricing["optimisation"]["chosen"]["amount"] == pricing["limit"]["amount"]
    assert pricing["limit"]["components"]["requested"] is None


def test_a_zen_date_expression() -> None:
    config = {**CONFIG, "product": BASE, "date": 'd("2025-12-31")'}
    risky = {**APPLICATION, "models": {"application": {"pd": 0.25}}}
    pricing = fengkong.load(flow(config)).evaluate(risky, trace=True)["trace"]["p"]["output"]
    assert pricing["pricing"]["apr"]["cap"]["value"] == 0.36


@pytest.mark.parametrize(("value", "field"), [
    ({"models": {"application": {"pd": 1.3}}}, "models.application.pd"),
    ({"applicant": {"monthlyIncome": None}}, "applicant.monthlyIncome"),
    ({"bureau": {"monthlyRepayments": "lots"}}, "bureau.monthlyRepayments"),
    ({"appliedAt": "soon"}, "appliedAt"),
    ({"customer": {"limits": -5}}, "customer.limits ?? 0"),
])
def test_bad_values_at_run_time_name_the_expression(flow_file: Path, value: dict[str, Any],
                                                    field: str) -> None:
    decision = fengkong.load(flow_file)
    with pytest.raises(PricingError) as raised:
        decision.evaluate({**APPLICATION, **value})
    assert raised.value.field == field
    assert raised.value.node_id == "p"


@pytest.mark.parametrize(("config", "text"), [
    ("cash.yaml", "config must be an object"),
    ({**CONFIG, "pd": None}, "config.pd is missing"),
    ({k: v for k, v in CONFIG.items() if k != "product"}, "config.product is missing"),
    ({**CONFIG, "pdd": "x"}, "unknown config entry pdd"),
    ({**CONFIG, "optimise": "yes"}, "config.optimise must be true or false"),
    ({**CONFIG, "income": 12000}, "config.income must be an expression"),
    ({**CONFIG, "product": "../products/missing.yaml"}, "cannot read the product file"),
    ({**CONFIG, "product": {**BASE, "lgd": 2}}, "config.product (field lgd)"),
    ({**CONFIG, "product": 7}, "config.product must be a path"),
])
def test_config_errors_fail_the_load(tmp_path: Path, config: Any, text: str) -> None:
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(flow(config)), encoding="utf-8")
    with pytest.raises(GraphLoadError) as raised:
        fengkong.load(path)
    assert text in raised.value.message
    assert raised.value.node_id == "p"


def test_expression_syntax_errors_name_the_node() -> None:
    with pytest.raises(ExpressionSyntaxError) as raised:
        fengkong.load(flow({**CONFIG, "product": BASE, "pd": "models.(pd"}))
    assert raised.value.node_id == "p"
    assert raised.value.expression == "models.(pd"
